import { protocolError, type ParleyProtocolError } from './errors.js';
import { checkNickname } from './nickname.js';

/**
 * Accounts and moderation in the comma grammar (PROTOCOL.md §2.4). A password
 * is everything after the command's comma, as typed (no trimming: spaces are
 * part of it); the server checks a new password's rules, this module only the
 * shape of the line.
 */
export type AccountCommand =
  | { readonly type: 'register'; readonly password: string }
  | { readonly type: 'login'; readonly password: string }
  /** `login,token,<token>`: a resume token from an earlier login instead of the password (a password never has a comma). */
  | { readonly type: 'resume'; readonly token: string }
  | { readonly type: 'password'; readonly old: string; readonly new: string }
  | { readonly type: 'unregister'; readonly password: string };

/**
 * Moderation by operators (PROTOCOL.md §2.5), routed by `parseCommand`. The
 * words are reserved nicknames, so `kick,bob` is always a command, never a
 * private message to a user called "kick".
 */
export type ModerationCommand =
  | { readonly type: 'kick'; readonly nick: string; readonly reason: string }
  /** `target` is a nickname or an address/range as typed; `duration` as typed (`30m`), checked by the server. */
  | { readonly type: 'ban'; readonly target: string; readonly duration: string | undefined; readonly reason: string }
  | { readonly type: 'unban'; readonly target: string }
  | { readonly type: 'bans' };

/** The words of the account commands, routed by `parseCommand`. */
export const ACCOUNT_WORDS = ['register', 'login', 'password', 'unregister'] as const;
/** The words of the moderation commands, routed by `parseCommand`. */
export const MODERATION_WORDS = ['kick', 'ban', 'unban', 'bans'] as const;
type Word = (typeof ACCOUNT_WORDS)[number] | (typeof MODERATION_WORDS)[number];

const USAGE: Readonly<Record<Word, string>> = {
  register: 'register,<password>',
  login: 'login,<password>',
  password: 'password,<old password>,<new password>',
  unregister: 'unregister,<password>',
  kick: 'kick,<nick>[,<reason>]',
  ban: 'ban,<nick or address>[,<duration like 30m, 12h, 7d>][,<reason>]',
  unban: 'unban,<nick or address>',
  bans: 'bans',
};

const REASON_MAX_CHARS = 200;
/** A resume token as the server issues it (PROTOCOL.md §2.4): 32 random bytes in lowercase hex. */
export const RESUME_TOKEN = /^[0-9a-f]{64}$/u;

type Parsed<C> = { readonly ok: true; readonly command: C } | { readonly ok: false; readonly error: ParleyProtocolError };

function bad(word: Word, why: string): { readonly ok: false; readonly error: ParleyProtocolError } {
  return { ok: false, error: protocolError('BAD_ARGUMENTS', `${why}: ${USAGE[word]}`) };
}

function reasonOf(text: string | undefined): string | undefined {
  const reason = (text ?? '').trim();
  // Shown to everyone: no controls, no bidi, bounded.
  if (/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(reason)) return undefined;
  return [...reason].slice(0, REASON_MAX_CHARS).join('');
}

/** True when `word` (lower case) starts an account command. */
export function isAccountWord(word: string): word is (typeof ACCOUNT_WORDS)[number] {
  return (ACCOUNT_WORDS as readonly string[]).includes(word);
}

/** True when `word` (lower case) starts a moderation command. */
export function isModerationWord(word: string): word is (typeof MODERATION_WORDS)[number] {
  return (MODERATION_WORDS as readonly string[]).includes(word);
}

/**
 * Parses an account command: `word` is the lower-cased text before the first
 * comma (or the whole line), `rest` what follows that comma (undefined when
 * there was none). A password is taken as typed.
 */
export function parseAccountCommand(word: (typeof ACCOUNT_WORDS)[number], rest: string | undefined): Parsed<AccountCommand> {
  if (rest === undefined || rest.length === 0) return bad(word, `${word} needs an argument`);
  switch (word) {
    case 'login':
      if (rest.startsWith('token,')) {
        const token = rest.slice('token,'.length);
        if (!RESUME_TOKEN.test(token)) return bad(word, 'a resume token is 64 hex digits');
        return { ok: true, command: { type: 'resume', token } };
      }
      return { ok: true, command: { type: word, password: rest } };
    case 'register':
    case 'unregister':
      return { ok: true, command: { type: word, password: rest } };
    case 'password': {
      const comma = rest.indexOf(',');
      if (comma <= 0 || comma === rest.length - 1) return bad(word, 'give the old and the new password');
      return { ok: true, command: { type: 'password', old: rest.slice(0, comma), new: rest.slice(comma + 1) } };
    }
  }
}

/** Parses a moderation command (same conventions as `parseAccountCommand`). */
export function parseModerationCommand(word: (typeof MODERATION_WORDS)[number], rest: string | undefined): Parsed<ModerationCommand> {
  if (word === 'bans') return rest === undefined || rest.trim() === '' ? { ok: true, command: { type: 'bans' } } : bad(word, 'bans takes no argument');
  if (rest === undefined || rest.length === 0) return bad(word, `${word} needs an argument`);
  switch (word) {
    case 'kick': {
      const [who = '', ...more] = rest.split(',');
      const nick = checkNickname(who.trim());
      if (!nick.ok) return bad(word, `"${who.trim().slice(0, 40)}" is not a nickname`);
      const reason = reasonOf(more.join(','));
      if (reason === undefined) return bad(word, 'a reason cannot contain control or bidirectional formatting characters');
      return { ok: true, command: { type: 'kick', nick: nick.nick, reason } };
    }
    case 'ban': {
      const [who = '', second, ...more] = rest.split(',');
      const target = who.trim();
      if (target.length === 0) return bad(word, 'say whom to ban');
      // The second field is a duration when it looks like one (digits and a unit); otherwise it starts the reason.
      const looksLikeDuration = second !== undefined && /^\s*\d+\s*[a-z]?\s*$/iu.test(second);
      const duration = looksLikeDuration ? (second as string).trim() : undefined;
      const reason = reasonOf(looksLikeDuration ? more.join(',') : [second, ...more].filter((p) => p !== undefined).join(','));
      if (reason === undefined) return bad(word, 'a reason cannot contain control or bidirectional formatting characters');
      return { ok: true, command: { type: 'ban', target, duration, reason } };
    }
    case 'unban': {
      const target = rest.trim();
      if (target.length === 0 || target.includes(',')) return bad(word, 'say whom to unban');
      return { ok: true, command: { type: 'unban', target } };
    }
  }
}

/** Writes an account command as a line (without LF). */
export function encodeAccountCommand(command: AccountCommand): string {
  switch (command.type) {
    case 'register':
    case 'login':
    case 'unregister':
      return `${command.type},${command.password}`;
    case 'password':
      return `password,${command.old},${command.new}`;
    case 'resume':
      return `login,token,${command.token}`;
  }
}

/** Writes a moderation command as a line (without LF). */
export function encodeModerationCommand(command: ModerationCommand): string {
  switch (command.type) {
    case 'kick':
      return command.reason ? `kick,${command.nick},${command.reason}` : `kick,${command.nick}`;
    case 'ban':
      return ['ban', command.target, ...(command.duration !== undefined ? [command.duration] : []), ...(command.reason ? [command.reason] : [])].join(',');
    case 'unban':
      return `unban,${command.target}`;
    case 'bans':
      return 'bans';
  }
}
