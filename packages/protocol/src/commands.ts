import {
  encodeAccountCommand,
  encodeModerationCommand,
  isAccountWord,
  isModerationWord,
  parseAccountCommand,
  parseModerationCommand,
  type AccountCommand,
  type ModerationCommand,
} from './account-commands.js';
import { protocolError, type ParleyProtocolError } from './errors.js';
import { checkNickname, nickKey } from './nickname.js';
import { checkMessageText } from './text.js';
import { encodeShareCommand, isShareWord, parseShareCommand, type ShareCommand } from './share.js';
import { HISTORY_DEFAULT_PAGE, HISTORY_MAX_PAGE, isMessageId, type HistoryQuery } from './history.js';

/**
 * What a client can ask of the server after it has sent its nickname. The
 * grammar is the original one (`broadcast,hi`, `online`, `files`,
 * `download,a.jpg`, `bob,hi`, `exit`) so a person with `nc` can chat; `pong`
 * and `cancel` exist for programs and nobody has to type them.
 */
export type Command =
  | { readonly type: 'broadcast'; readonly text: string }
  | { readonly type: 'private'; readonly to: string; readonly text: string }
  | { readonly type: 'online' }
  | { readonly type: 'files' }
  | { readonly type: 'download'; readonly file: string }
  | { readonly type: 'exit' }
  | { readonly type: 'help' }
  | { readonly type: 'pong'; readonly token: string }
  | { readonly type: 'cancel'; readonly transferId: string }
  /** Protocol 2: earlier messages (PROTOCOL.md §2.3). */
  | { readonly type: 'history'; readonly query: HistoryQuery }
  /** Protocol 2: ids and times on this connection's live messages, on or off. */
  | { readonly type: 'ids'; readonly on: boolean }
  /** Accounts (PROTOCOL.md §2.4). */
  | AccountCommand
  /** Moderation by operators (PROTOCOL.md §2.5). */
  | ModerationCommand
  /** Sharing files (PROTOCOL.md §7). */
  | ShareCommand;

export type CommandType = Command['type'];

export type ParsedCommand =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly error: ParleyProtocolError }
  /** A blank line: nothing to do, nothing to answer. */
  | { readonly ok: true; readonly command: null };

const BARE: Readonly<Record<string, Command>> = {
  online: { type: 'online' },
  files: { type: 'files' },
  exit: { type: 'exit' },
  quit: { type: 'exit' },
  help: { type: 'help' },
  pong: { type: 'pong', token: '' },
  history: { type: 'history', query: { form: 'last', count: HISTORY_DEFAULT_PAGE } },
};

const HISTORY_USAGE = 'history,<count> | history,before,<id>[,<count>] | history,after,<id>[,<count>]';
const HINT = 'type broadcast,<text> to talk to everyone, <nick>,<text> to talk to one user, help for all commands';

function fail(error: ParleyProtocolError): ParsedCommand {
  return { ok: false, error };
}

function withText(text: string, build: (text: string) => Command): ParsedCommand {
  const trimmed = text.trim();
  const bad = checkMessageText(trimmed);
  return bad ? fail(bad) : { ok: true, command: build(trimmed) };
}

