import { eastAsianWidth } from 'get-east-asian-width';
import { terminalSafe } from './terminal-safe.js';

/**
 * Terminal cell widths. Terminals, tmux and blessed disagree about joined
 * emoji sequences (ZWJ, variation selectors, skin tones), so text is first made
 * display-safe: those joiners are dropped and every remaining code point has a
 * width everyone agrees on (East Asian Width: wide/fullwidth = 2 cells).
 */

// ZWJ, variation selectors, skin-tone modifiers, tag characters, BOM (control and bidi characters go in terminalSafe).
// Variation selectors are their own alternative: in a class after another code point they read as one
// character (Biome's noMisleadingCharacterClass), though each is matched alone either way.
const JOINERS = /[\u200b-\u200d\u2060-\u2064\ufeff]|[\ufe00-\ufe0f]|\u{1f3fb}|\u{1f3fc}|\u{1f3fd}|\u{1f3fe}|\u{1f3ff}|[\u{e0000}-\u{e007f}]/gu;
const COMBINING = /^\p{M}$/u;

/** Makes `text` safe to draw: NFC, tabs as spaces, then `terminalSafe` (no control or bidi characters), no emoji joiners. */
export function displaySafe(text: string): string {
  return terminalSafe(text.normalize('NFC').replace(/\t/gu, '  ')).replace(JOINERS, '');
}

/** Cells one code point takes: 0 for combining marks, 2 for wide and fullwidth, else 1. */
export function codePointCells(cp: number): 0 | 1 | 2 {
  if (cp === 0) return 0;
  if (cp < 0x300) return 1;
  if (COMBINING.test(String.fromCodePoint(cp))) return 0;
  return eastAsianWidth(cp, { ambiguousAsWide: false });
}

/** Cells `text` takes once drawn (call on display-safe text). */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += codePointCells(ch.codePointAt(0) ?? 0);
  return w;
}

/** The longest prefix of `text` that fits in `cells`. */
export function truncate(text: string, cells: number, ellipsis = ''): string {
  if (textWidth(text) <= cells) return text;
  const room = Math.max(0, cells - textWidth(ellipsis));
  let w = 0;
  let out = '';
  for (const ch of text) {
    const c = codePointCells(ch.codePointAt(0) ?? 0);
    if (w + c > room) break;
    out += ch;
    w += c;
  }
  return cells >= textWidth(ellipsis) ? out + ellipsis : out;
}

/** Pads with spaces (or truncates) to exactly `cells` cells. */
export function fit(text: string, cells: number): string {
  const t = truncate(text, cells);
  return t + ' '.repeat(Math.max(0, cells - textWidth(t)));
}

/**
 * Wraps `text` into lines of at most `cells` cells, breaking at spaces when it
 * can and inside a word when a word is longer than a line.
 */
export function wrap(text: string, cells: number): string[] {
  if (cells < 1) return [text];
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    let lineW = 0;
    const words = paragraph.split(/( +)/u).filter((p) => p.length > 0);
    for (const word of words) {
      const ww = textWidth(word);
      if (lineW + ww <= cells) {
        line += word;
        lineW += ww;
        continue;
      }
      if (/^ +$/u.test(word)) {
        lines.push(line);
        line = '';
        lineW = 0;
        continue;
      }
      if (ww <= cells && lineW > 0) {
        lines.push(line.trimEnd());
        line = word;
        lineW = ww;
        continue;
      }
      for (const ch of word) {
        const c = codePointCells(ch.codePointAt(0) ?? 0);
        if (lineW + c > cells) {
          lines.push(line);
          line = '';
          lineW = 0;
        }
        line += ch;
        lineW += c;
      }
    }
    lines.push(line);
  }
  return lines;
}
