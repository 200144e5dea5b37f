import { isErrorCode, protocolError, type ErrorCode } from './errors.js';
import { decodeArg, encodeArg } from './text.js';
import { decodeShareEvent, encodeShareEvent, type ShareEvent } from './share.js';
import { HISTORY_FORMS, isMessageId, isMessageTime, type HistoryForm, type MessageStamp } from './history.js';

/** Why a user left, as everyone else is told. */
export const LEAVE_REASONS = ['quit', 'disconnected', 'timeout', 'kicked', 'shutdown'] as const;
export type LeaveReason = (typeof LEAVE_REASONS)[number];

export interface FileEntry {
  readonly name: string;
  readonly size: number;
}

/**
 * A chat message. `id` and `time` are there on a history replay, and on live
 * messages to a connection that sent `ids,on` (protocol 2); otherwise absent,
 * and the line is what it always was.
 */
export type MessageEvent =
  | { readonly type: 'broadcast'; readonly from: string; readonly text: string; readonly id?: string; readonly time?: string }
  | { readonly type: 'private'; readonly from: string; readonly to: string; readonly text: string; readonly id?: string; readonly time?: string };

/**
 * Everything the server says. Each event is one line:
 * `<kind> <arg> <arg> … [:<free text>]` — readable in `nc`, parseable
 * without guessing. Arguments never contain spaces (see `encodeArg`).
 */
export type ServerEvent =
  | { readonly type: 'welcome'; readonly version: number; readonly nick: string; readonly text: string }
  | { readonly type: 'online'; readonly nicks: readonly string[] }
  | { readonly type: 'joined'; readonly nick: string }
  | { readonly type: 'left'; readonly nick: string; readonly reason: LeaveReason }
  | MessageEvent
  /** A stored message replayed: clients show it as history (no bell, no notification). */
  | { readonly type: 'history'; readonly message: MessageEvent & MessageStamp }
  /** Ends a history answer: how many messages it carried and whether the cap cut it short (`more`). */
  | { readonly type: 'history-end'; readonly form: HistoryForm; readonly count: number; readonly more: boolean }
  /** To a connection with ids on: the message it just sent was stored under this id. */
  | { readonly type: 'sent'; readonly id: string; readonly time: string }
  /** Answer to `ids,on` / `ids,off`. */
  | { readonly type: 'ids'; readonly on: boolean }
  | { readonly type: 'files'; readonly files: readonly FileEntry[] }
  | {
      readonly type: 'offer';
      readonly id: number;
      readonly name: string;
      readonly size: number;
      readonly sha256: string;
      readonly token: string;
      readonly udpPort: number;
      /**
       * The transfer's 32-byte key in 64 hex digits, only on an encrypted offer (a TLS
       * session): every UDP packet of the transfer is then sealed (PROTOCOL.md §5.7).
       */
      readonly key?: string;
    }
  | { readonly type: 'error'; readonly code: ErrorCode; readonly text: string }
  | { readonly type: 'ping'; readonly token: string }
  | { readonly type: 'bye'; readonly code: ErrorCode; readonly text: string }
  | { readonly type: 'info'; readonly text: string }
  /** Protocol 2: this connection's account changed (`account registered alice :…`). */
  | { readonly type: 'account'; readonly state: AccountState; readonly nick: string; readonly text: string }
  /** After a login or registration: a one-time token that logs this account in again without the password (`login,token,<token>`) until `expires`. */
  | { readonly type: 'resume'; readonly token: string; readonly expires: string }
  /** To the sender: its private message to an offline registered user waits for them (`count` now wait for them). */
  | { readonly type: 'waiting'; readonly to: string; readonly count: number; readonly text: string }
  /** A private message sent to this account at `time` while it was away, delivered at login. */
  | { readonly type: 'waited'; readonly from: string; readonly time: string; readonly text: string }
  /** To everyone: an operator removed `nick` from the chat. */
  | { readonly type: 'kicked'; readonly nick: string; readonly by: string; readonly reason: string }
  /** To everyone: a ban was added (`target` is empty, written `-`, for an address, which only operators see). `until` absent: until lifted. */
  | { readonly type: 'banned'; readonly ban: BanInfo }
  /** To everyone: a ban was lifted. */
  | { readonly type: 'unbanned'; readonly kind: BanKind; readonly target: string; readonly by: string }
  /** One line of an operator's `bans` answer. */
  | { readonly type: 'ban'; readonly ban: BanInfo & { readonly at: string } }
  /** Ends a `bans` answer: how many bans are in force. */
  | { readonly type: 'bans'; readonly count: number }
  /** Sharing files: `upload`, `shared`, `unshared` (PROTOCOL.md §7). */
  | ShareEvent;