/** Parses one line (without its line ending) in the original comma grammar. */
export function parseCommand(line: string): ParsedCommand {
  const comma = line.indexOf(',');
  if (comma === -1) {
    const word = line.trim();
    if (word.length === 0) return { ok: true, command: null };
    const bare = BARE[word.toLowerCase()];
    if (bare) return { ok: true, command: bare };
    if (word.toLowerCase() === 'ids') return fail(protocolError('BAD_ARGUMENTS', 'ids takes on or off: ids,on'));
    const lower = word.toLowerCase();
    if (isAccountWord(lower)) return parseAccountCommand(lower, undefined);
    if (isModerationWord(lower)) return parseModerationCommand(lower, undefined);
    if (isShareWord(lower)) return parseShareCommand(lower, undefined);
    return fail(protocolError('UNKNOWN_COMMAND', `unknown command "${clip(word)}": ${HINT}`));
  }
  const head = line.slice(0, comma).trim();
  const rest = line.slice(comma + 1);
  const word = head.toLowerCase();
  if (isAccountWord(word)) return parseAccountCommand(word, rest);
  if (isModerationWord(word)) return parseModerationCommand(word, rest);
  if (isShareWord(word)) return parseShareCommand(word, rest);
  switch (word) {
    case 'broadcast':
      return withText(rest, (text) => ({ type: 'broadcast', text }));
    case 'download': {
      const file = rest.trim();
      if (file.length === 0) return fail(protocolError('BAD_ARGUMENTS', 'download needs a file name: download,<file>'));
      return { ok: true, command: { type: 'download', file } };
    }
    case 'pong':
      return { ok: true, command: { type: 'pong', token: rest.trim() } };
    case 'cancel': {
      const transferId = rest.trim();
      if (!/^[0-9]{1,10}$/u.test(transferId)) {
        return fail(protocolError('BAD_ARGUMENTS', 'cancel needs a transfer id: cancel,<id>'));
      }
      return { ok: true, command: { type: 'cancel', transferId } };
    }
    case 'history':
      return parseHistory(rest);
    case 'ids': {
      const value = rest.trim().toLowerCase();
      if (value !== 'on' && value !== 'off') return fail(protocolError('BAD_ARGUMENTS', 'ids takes on or off: ids,on'));
      return { ok: true, command: { type: 'ids', on: value === 'on' } };
    }
    case 'online':
    case 'files':
    case 'exit':
    case 'quit':
    case 'help':
      return fail(protocolError('BAD_ARGUMENTS', `"${word}" takes no argument; send it on its own`));
    default:
      break;
  }
  if (head.length === 0) return fail(protocolError('UNKNOWN_COMMAND', `a line cannot start with a comma: ${HINT}`));
  const nick = checkNickname(head);
  if (!nick.ok) {
    return fail(protocolError('UNKNOWN_COMMAND', `"${clip(head)}" is neither a command nor a nickname: ${HINT}`));
  }
  return withText(rest, (text) => ({ type: 'private', to: nick.nick, text }));
}

/** `history,…` after the first comma: `<count>`, `before,<id>[,<count>]` or `after,<id>[,<count>]`. */
function parseHistory(rest: string): ParsedCommand {
  const parts = rest.split(',').map((p) => p.trim());
  const usage = (why: string): ParsedCommand => fail(protocolError('BAD_ARGUMENTS', `${why}; use ${HISTORY_USAGE}`));
  const first = (parts[0] ?? '').toLowerCase();
  if (first !== 'before' && first !== 'after') {
    if (parts.length !== 1) return usage('history takes a count, or before/after and a message id');
    const count = parseCount(first);
    return typeof count === 'number' ? { ok: true, command: { type: 'history', query: { form: 'last', count } } } : usage(count);
  }
  if (parts.length < 2 || parts.length > 3) return usage(`history,${first} needs a message id and at most a count`);
  const id = parts[1] as string;
  if (!isMessageId(id)) return usage(`"${clip(id)}" is not a message id`);
  let count = first === 'after' ? HISTORY_MAX_PAGE : HISTORY_DEFAULT_PAGE;
  if (parts.length === 3) {
    const c = parseCount(parts[2] as string);
    if (typeof c !== 'number') return usage(c);
    count = c;
  }
  return { ok: true, command: { type: 'history', query: { form: first, id, count } } };
}

/** A count of messages, 1 to HISTORY_MAX_PAGE; otherwise why not. */
function parseCount(text: string): number | string {
  if (!/^[0-9]{1,9}$/u.test(text)) return `"${clip(text)}" is not a count of messages`;
  const n = Number(text);
  if (n < 1 || n > HISTORY_MAX_PAGE) return `the count must be 1 to ${HISTORY_MAX_PAGE} (got ${n}); page with history,before,<id>`;
  return n;
}

/** Writes a command as a line (without LF) in the same grammar. */
export function encodeCommand(command: Command): string {
  switch (command.type) {
    case 'broadcast':
      return `broadcast,${command.text}`;
    case 'private':
      return `${command.to},${command.text}`;
    case 'download':
      return `download,${command.file}`;
    case 'pong':
      return command.token ? `pong,${command.token}` : 'pong';
    case 'cancel':
      return `cancel,${command.transferId}`;
    case 'history': {
      const q = command.query;
      return q.form === 'last' ? `history,${q.count}` : `history,${q.form},${q.id},${q.count}`;
    }
    case 'ids':
      return `ids,${command.on ? 'on' : 'off'}`;
    case 'online':
    case 'files':
    case 'exit':
    case 'help':
      return command.type;
    case 'kick':
    case 'ban':
    case 'unban':
    case 'bans':
      return encodeModerationCommand(command);
    case 'share':
    case 'unshare':
      return encodeShareCommand(command);
    default:
      return encodeAccountCommand(command);
  }
}

/** True when `nick` names the same user as `other` (case-insensitive). */
export function sameNick(nick: string, other: string): boolean {
  return nickKey(nick) === nickKey(other);
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
