import { encodeAccountCommand, isAccountWord, parseAccountCommand, type AccountCommand } from './account-commands.js';
import { protocolError, type ParleyProtocolError } from './errors.js';
import { checkNickname, nickKey } from './nickname.js';
import { checkMessageText } from './text.js';

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
  /** Accounts and moderation (PROTOCOL.md §2.4). */
  | AccountCommand;

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
};

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
    const lower = word.toLowerCase();
    if (isAccountWord(lower)) return parseAccountCommand(lower, undefined);
    return fail(protocolError('UNKNOWN_COMMAND', `unknown command "${clip(word)}": ${HINT}`));
  }
  const head = line.slice(0, comma).trim();
  const rest = line.slice(comma + 1);
  const word = head.toLowerCase();
  if (isAccountWord(word)) return parseAccountCommand(word, rest);
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
    case 'online':
    case 'files':
    case 'exit':
    case 'help':
      return command.type;
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