/** What a ban keeps out: a nickname (and its look-alikes), or an address or range. */
export const BAN_KINDS = ['nick', 'address'] as const;
export type BanKind = (typeof BAN_KINDS)[number];
/** A ban as events carry it. Times are ISO UTC with milliseconds (as message times). */
export interface BanInfo {
  readonly kind: BanKind;
  readonly target: string;
  readonly by: string;
  readonly until?: string;
  readonly reason: string;
}

export type EventType = ServerEvent['type'];

/** What happened to the connection's account (the `account` event, protocol 2). */
export const ACCOUNT_STATES = ['registered', 'identified', 'password-changed', 'unregistered'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

/** One line of text for `event` (without LF). Free text must not contain CR or LF. */
export function encodeEvent(event: ServerEvent): string {
  switch (event.type) {
    case 'welcome':
      return `welcome ${event.version} ${event.nick} :${event.text}`;
    case 'online':
      return event.nicks.length === 0 ? 'online 0' : `online ${event.nicks.length} ${event.nicks.join(' ')}`;
    case 'joined':
      return `joined ${event.nick}`;
    case 'left':
      return `left ${event.nick} ${event.reason}`;
    case 'broadcast':
    case 'private':
      return encodeMessage(event);
    case 'history':
      return `history ${encodeMessage(event.message)}`;
    case 'history-end':
      return `history end ${event.form} ${event.count} ${event.more ? 'more' : 'all'}`;
    case 'sent':
      return `sent ${event.id} ${event.time}`;
    case 'ids':
      return `ids ${event.on ? 'on' : 'off'}`;
    case 'files': {
      let line = `files ${event.files.length}`;
      for (const f of event.files) line += ` ${encodeArg(f.name)} ${f.size}`;
      return line;
    }
    case 'offer':
      return `offer ${event.id} ${encodeArg(event.name)} ${event.size} ${event.sha256} ${event.token} ${event.udpPort}${event.key !== undefined ? ` ${event.key}` : ''}`;
    case 'error':
      return `error ${event.code} :${event.text}`;
    case 'ping':
      return `ping ${encodeArg(event.token)}`;
    case 'bye':
      return `bye ${event.code} :${event.text}`;
    case 'info':
      return `info :${event.text}`;
    case 'account':
      return `account ${event.state} ${event.nick} :${event.text}`;
    case 'resume':
      return `resume ${event.token} ${event.expires}`;
    case 'waiting':
      return `waiting ${event.to} ${event.count} :${event.text}`;
    case 'waited':
      return `waited ${event.from} ${event.time} :${event.text}`;
    case 'kicked':
      return `kicked ${event.nick} ${event.by} :${event.reason}`;
    case 'banned':
      return `banned ${event.ban.kind} ${encodeArg(event.ban.target)} ${event.ban.by} ${event.ban.until ?? 'never'} :${event.ban.reason}`;
    case 'unbanned':
      return `unbanned ${event.kind} ${encodeArg(event.target)} ${event.by}`;
    case 'ban':
      return `ban ${event.ban.kind} ${encodeArg(event.ban.target)} ${event.ban.by} ${event.ban.at} ${event.ban.until ?? 'never'} :${event.ban.reason}`;
    case 'bans':
      return `bans ${event.count}`;
    case 'upload':
    case 'shared':
    case 'unshared':
      return encodeShareEvent(event);
  }
}

/** `broadcast <from> [<id> <time>] :<text>`, `private <from> <to> [<id> <time>] :<text>`. */
function encodeMessage(event: MessageEvent): string {
  const stamp = event.id !== undefined && event.time !== undefined ? ` ${event.id} ${event.time}` : '';
  return event.type === 'broadcast' ? `broadcast ${event.from}${stamp} :${event.text}` : `private ${event.from} ${event.to}${stamp} :${event.text}`;
}

/** Encodes an event as the bytes to write (with LF). */
export function eventFrame(event: ServerEvent): Buffer {
  return Buffer.from(`${encodeEvent(event)}\n`, 'utf8');
}

function bad(line: string, why: string): never {
  throw protocolError('BAD_EVENT', `${why}: "${line.length > 60 ? `${line.slice(0, 60)}…` : line}"`);
}

function count(line: string, value: string | undefined): number {
  if (value === undefined || !/^(?:0|[1-9][0-9]{0,15})$/u.test(value)) bad(line, 'expected a number');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) bad(line, 'number out of range');
  return n;
}

function word(line: string, value: string | undefined): string {
  if (value === undefined || value.length === 0) bad(line, 'missing argument');
  return value;
}

function code(line: string, value: string | undefined): ErrorCode {
  const v = word(line, value);
  if (!isErrorCode(v)) bad(line, `unknown code ${v}`);
  return v;
}

