import { checkMessageText, checkNickname, DEFAULT_MAX_LINE_BYTES, encodeCommand, isAccountWord, parseCommand, type Command } from '@parley/protocol';

/** What a line the user typed means. */
export type InputAction =
  /** Nothing typed. */
  | { readonly kind: 'none' }
  /** Send this command (and echo it, for broadcast and private). */
  | { readonly kind: 'send'; readonly command: Command }
  /** Handled by the client itself. */
  | { readonly kind: 'local'; readonly action: 'quit' | 'help' | 'clear' }
  /** An account dialogue: the password is then asked in a masked prompt (never typed on the line). */
  | { readonly kind: 'account'; readonly action: 'register' | 'password' | 'unregister' | 'login' }
  /** Share a local file with everyone, or with one online user (`/share <path> [nick]`). */
  | { readonly kind: 'share'; readonly path: string; readonly to?: string }
  /** Connect to another server (`/server host[:port]`). */
  | { readonly kind: 'server'; readonly address: string }
  /**
   * Not sent: tell the user why and keep the text in the input. `anyway` is
   * what a second Enter on the same text sends (a line that only looked like
   * `nick,text`), so sending it to everyone is always a deliberate choice.
   * `secret`: the line may hold a password: wipe it, never keep it in the history.
   */
  | { readonly kind: 'refuse'; readonly reason: string; readonly anyway?: Command; readonly secret?: boolean };

export interface ParseContext {
  /** The online nick that a name refers to (case-insensitive), if any. */
  readonly onlineNick: (name: string) => string | undefined;
}

export const CLIENT_HELP = [
  'Plain text goes to everyone. Commands:',
  '  bob,hi    /msg bob hi      private message',
  '  broadcast,hi   /say hi     to everyone',
  '  online    /online    F2    who is online',
  '  files     /files     F3    files (Enter downloads)',
  '  download,f   /download f   download a file',
  '  /share <path> [nick]       share a file with everyone (or one user)',
  '  /cancel <id>               stop a download or an upload',
  '  /server host[:port]        connect elsewhere (tls://host: with TLS)',
  '  /register                  make this nickname yours (asks a password twice)',
  '  /password   /unregister    change the password / free the nickname',
  '  /login                     (asked by itself when a nickname is registered)',
  '  /msg bob hi  to a registered user who is offline: it waits for their next login',
  'Operators: /kick <nick> [reason]   /ban <nick|address> [30m|12h|7d] [reason]',
  '           /unban <nick|address>   /bans',
  '  /clear   /quit (F10)       clear screen, leave',
  'Keys: Tab completes, Up/Down history, PgUp/PgDn scroll',
];

const MAX_LINE_BYTES = DEFAULT_MAX_LINE_BYTES - 16;

function text(textValue: string, build: (t: string) => Command): InputAction {
  const t = textValue.trim();
  if (t.length === 0) return { kind: 'refuse', reason: 'there is no text to send' };
  const bad = checkMessageText(t);
  if (bad) return { kind: 'refuse', reason: bad.message };
  const command = build(t);
  if (Buffer.byteLength(encodeCommand(command)) > MAX_LINE_BYTES) {
    return { kind: 'refuse', reason: `the message is too long (at most ${MAX_LINE_BYTES} bytes)` };
  }
  return { kind: 'send', command };
}

function privateTo(name: string, body: string, ctx: ParseContext): InputAction {
  const nick = ctx.onlineNick(name);
  if (nick) return text(body, (t) => ({ type: 'private', to: nick, text: t }));
  // Not online: the server keeps it for a registered user (answering `waiting`), or says nobody has that name.
  if (!checkNickname(name).ok) return { kind: 'refuse', reason: `${name} is not a nickname; the message was not sent (F2 shows who is online)` };
  return text(body, (t) => ({ type: 'private', to: name, text: t }));
}

/** `/kick bob rude`, `/ban bob 1h spam`: the server's comma grammar, checked here by the same parser. */
function moderation(word: 'kick' | 'ban' | 'unban' | 'bans', rest: string): InputAction {
  const fields = rest
    .trim()
    .split(/\s+/u)
    .filter((f) => f.length > 0);
  let line: string = word;
  if (word === 'bans') line = fields.length > 0 ? `bans,${fields.join(' ')}` : 'bans';
  else if (word === 'unban') line = `unban,${fields.join(' ')}`;
  else {
    const [target = '', ...more] = fields;
    const duration = word === 'ban' && more[0] !== undefined && /^\d+[smhd]$/iu.test(more[0]) ? more.shift() : undefined;
    line = [word, target, ...(duration ? [duration] : []), ...(more.length > 0 ? [more.join(' ')] : [])].join(',');
  }
  const parsed = parseCommand(line);
  if (!parsed.ok) return { kind: 'refuse', reason: parsed.error.message.replace(/: (kick|ban|unban|bans)[,\w<>[\]\s|]*$/u, '') + USAGE[word] };
  return parsed.command ? { kind: 'send', command: parsed.command } : { kind: 'none' };
}

const USAGE = {
  kick: ': /kick <nick> [reason]',
  ban: ': /ban <nick or address> [30m|12h|7d] [reason]',
  unban: ': /unban <nick or address>',
  bans: ': /bans',
} as const;

