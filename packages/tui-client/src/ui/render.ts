import { nickKey } from '@parley/protocol';
import type { ChatModel } from '../model/chat-model.js';
import { formatBytes, formatClock, formatEta, formatRate, percent, progressBar } from '../model/format.js';
import type { InputLine } from '../model/input-line.js';
import type { Message } from '../model/messages.js';
import type { Transfer } from '../model/transfers.js';
import { displaySafe, fit, textWidth, truncate, wrap } from '../text/width.js';

/**
 * Pure drawing: the model becomes lines of styled segments that fit a width
 * exactly (measured with our width table, not blessed's). blessed only paints
 * them (see tags.ts).
 */
export interface Seg {
  readonly t: string;
  /** blessed style tags, e.g. ['bold', '#5fafff-fg']. */
  readonly s?: readonly string[];
}
export type Line = readonly Seg[];

const PALETTE = ['#5fafff', '#5fd75f', '#d7af5f', '#d787d7', '#5fd7d7', '#ff875f', '#afaf00', '#87afff', '#ff5f87', '#00d787', '#d7875f', '#af87ff'];
const DIM = '#8a8a8a-fg';
const PRIVATE = '#ff87ff-fg';

/** A stable colour per nickname (same nick, same colour, in every client). */
export function nickColour(nick: string): string {
  let h = 2166136261;
  for (const ch of nickKey(nick)) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return PALETTE[h % PALETTE.length] ?? '#5fafff';
}

export function lineText(line: Line): string {
  return line.map((s) => s.t).join('');
}

export function lineWidth(line: Line): number {
  return line.reduce((w, s) => w + textWidth(s.t), 0);
}

function head(m: Message, me: string): { segs: Seg[]; style: readonly string[] } {
  const time: Seg = { t: `${formatClock(m.at)} `, s: [DIM] };
  const nick = (n: string): Seg => ({ t: displaySafe(n), s: ['bold', `${nickColour(n)}-fg`] });
  switch (m.kind) {
    case 'chat':
      return { segs: [time, { t: '<' }, nick(m.from ?? '?'), { t: '> ' }], style: m.mention ? ['bold', '#ffd75f-fg'] : [] };
    case 'own':
      return { segs: [time, { t: '<' }, nick(m.from ?? me), { t: '> ' }], style: [] };
    case 'private-in':
      return {
        segs: [time, { t: '*', s: [PRIVATE] }, nick(m.from ?? '?'), { t: '* ', s: [PRIVATE] }, { t: '(private) ', s: [PRIVATE] }],
        style: [PRIVATE, 'bold'],
      };
    case 'private-out':
      return { segs: [time, { t: '-> ', s: [PRIVATE] }, nick(m.to ?? '?'), { t: ': ', s: [PRIVATE] }, { t: '(private) ', s: [PRIVATE] }], style: [PRIVATE] };
    case 'join':
      return { segs: [time, { t: '--> ', s: [DIM] }], style: [DIM] };
    case 'leave':
      return { segs: [time, { t: '<-- ', s: [DIM] }], style: [DIM] };
    case 'info':
      return { segs: [time, { t: '-!- ', s: ['#5fd7d7-fg'] }], style: ['#5fd7d7-fg'] };
    case 'error':
      return { segs: [time, { t: '!!! ', s: ['#ff5f5f-fg', 'bold'] }], style: ['#ff5f5f-fg'] };
    case 'system':
      return { segs: [time, { t: '--- ', s: ['#d7d787-fg'] }], style: ['#d7d787-fg'] };
  }
}

/** One message as wrapped lines of `width` cells, continuation lines indented under the text. */
export function messageLines(m: Message, width: number, me = ''): Line[] {
  const { segs, style: own } = head(m, me);
  // Replayed history is dimmed: read before, or said before we came.
  const style = m.earlier ? [DIM] : own;
  const headW = lineWidth(segs);
  const indent = headW <= width / 2 ? headW : Math.min(6, Math.floor(width / 4));
  const text = displaySafe(m.text);
  const firstRoom = Math.max(1, width - headW);
  const first = wrap(text, firstRoom);
  const out: Line[] = [];
  const firstLine = first[0] ?? '';
  out.push([...segs, { t: firstLine, s: style }]);
  const rest = text.slice(firstLine.length).replace(/^ +/u, '');
  if (rest.length > 0) {
    for (const l of wrap(rest, Math.max(1, width - indent))) out.push([{ t: ' '.repeat(indent) }, { t: l, s: style }]);
  }
  return out;
}

