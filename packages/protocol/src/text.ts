import { protocolError, type ParleyProtocolError } from './errors.js';

/**
 * C0 controls except TAB, DEL, and C1 controls: they would let one user
 * rewrite another's terminal. Also the bidirectional formatting characters
 * (the marks U+061C, U+200E, U+200F; the embeddings and overrides
 * U+202A–U+202E; the isolates U+2066–U+2069): they reorder what is drawn
 * after them, so `evil\u202Etxt.exe` is shown as `evilexe.txt` (CVE-2021-42574).
 */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Checks message text a user sends to others: not empty, no control characters. */
export function checkMessageText(text: string): ParleyProtocolError | undefined {
  if (text.trim().length === 0) return protocolError('EMPTY_MESSAGE');
  if (CONTROL.test(text)) {
    return protocolError(
      'BAD_TEXT',
      'message contains control or bidirectional formatting characters (escape sequences and U+202A–202E, U+2066–2069, U+200E/F, U+061C are not allowed)',
    );
  }
  return undefined;
}

/** True when the string has a control or bidirectional formatting character (as defined for messages). */
export function hasControlCharacters(text: string): boolean {
  return CONTROL.test(text);
}

/**
 * Event arguments are separated by single spaces. An argument that could
 * contain a space, `%`, a control character or start with `:` (file names) is
 * written with those bytes percent-encoded (`my%20photo.jpg`), so the common
 * case stays readable in `nc`. An empty argument is `-`.
 */
const NEEDS_ESCAPE = /[\u0000-\u0020%\u007f-\u009f]|^:/u;

export function encodeArg(value: string): string {
  // An empty argument is written `-`; a literal `-` is escaped.
  if (value.length === 0) return '-';
  if (value === '-') return '%2D';
  if (!NEEDS_ESCAPE.test(value)) return value;
  let out = '';
  let first = true;
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp <= 0x20 || ch === '%' || (cp >= 0x7f && cp <= 0x9f) || (first && ch === ':')) {
      for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += ch;
    }
    first = false;
  }
  return out;
}

export function decodeArg(value: string): string {
  if (value === '-') return '';
  if (!value.includes('%')) return value;
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/u.test(value)) throw protocolError('BAD_EVENT', `bad escape in argument "${value}"`);
  try {
    return decodeURIComponent(value);
  } catch {
    throw protocolError('BAD_EVENT', `bad escape in argument "${value}"`);
  }
}