function expectArgs(line: string, args: readonly string[], n: number): void {
  if (args.length !== n) bad(line, `expected ${n} argument(s), got ${args.length}`);
}

function needTrailing(line: string, trailing: string | undefined): string {
  if (trailing === undefined) bad(line, 'missing text');
  return trailing;
}

function messageId(line: string, value: string | undefined): string {
  if (value === undefined || !isMessageId(value)) bad(line, 'bad message id');
  return value;
}

function messageTime(line: string, value: string | undefined): string {
  if (value === undefined || !isMessageTime(value)) bad(line, 'bad message time');
  return value;
}

/** A broadcast (1 argument, or 3 with id and time) or a private message (2, or 4). */
function decodeMessage(line: string, kind: string, args: readonly string[], trailing: string | undefined): MessageEvent {
  const names = kind === 'broadcast' ? 1 : kind === 'private' ? 2 : bad(line, 'unknown message kind');
  if (args.length !== names && args.length !== names + 2) bad(line, `expected ${names} or ${names + 2} argument(s), got ${args.length}`);
  const text = needTrailing(line, trailing);
  const stamp = args.length === names ? {} : { id: messageId(line, args[names]), time: messageTime(line, args[names + 1]) };
  return kind === 'broadcast'
    ? { type: 'broadcast', from: word(line, args[0]), text, ...stamp }
    : { type: 'private', from: word(line, args[0]), to: word(line, args[1]), text, ...stamp };
}

function banKind(line: string, value: string | undefined): BanKind {
  if (value !== 'nick' && value !== 'address') bad(line, 'expected nick or address');
  return value;
}

/** `<kind> <target> <by> <until|never> :<reason>` */
function decodeBan(line: string, args: readonly string[], trailing: string | undefined): BanInfo {
  const until = word(line, args[3]);
  return {
    kind: banKind(line, args[0]),
    target: decodeArg(word(line, args[1])),
    by: word(line, args[2]),
    ...(until === 'never' ? {} : { until: messageTime(line, until) }),
    reason: needTrailing(line, trailing),
  };
}

/**
 * Parses one line from the server. Throws `ParleyProtocolError` with code
 * `BAD_EVENT` for anything that is not an event; a client should ignore
 * (and may log) event kinds it does not know, so new ones can be added.
 */
