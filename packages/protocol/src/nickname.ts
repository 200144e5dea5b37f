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
  return nick.normalize('NFKC').toLowerCase();
}

export type NickCheck = { readonly ok: true; readonly nick: string } | { readonly ok: false; readonly error: ParleyProtocolError };

/** Checks a nickname against the documented rule. Leading and trailing spaces are trimmed first. */
export function checkNickname(raw: string): NickCheck {
  const nick = raw.trim().normalize('NFC');
  if (nick.length === 0) return { ok: false, error: protocolError('NICK_INVALID', 'nickname is empty') };
  const length = [...nick].length;
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
