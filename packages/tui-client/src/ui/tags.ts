import blessed from 'blessed';
import { codePointCells } from '../text/width.js';
import type { Line } from './render.js';

interface BlessedUnicode {
  charWidth(str: string | number, i?: number): number;
  codePointAt(str: string, i: number): number;
  chars: { all: RegExp };
}

const unicode = (blessed as unknown as { unicode: BlessedUnicode }).unicode;
/** Wide characters blessed already handles itself (it pads them with a hidden cell). */
const BLESSED_WIDE = new RegExp(unicode.chars.all.source, 'u');

function blessedPads(ch: string): boolean {
  return BLESSED_WIDE.test(ch);
}

let patched = false;

/**
 * blessed 0.1.81 thinks most emoji are one cell wide (chjj/blessed#422) while
 * terminals draw two, which shifts everything after them. We make blessed use
 * our width table, and `toTags` adds the hidden padding cell blessed adds for
 * CJK after every other wide character, so blessed and the terminal agree.
 */
export function patchBlessedWidths(): void {
  if (patched) return;
  patched = true;
  const original = unicode.charWidth.bind(unicode);
  unicode.charWidth = (str: string | number, i?: number): number => {
    const cp = typeof str === 'number' ? str : unicode.codePointAt(str, i ?? 0);
    if (cp < 0x300) return original(str, i);
    return codePointCells(cp);
  };
}

/** Escapes text for blessed tags and pads wide characters blessed does not know about. */
export function padWide(text: string): string {
  let out = '';
  for (const ch of text) {
    out += ch;
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x300 && codePointCells(cp) === 2 && !blessedPads(ch)) out += ' ';
  }
  return out;
}

/** One drawn line as blessed tag markup. */
export function toTags(line: Line): string {
  let out = '';
  for (const seg of line) {
    if (seg.t.length === 0) continue;
    const body = padWide(blessed.escape(seg.t));
    if (seg.s && seg.s.length > 0) out += `${seg.s.map((s) => `{${s}}`).join('')}${body}{/}`;
    else out += body;
  }
  return out;
}
