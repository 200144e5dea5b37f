import { nickKey } from '@parley/protocol';
import type { InputLine } from './input-line.js';

export const SLASH_COMMANDS = ['/msg', '/say', '/online', '/files', '/download', '/cancel', '/clear', '/help', '/quit'] as const;
export const BARE_COMMANDS = ['broadcast,', 'download,', 'online', 'files', 'help', 'exit'] as const;

export interface CompletionContext {
  readonly nicks: readonly string[];
  readonly files: readonly string[];
  readonly me: string;
}

interface Cycle {
  readonly line: string;
  readonly start: number;
  readonly candidates: readonly string[];
  index: number;
  /** The line and cursor we produced last, to know the next Tab continues the cycle. */
  produced: string;
}

/**
 * Tab completion of nicks, commands and file names, the way IRC clients do it:
 * at the start of the line a nick becomes `bob, ` (the original private
 * grammar), elsewhere `bob `; Tab again cycles through the other matches.
 */
export class Completer {
  #cycle: Cycle | undefined;

  reset(): void {
    this.#cycle = undefined;
  }

  /** Completes at the cursor. Returns false when there was nothing to complete. */
  complete(input: InputLine, ctx: CompletionContext): boolean {
    const c = this.#cycle;
    if (c && c.produced === input.text) {
      c.index = (c.index + 1) % c.candidates.length;
      this.#apply(input, c);
      return true;
    }
    const before = input.beforeCursor;
    const after = input.text.slice(before.length);
    const start = Math.max(before.lastIndexOf(' '), before.lastIndexOf(',')) + 1;
    const word = before.slice(start);
    const candidates = candidatesFor(before.slice(0, start), word, ctx);
    if (candidates.length === 0) return false;
    const cycle: Cycle = { line: `${before.slice(0, start)}\u0000${after}`, start, candidates, index: 0, produced: '' };
    this.#cycle = cycle;
    this.#apply(input, cycle);
    return true;
  }

  #apply(input: InputLine, c: Cycle): void {
    const [head, tail] = c.line.split('\u0000') as [string, string];
    const pick = c.candidates[c.index] ?? '';
    const text = head + pick + tail;
    input.set(text, [...(head + pick)].length);
    c.produced = text;
  }
}

function startsWith(candidate: string, word: string): boolean {
  return nickKey(candidate).startsWith(nickKey(word));
}

/** What `word` can become, given the text before it. */
export function candidatesFor(prefix: string, word: string, ctx: CompletionContext): string[] {
  const nicks = ctx.nicks.filter((n) => n !== ctx.me);
  const trimmed = prefix.trim();
  if (trimmed === '') {
    if (word.startsWith('/')) return SLASH_COMMANDS.filter((c) => c.startsWith(word.toLowerCase())).map((c) => `${c} `);
    const out = nicks.filter((n) => startsWith(n, word)).map((n) => `${n}, `);
    if (word.length > 0) out.push(...BARE_COMMANDS.filter((c) => c.startsWith(word.toLowerCase())));
    return out;
  }
  const lower = trimmed.toLowerCase();
  if (lower === 'download,' || lower === '/download' || lower === '/dl') {
    return ctx.files.filter((f) => f.toLowerCase().startsWith(word.toLowerCase()));
  }
  if (lower === '/msg' || lower === '/m') {
    return nicks.filter((n) => startsWith(n, word)).map((n) => `${n} `);
  }
  if (word.length === 0) return [];
  return nicks.filter((n) => startsWith(n, word)).map((n) => `${n} `);
}
