import { NICK_MAX_LENGTH } from './limits.js';
import { protocolError, type ParleyProtocolError } from './errors.js';

/**
 * Words that are commands (or could be mistaken for one) and so can never be
 * nicknames: `bob,hi` is a private message only because `bob` is not one of them.
 */
export const RESERVED_NICKS: ReadonlySet<string> = new Set([
  'broadcast', 'online', 'files', 'download', 'exit', 'quit', 'help', 'ping', 'pong',
  'cancel', 'all', 'everyone', 'server', 'parley', 'admin', 'system', 'me', 'msg',
]);

/**
 * A nickname is 1–24 characters: letters and digits of any script, and
 * `_ - . [ ] { } | ^ \``. It must start with a letter, a digit or `_`.
 * No comma, space, control characters or other punctuation.
 */
const NICK_PATTERN = /^[\p{L}\p{N}_][\p{L}\p{M}\p{N}_\-.[\]{}|^`]*$/u;

/** The form used to compare nicknames: NFKC, then case-folded. */
export function nickKey(nick: string): string {
  return (isAscii(nick) ? nick : nick.normalize('NFKC')).toLowerCase();
}

/** ASCII text is already in every normal form: no need to ask ICU (this runs for every private message). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Characters as a person counts them (code points), without building an array. */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

export type NickCheck = { readonly ok: true; readonly nick: string } | { readonly ok: false; readonly error: ParleyProtocolError };

/** Checks a nickname against the documented rule. Leading and trailing spaces are trimmed first. */
export function checkNickname(raw: string): NickCheck {
  const trimmed = raw.trim();
  const nick = isAscii(trimmed) ? trimmed : trimmed.normalize('NFC');
  if (nick.length === 0) return { ok: false, error: protocolError('NICK_INVALID', 'nickname is empty') };
  const length = codePoints(nick);
  if (length > NICK_MAX_LENGTH) {
    return { ok: false, error: protocolError('NICK_INVALID', `nickname is longer than ${NICK_MAX_LENGTH} characters`) };
  }
  if (!NICK_PATTERN.test(nick)) {
    return {
      ok: false,
      error: protocolError(
        'NICK_INVALID',
        'nickname may only use letters, digits and _ - . [ ] { } | ^ ` and must start with a letter, digit or _',
      ),
    };
  }
  if (RESERVED_NICKS.has(nickKey(nick))) {
    return { ok: false, error: protocolError('NICK_RESERVED', `"${nick}" is a command word and cannot be a nickname`) };
  }
  return { ok: true, nick };
}