/** Caches wrapped messages per width so scrolling a long log stays cheap. */
export class ConversationView {
  #width = -1;
  #cache = new Map<number, Line[]>();
  /** Lines scrolled up from the bottom (0 = following new messages). */
  offset = 0;

  #lines(m: Message, width: number, me: string): Line[] {
    if (width !== this.#width) {
      this.#cache.clear();
      this.#width = width;
    }
    let l = this.#cache.get(m.id);
    if (!l) {
      l = messageLines(m, width, me);
      this.#cache.set(m.id, l);
      if (this.#cache.size > 5000) this.#cache.delete(this.#cache.keys().next().value as number);
    }
    return l;
  }

  /** Lines a message takes at the current width (for keeping a scrolled view still). */
  height(m: Message, me: string): number {
    return this.#width > 0 ? this.#lines(m, this.#width, me).length : 1;
  }

  scroll(by: number): void {
    this.offset = Math.max(0, this.offset + by);
  }

  /** The visible window: `height` lines ending `offset` lines above the newest. */
  window(messages: readonly Message[], width: number, height: number, me: string): { lines: Line[]; atBottom: boolean; above: boolean } {
    const need = height + this.offset;
    const collected: Line[] = [];
    for (let i = messages.length - 1; i >= 0 && collected.length < need + 1; i--) {
      const m = messages[i];
      if (m) collected.unshift(...this.#lines(m, width, me));
    }
    const maxOffset = Math.max(0, collected.length - height);
    if (this.offset > maxOffset && collected.length <= need) this.offset = maxOffset;
    const end = collected.length - this.offset;
    const lines = collected.slice(Math.max(0, end - height), end);
    // Like IRC clients: the newest line sits at the bottom, a short log leaves room above.
    while (lines.length < height) lines.unshift([]);
    return { lines, atBottom: this.offset === 0, above: end - height > 0 };
  }
}

export function onlineLines(users: readonly string[], me: string, width: number, height: number): Line[] {
  const out: Line[] = users.slice(0, height).map((u) => [
    { t: u === me ? '* ' : '  ', s: [DIM] },
    { t: truncate(displaySafe(u), width - 2, '…'), s: u === me ? ['bold'] : [`${nickColour(u)}-fg`] },
  ]);
  if (users.length > height && height > 0) out[height - 1] = [{ t: `  +${users.length - height + 1} more`, s: [DIM] }];
  return out;
}

function transferLines(t: Transfer, width: number): Line[] {
  const name = truncate(displaySafe(t.name), width - 2, '…');
  if (t.state === 'done') return [[{ t: '✓ ', s: ['#5fd75f-fg'] }, { t: name }]];
  if (t.state === 'failed') return [[{ t: '✗ ', s: ['#ff5f5f-fg'] }, { t: name }]];
  const pct = ` ${percent(t.bytes, t.size)}%`;
  const speed = ` ${formatRate(t.rateBytesPerSec)} ${formatEta(t.etaSec)}`;
  const bar = progressBar(t.bytes, t.size, Math.max(3, width - textWidth(speed) - 2));
  return [
    [
      { t: t.direction === 'up' ? '↑ ' : '↓ ', s: ['#5fafff-fg'] },
      { t: fit(truncate(name, width - 2 - pct.length, '…'), width - 2 - pct.length) },
      { t: pct, s: ['bold'] },
    ],
    [
      { t: bar, s: ['#5fafff-fg'] },
      { t: truncate(speed, Math.max(0, width - textWidth(bar))), s: [DIM] },
    ],
  ];
}

/** The files panel: name and size per file (the selected one marked when focused), then downloads. */
export function filesLines(
  files: readonly { name: string; size: number }[],
  selected: number,
  focused: boolean,
  transfers: readonly Transfer[],
  width: number,
  height: number,
): Line[] {
  // Downloads take the lower part of the panel, leaving at least a few file rows.
  const fileRows = Math.min(Math.max(1, files.length), 3);
  let tLines: Line[] = [];
  for (const t of [...transfers].reverse()) {
    const more = transferLines(t, width);
    if (tLines.length + more.length + 1 + fileRows > height) break;
    tLines = [...more, ...tLines];
  }
  const room = Math.max(0, height - (tLines.length > 0 ? tLines.length + 1 : 0));
  const out: Line[] = [];
  if (files.length === 0) out.push([{ t: 'F3 lists the files', s: [DIM] }]);
  const first = Math.max(0, Math.min(selected - room + 1, files.length - room));
  for (let i = first; i < files.length && out.length < room; i++) {
    const f = files[i];
    if (!f) continue;
    const size = formatBytes(f.size);
    const nameW = Math.max(1, width - size.length - 1);
    const text = `${fit(truncate(displaySafe(f.name), nameW, '…'), nameW)} ${size}`;
    out.push([{ t: text, s: i === selected && focused ? ['inverse'] : i === selected ? ['underline'] : [] }]);
  }
  if (tLines.length > 0) {
    while (out.length < room) out.push([]);
    out.push([{ t: '─'.repeat(width), s: [DIM] }], ...tLines);
  }
  return out.slice(0, height);
}

const STATE_LABEL: Record<string, { t: string; s: string }> = {
  idle: { t: '○ not connected', s: '#d7d787-fg' },
  connecting: { t: '◌ connecting', s: '#d7d787-fg' },
  naming: { t: '◌ choosing a nickname', s: '#d7d787-fg' },
  online: { t: '● online', s: '#5fd75f-fg' },
  reconnecting: { t: '○ disconnected', s: '#ff5f5f-fg' },
  closed: { t: '○ closed', s: '#ff5f5f-fg' },
};

export const KEY_HINTS = 'F2 online  F3 files  F10 quit';
const SHORT_HINTS = 'F2 F3 F10';

/**
 * The status bar: server, nick, connection state, downloads, and the keys.
 * When it does not fit, the key hints shrink first, then the server goes.
 */
export function statusLine(model: ChatModel, width: number, hints = KEY_HINTS): Line {
  const st = STATE_LABEL[model.state] ?? { t: model.state, s: '' };
  const server: Seg[] = [{ t: ` ${displaySafe(model.server)} ` }, { t: '│' }];
  const left: Seg[] = [{ t: ' ' }, { t: displaySafe(model.me) || '-', s: ['bold'] }];
  // The account: `alice (registered)` once logged in to (or registering) the nickname, `alice (guest)` otherwise.
  if (model.account !== '') left.push({ t: ` (${model.account})` });
  left.push({ t: ' │ ' }, { t: st.t, s: [st.s, 'bold'] });
  if (model.security) left.push({ t: ' │ ' }, { t: model.security, s: [model.security === 'plain' ? '#d7d787-fg' : '#5fd75f-fg'] });
  if (model.stateDetail && model.state !== 'online') left.push({ t: ` (${displaySafe(model.stateDetail)})` });
  for (const t of model.transfers.active) {
    left.push(
      { t: ' │ ' },
      {
        t: `${t.direction === 'up' ? '↑' : '↓'} ${truncate(displaySafe(t.name), 16, '…')} ${percent(t.bytes, t.size)}% ${formatRate(t.rateBytesPerSec)} ETA ${formatEta(t.etaSec)}`,
        s: ['#5fafff-fg'],
      },
    );
  }
  const tries: Array<[Seg[], string]> = [
    [[...server, ...left], hints],
    [[...server, ...left], SHORT_HINTS],
    [[{ t: ' ' }, ...left.slice(1)], SHORT_HINTS],
  ];
  for (const [segs, h] of tries) {
    const right = ` ${h} `;
    const room = width - textWidth(right);
    const used = lineWidth(segs);
    if (used <= room) return [...segs, { t: ' '.repeat(room - used) }, { t: right, s: ['bold'] }];
  }
  const right = ` ${SHORT_HINTS} `;
  const room = Math.max(0, width - textWidth(right));
  const text = lineText([{ t: ' ' }, ...left.slice(1)]);
  return [{ t: fit(truncate(text, room, '…'), room) }, { t: truncate(right, width - room), s: ['bold'] }];
}

/** The input line: a prompt, then the text scrolled so the cursor shows (drawn inverse). */
export function inputLine(prompt: string, input: InputLine, width: number, hidden = false): Line {
  // A prompt may take half the line, or all of it when there is no text to show.
  const p = truncate(displaySafe(prompt), hidden ? width - 1 : Math.max(0, Math.floor(width / 2)));
  const room = Math.max(1, width - textWidth(p));
  const v = input.view(room);
  const text = hidden ? '' : v.text;
  const chars = [...text];
  let w = 0;
  let at = chars.length;
  for (let i = 0; i < chars.length; i++) {
    if (w >= v.cursorCell) {
      at = i;
      break;
    }
    w += textWidth(chars[i] ?? '');
  }
  const before = chars.slice(0, at).join('');
  const under = chars[at] ?? ' ';
  const after = chars.slice(at + 1).join('');
  return [{ t: p, s: ['bold'] }, { t: before }, { t: under, s: ['inverse'] }, { t: truncate(after, Math.max(0, room - textWidth(before) - textWidth(under))) }];
}