export function decodeEvent(line: string): ServerEvent {
  const split = line.indexOf(' :');
  const head = split === -1 ? line : line.slice(0, split);
  const trailing = split === -1 ? undefined : line.slice(split + 2);
  const parts = head.split(' ');
  const kind = parts[0] ?? '';
  const args = parts.slice(1);
  if (args.some((a) => a.length === 0)) bad(line, 'empty argument');
  switch (kind) {
    case 'welcome': {
      expectArgs(line, args, 2);
      return { type: 'welcome', version: count(line, args[0]), nick: word(line, args[1]), text: needTrailing(line, trailing) };
    }
    case 'online': {
      const n = count(line, args[0]);
      if (trailing !== undefined || args.length !== n + 1) bad(line, 'online count does not match');
      return { type: 'online', nicks: args.slice(1) };
    }
    case 'joined':
      expectArgs(line, args, 1);
      if (trailing !== undefined) bad(line, 'unexpected text');
      return { type: 'joined', nick: word(line, args[0]) };
    case 'left': {
      expectArgs(line, args, 2);
      const reason = args[1] as LeaveReason;
      if (!LEAVE_REASONS.includes(reason)) bad(line, 'unknown leave reason');
      return { type: 'left', nick: word(line, args[0]), reason };
    }
    case 'broadcast':
    case 'private':
      return decodeMessage(line, kind, args, trailing);
    case 'history': {
      if (args[0] === 'end') {
        expectArgs(line, args, 4);
        if (trailing !== undefined) bad(line, 'unexpected text');
        const form = args[1] as HistoryForm;
        if (!HISTORY_FORMS.includes(form)) bad(line, 'unknown history form');
        if (args[3] !== 'more' && args[3] !== 'all') bad(line, 'expected more or all');
        return { type: 'history-end', form, count: count(line, args[2]), more: args[3] === 'more' };
      }
      const message = decodeMessage(line, args[0] ?? '', args.slice(1), trailing);
      if (message.id === undefined || message.time === undefined) bad(line, 'a history message needs an id and a time');
      return { type: 'history', message: { ...message, id: message.id, time: message.time } };
    }
    case 'sent':
      expectArgs(line, args, 2);
      if (trailing !== undefined) bad(line, 'unexpected text');
      return { type: 'sent', id: messageId(line, args[0]), time: messageTime(line, args[1]) };
    case 'ids':
      expectArgs(line, args, 1);
      if (trailing !== undefined || (args[0] !== 'on' && args[0] !== 'off')) bad(line, 'expected ids on or ids off');
      return { type: 'ids', on: args[0] === 'on' };
    case 'files': {
      const n = count(line, args[0]);
      if (trailing !== undefined || args.length !== 2 * n + 1) bad(line, 'files count does not match');
      const files: FileEntry[] = [];
      for (let i = 0; i < n; i++) {
        files.push({ name: decodeArg(word(line, args[1 + 2 * i])), size: count(line, args[2 + 2 * i]) });
      }
      return { type: 'files', files };
    }
    case 'offer': {
      // A 7th argument, the key, only on encrypted offers: a plain offer is the line it always was.
      if (args.length !== 7) expectArgs(line, args, 6);
      if (trailing !== undefined) bad(line, 'unexpected text');
      const sha256 = word(line, args[3]);
      const token = word(line, args[4]);
      if (!/^[0-9a-f]{64}$/u.test(sha256)) bad(line, 'sha256 must be 64 hex digits');
      if (!/^[0-9a-f]{32}$/u.test(token)) bad(line, 'token must be 32 hex digits');
      const udpPort = count(line, args[5]);
      if (udpPort < 1 || udpPort > 65535) bad(line, 'udp port out of range');
      const id = count(line, args[0]);
      if (id > 0xffffffff) bad(line, 'transfer id out of range');
      const offer = { type: 'offer', id, name: decodeArg(word(line, args[1])), size: count(line, args[2]), sha256, token, udpPort } as const;
      if (args.length === 6) return offer;
      const key = word(line, args[6]);
      if (!/^[0-9a-f]{64}$/u.test(key)) bad(line, 'key must be 64 hex digits');
      return { ...offer, key };
    }
    case 'error':
      expectArgs(line, args, 1);
      return { type: 'error', code: code(line, args[0]), text: needTrailing(line, trailing) };
    case 'ping':
      expectArgs(line, args, 1);
      if (trailing !== undefined) bad(line, 'unexpected text');
      return { type: 'ping', token: decodeArg(word(line, args[0])) };
    case 'bye':
      expectArgs(line, args, 1);
      return { type: 'bye', code: code(line, args[0]), text: needTrailing(line, trailing) };
    case 'info':
      expectArgs(line, args, 0);
      return { type: 'info', text: needTrailing(line, trailing) };
    case 'account': {
      expectArgs(line, args, 2);
      const state = args[0] as AccountState;
      if (!ACCOUNT_STATES.includes(state)) bad(line, 'unknown account state');
      return { type: 'account', state, nick: word(line, args[1]), text: needTrailing(line, trailing) };
    }
    case 'resume':
      expectArgs(line, args, 2);
      if (trailing !== undefined || !/^[0-9a-f]{64}$/u.test(args[0] ?? '')) bad(line, 'expected a 64-hex-digit token and a time');
      return { type: 'resume', token: args[0] as string, expires: messageTime(line, args[1]) };
    case 'waiting':
      expectArgs(line, args, 2);
      return { type: 'waiting', to: word(line, args[0]), count: count(line, args[1]), text: needTrailing(line, trailing) };
    case 'waited':
      expectArgs(line, args, 2);
      return { type: 'waited', from: word(line, args[0]), time: messageTime(line, args[1]), text: needTrailing(line, trailing) };
    case 'kicked':
      expectArgs(line, args, 2);
      return { type: 'kicked', nick: word(line, args[0]), by: word(line, args[1]), reason: needTrailing(line, trailing) };
    case 'banned': {
      expectArgs(line, args, 4);
      return { type: 'banned', ban: decodeBan(line, args, trailing) };
    }
    case 'unbanned':
      expectArgs(line, args, 3);
      if (trailing !== undefined) bad(line, 'unexpected text');
      return { type: 'unbanned', kind: banKind(line, args[0]), target: decodeArg(word(line, args[1])), by: word(line, args[2]) };
    case 'ban': {
      expectArgs(line, args, 5);
      const at = messageTime(line, args[3]);
      return { type: 'ban', ban: { ...decodeBan(line, [args[0] as string, args[1] as string, args[2] as string, args[4] as string], trailing), at } };
    }
    case 'bans':
      expectArgs(line, args, 1);
      if (trailing !== undefined) bad(line, 'unexpected text');
      return { type: 'bans', count: count(line, args[0]) };
    case 'upload':
    case 'shared':
    case 'unshared':
      return decodeShareEvent(
        kind,
        args,
        trailing,
        (why) => bad(line, why),
        (value) => count(line, value),
      );
    default:
      return bad(line, 'unknown event');
  }
}