function slash(line: string, ctx: ParseContext): InputAction {
  const body = line.slice(1);
  const space = body.search(/\s/u);
  const word = (space === -1 ? body : body.slice(0, space)).toLowerCase();
  const rest = space === -1 ? '' : body.slice(space + 1);
  switch (word) {
    case 'msg':
    case 'm':
    case 'query':
    case 'tell': {
      const m = /^\s*(\S+)\s*(.*)$/su.exec(rest);
      if (!m) return { kind: 'refuse', reason: 'usage: /msg <nick> <text>' };
      return privateTo(m[1] ?? '', m[2] ?? '', ctx);
    }
    case 'say':
    case 'all':
    case 'broadcast':
      return text(rest, (t) => ({ type: 'broadcast', text: t }));
    case 'online':
    case 'who':
    case 'names':
      return { kind: 'send', command: { type: 'online' } };
    case 'files':
    case 'ls':
      return { kind: 'send', command: { type: 'files' } };
    case 'download':
    case 'dl':
    case 'get': {
      const file = rest.trim();
      if (!file) return { kind: 'refuse', reason: 'usage: /download <file> (F3 lists the files)' };
      return { kind: 'send', command: { type: 'download', file } };
    }
    case 'share':
    case 'upload': {
      const words = rest.trim();
      if (!words) return { kind: 'refuse', reason: 'usage: /share <path> [nick] (the nick must be online)' };
      // The last word is the recipient when it is an online nick and a path comes before it.
      const m = /^(.*\S)\s+(\S+)$/u.exec(words);
      const to = m ? ctx.onlineNick(m[2] ?? '') : undefined;
      return to !== undefined && m ? { kind: 'share', path: m[1] ?? '', to } : { kind: 'share', path: words };
    }
    case 'cancel': {
      const id = rest.trim();
      if (!/^[0-9]{1,10}$/u.test(id)) return { kind: 'refuse', reason: 'usage: /cancel <download id>' };
      return { kind: 'send', command: { type: 'cancel', transferId: id } };
    }
    case 'quit':
    case 'exit':
    case 'q':
      return { kind: 'local', action: 'quit' };
    case 'help':
    case 'h':
    case '?':
      return { kind: 'local', action: 'help' };
    case 'clear':
      return { kind: 'local', action: 'clear' };
    case 'register':
    case 'password':
    case 'unregister':
    case 'login':
      // A password typed after the command would show on screen and stay in the history: refuse it and wipe the line.
      if (rest.trim() !== '')
        return { kind: 'refuse', reason: `type /${word} alone: the password is asked for without showing it (the line was wiped)`, secret: true };
      return { kind: 'account', action: word };
    case 'kick':
    case 'ban':
    case 'unban':
    case 'bans':
      return moderation(word, rest);
    case 'server':
    case 'connect': {
      const address = rest.trim();
      if (!address) return { kind: 'refuse', reason: 'usage: /server [tls://]<host>[:<port>]' };
      return { kind: 'server', address };
    }
    default:
      return { kind: 'refuse', reason: `unknown command /${word}; /help lists the commands (start with // to send a line that begins with /)` };
  }
}

/**
 * Reads a typed line the way the original client did (`broadcast,hi`,
 * `bob,hi`, `online`, `files`, `download,a.jpg`, `exit`), plus slash commands.
 * Plain text goes to everyone, except a line whose part before the first comma
 * looks like a nickname that is not online: that is refused (never sent to
 * everyone by accident) and the text stays in the input.
 */
export function parseInput(raw: string, ctx: ParseContext): InputAction {
  const line = raw.replace(/[\r\n]+$/u, '');
  const trimmed = line.trim();
  if (trimmed.length === 0) return { kind: 'none' };
  if (trimmed.startsWith('//')) return text(trimmed.slice(1), (t) => ({ type: 'broadcast', text: t }));
  if (trimmed.startsWith('/')) return slash(trimmed, ctx);
  const comma = trimmed.indexOf(',');
  if (comma === -1) {
    switch (trimmed.toLowerCase()) {
      case 'online':
        return { kind: 'send', command: { type: 'online' } };
      case 'files':
        return { kind: 'send', command: { type: 'files' } };
      case 'exit':
      case 'quit':
        return { kind: 'local', action: 'quit' };
      case 'help':
        return { kind: 'local', action: 'help' };
      default:
        return text(trimmed, (t) => ({ type: 'broadcast', text: t }));
    }
  }
  const head = trimmed.slice(0, comma).trim();
  const rest = trimmed.slice(comma + 1);
  if (isAccountWord(head.toLowerCase())) {
    // `register,<password>` as nc users type it: never sent from here (a second Enter would broadcast it), never kept.
    return { kind: 'refuse', reason: `use /${head.toLowerCase()}: the password is asked for without showing it (the line was wiped)`, secret: true };
  }
  switch (head.toLowerCase()) {
    case 'broadcast':
      return text(rest, (t) => ({ type: 'broadcast', text: t }));
    case 'download': {
      const file = rest.trim();
      if (!file) return { kind: 'refuse', reason: 'usage: download,<file> (F3 lists the files)' };
      return { kind: 'send', command: { type: 'download', file } };
    }
    case 'cancel':
      return slash(`/cancel ${rest}`, ctx);
    case 'online':
    case 'files':
    case 'exit':
    case 'quit':
    case 'help':
      return { kind: 'refuse', reason: `"${head}" takes nothing after it; type it on its own` };
    default:
      break;
  }
  if (ctx.onlineNick(head)) return privateTo(head, rest, ctx);
  const shaped = checkNickname(head);
  const looksLikeNick = head.length > 0 && (shaped.ok || shaped.error.wireCode === 'NICK_RESERVED');
  if (looksLikeNick || head.length === 0) {
    const everyone = text(trimmed, (t) => ({ type: 'broadcast', text: t }));
    return {
      kind: 'refuse',
      reason: `"${head}" is not online and not a command, so the line was not sent. Press Enter again to send it to everyone.`,
      ...(everyone.kind === 'send' ? { anyway: everyone.command } : {}),
    };
  }
  return text(trimmed, (t) => ({ type: 'broadcast', text: t }));
}
