import { codePointCells, displaySafe, textWidth } from '../text/width.js';

/**
 * The line being typed: text, a cursor, history and editing keys. Positions
 * count code points, so an emoji or a CJK character moves as one.
 */
export class InputLine {
  #chars: string[] = [];
  #cursor = 0;
  readonly #history: string[] = [];
  /** Index into history while browsing; history.length = the draft. */
  #browse = 0;
  #draft = '';
  readonly historyLimit: number;
  version = 0;

  constructor(historyLimit = 500) {
    this.historyLimit = historyLimit;
  }

  get text(): string {
    return this.#chars.join('');
  }

  get cursor(): number {
    return this.#cursor;
  }

  get history(): readonly string[] {
    return this.#history;
  }

  /** Text before the cursor. */
  get beforeCursor(): string {
    return this.#chars.slice(0, this.#cursor).join('');
  }

  set(text: string, cursor?: number): void {
    this.#chars = [...text];
    this.#cursor = Math.max(0, Math.min(cursor ?? this.#chars.length, this.#chars.length));
    this.version++;
  }

  insert(text: string): void {
    // A paste may bring line breaks and control characters: keep it one line.
    const clean = [...text.replace(/\r\n|\r|\n/gu, ' ').replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/gu, '')];
    if (clean.length === 0) return;
    this.#chars.splice(this.#cursor, 0, ...clean);
    this.#cursor += clean.length;
    this.version++;
  }

  backspace(): void {
    if (this.#cursor === 0) return;
    this.#chars.splice(this.#cursor - 1, 1);
    this.#cursor--;
    this.version++;
  }

  delete(): void {
    if (this.#cursor >= this.#chars.length) return;
    this.#chars.splice(this.#cursor, 1);
    this.version++;
  }

  left(): void {
    if (this.#cursor > 0) this.#cursor--;
    this.version++;
  }

  right(): void {
    if (this.#cursor < this.#chars.length) this.#cursor++;
    this.version++;
  }

  home(): void {
    this.#cursor = 0;
    this.version++;
  }

  end(): void {
    this.#cursor = this.#chars.length;
    this.version++;
  }

  wordLeft(): void {
    let i = this.#cursor;
    while (i > 0 && this.#chars[i - 1] === ' ') i--;
    while (i > 0 && this.#chars[i - 1] !== ' ') i--;
    this.#cursor = i;
    this.version++;
  }

  wordRight(): void {
    let i = this.#cursor;
    const n = this.#chars.length;
    while (i < n && this.#chars[i] === ' ') i++;
    while (i < n && this.#chars[i] !== ' ') i++;
    this.#cursor = i;
    this.version++;
  }

  /** Ctrl-W: deletes the word before the cursor. */
  deleteWordBack(): void {
    const end = this.#cursor;
    this.wordLeft();
    this.#chars.splice(this.#cursor, end - this.#cursor);
    this.version++;
  }

  /** Ctrl-U */
  killToStart(): void {
    this.#chars.splice(0, this.#cursor);
    this.#cursor = 0;
    this.version++;
  }

  /** Ctrl-K */
  killToEnd(): void {
    this.#chars.splice(this.#cursor);
    this.version++;
  }

  clear(): void {
    this.set('');
  }

  /** Enter: returns the line, remembers it in the history and empties the input. */
  submit(): string {
    const text = this.text;
    if (text.trim().length > 0 && this.#history[this.#history.length - 1] !== text) {
      this.#history.push(text);
      if (this.#history.length > this.historyLimit) this.#history.shift();
    }
    this.#browse = this.#history.length;
    this.#draft = '';
    this.set('');
    return text;
  }

  /** Remembers a line in the history without submitting (e.g. a line that was refused). */
  remember(text: string): void {
    if (text.trim().length > 0 && this.#history[this.#history.length - 1] !== text) this.#history.push(text);
    this.#browse = this.#history.length;
  }

  /** ↑: the previous line from the history (what was being typed is kept as a draft). */
  historyUp(): void {
    if (this.#browse === 0) return;
    if (this.#browse === this.#history.length) this.#draft = this.text;
    this.#browse--;
    this.set(this.#history[this.#browse] ?? '');
  }

  /** ↓: the next line, and finally the draft. */
  historyDown(): void {
    if (this.#browse >= this.#history.length) return;
    this.#browse++;
    this.set(this.#browse === this.#history.length ? this.#draft : (this.#history[this.#browse] ?? ''));
  }

  /**
   * The part of the line to draw in `cells` cells (after the prompt), scrolled
   * so the cursor is visible, and the cursor's cell within it.
   */
  view(cells: number): { text: string; cursorCell: number } {
    const chars = this.#chars.map((c) => displaySafe(c));
    const widths = chars.map((c) => textWidth(c));
    const room = Math.max(1, cells - 1);
    let start = 0;
    let before = widths.slice(0, this.#cursor).reduce((a, b) => a + b, 0);
    while (before > room && start < this.#cursor) {
      before -= widths[start] ?? 0;
      start++;
    }
    let text = '';
    let w = 0;
    for (let i = start; i < chars.length; i++) {
      const c = widths[i] ?? 0;
      if (w + c > cells) break;
      text += chars[i];
      w += c;
    }
    return { text, cursorCell: before };
  }
}

export { codePointCells };
