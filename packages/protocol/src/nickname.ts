import { skeleton } from './confusables.js';
import { NICK_MAX_LENGTH } from './limits.js';
import { protocolError, type ParleyProtocolError } from './errors.js';

/**
 * Words that are commands (or could be mistaken for one) and so can never be
 * nicknames: `bob,hi` is a private message only because `bob` is not one of them.
 */
export const RESERVED_NICKS: ReadonlySet<string> = new Set([
  'broadcast',
  'online',
  'files',
  'download',
  'exit',
  'quit',
  'help',
  'ping',
  'pong',
  'cancel',
  'all',
  'everyone',
  'server',
  'parley',
  'admin',
  'system',
  'me',
  'msg',
  // Protocol 2
  'history',
  'ids',
  // Accounts and moderation (account-commands.ts, ACCOUNT_WORDS)
  'register',
  'login',
  'password',
  'unregister',
  'kick',
  'ban',
  'unban',
  'bans',
  // Sharing files (share.ts)
  'share',
  'unshare',
]);

/**
 * A nickname is 1–24 characters: letters and digits of any script, and
 * `_ - . [ ] { } | ^ \``. It must start with a letter, a digit or `_`.
 * No comma, space, control characters or other punctuation.
 */
const NICK_PATTERN = /^[\p{L}\p{N}_][\p{L}\p{M}\p{N}_\-.[\]{}|^`]*$/u;

/**
 * Characters that draw nothing: Unicode's Default_Ignorable_Code_Point (joiners,
 * variation selectors, U+034F, tag characters…) and the Hangul fillers, which
 * are letters by category (U+115F, U+1160, U+3164, U+FFA0). `alice` + U+FE0F
 * would otherwise be a second "alice".
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u115f\u1160\u3164\uffa0]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');
/**
 * ASCII that the key changes (after lower-casing): what the confusables table
 * maps (`0`→o, `1` and `|`→l, `m`→rn, `` ` ``, `"`, `%`) and `i` (see `I_AS_L`).
 */
const ASCII_CONFUSABLE = /[01m|`"%i]/u;
/** The skeleton of those characters, lower-cased (a test checks it against the table). */
const ASCII_PROTOTYPES: Readonly<Record<string, string>> = { '0': 'o', '1': 'l', '|': 'l', i: 'l', m: 'rn', '`': "'", '"': "''", '%': 'º/₀' };

/** The key of lower-cased ASCII: a plain loop (137 ns for `emma_m`, 705 ns with a replace callback). */
function asciiKey(folded: string): string {
  if (!ASCII_CONFUSABLE.test(folded)) return folded;
  let out = '';
  for (let i = 0; i < folded.length; i++) {
    const ch = folded[i] as string;
    out += ASCII_PROTOTYPES[ch] ?? ch;
  }
  return out;
}

/**
 * Capital I and small l are one glyph in many fonts, and the skeleton maps I
 * to l; but nicknames are compared case-insensitively, so I is also i. The
 * key therefore counts i as l too: `AIice`, `Alice` and `alice` are one
 * user (the price: `ali` and `all` are too).
 */
const I_AS_L = /i/gu;
/** The case-insensitive form of a nickname: NFKC, then lower-cased. Sorting the online list uses it. */
export function nickFold(nick: string): string {
  return (isAscii(nick) ? nick : nick.normalize('NFKC')).toLowerCase();
}

/**
 * The form used to compare nicknames: the UTS #39 confusable skeleton of the
 * case-folded nickname, lower-cased again, with i as l. `Alice`, `ALICE`,
 * `AIice`, `ａｌｉｃｅ` and `аlice` (Cyrillic а) have one key; so do `bob`
 * and `b0b`, `m` and `rn`.
 * Invisible characters are never part of a key. The key of a nickname that
 * `checkNickname` accepts has no spaces (the rule holds for its NFKC form).
 * The cluster uses it as the nick's Redis key. Any text has a key (the client
 * finds mentions with it), so spaces in text are kept.
 */
export function nickKey(nick: string): string {
  const folded = nickFold(nick);
  // The common case (every private message looks its recipient up by key): no ICU, no table.
  if (isAscii(folded)) return asciiKey(folded);
  return skeleton(folded.replace(INVISIBLE_ALL, '')).toLowerCase().replace(I_AS_L, 'l');
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

/**
 * The reserved words by key, so `0nline` and `ｈｅｌｐ` are refused too. Made on
 * the first nickname checked: building it parses the confusables table
 * (≈ 7 ms), which a program that never checks a nickname (`parley --help`, a
 * server still starting) should not pay at import.
 */
let reservedKeys: ReadonlySet<string> | undefined;
function isReservedKey(key: string): boolean {
  reservedKeys ??= new Set([...RESERVED_NICKS].map(commandKey));
  return reservedKeys.has(key);
}

/**
 * The key that command words are compared by: the skeleton without counting i
 * as l, so `0nline` and `he1p` are refused but `Ali` (whose nick key is that
 * of `all`) is not.
 */
function commandKey(nick: string): string {
  return skeleton(nickFold(nick).replace(INVISIBLE_ALL, '')).toLowerCase();
}

function hex(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
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
      error: protocolError('NICK_INVALID', 'nickname may only use letters, digits and _ - . [ ] { } | ^ ` and must start with a letter, digit or _'),
    };
  }
  const invisible = INVISIBLE.exec(nick);
  if (invisible) {
    return { ok: false, error: protocolError('NICK_INVALID', `nickname contains an invisible character (${hex(invisible[0])})`) };
  }
  // NFKC may turn one character into words or punctuation (U+FDFA is 18 letters and 3 spaces): the rule holds for that form too.
  const folded = nickFold(nick);
  if (!NICK_PATTERN.test(folded)) {
    const culprit = [...nick].find((ch) => !NICK_PATTERN.test(`a${ch.normalize('NFKC').toLowerCase()}`)) ?? '';
    return {
      ok: false,
      error: protocolError('NICK_INVALID', `nickname contains a character that stands for spaces or punctuation${culprit ? ` (${hex(culprit)})` : ''}`),
    };
  }
  if (isReservedKey(commandKey(nick))) {
    return { ok: false, error: protocolError('NICK_RESERVED', `"${nick}" is a command word and cannot be a nickname`) };
  }
  return { ok: true, nick };
}
