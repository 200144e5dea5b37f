import { nickFold, nickKey, sameNick, type Command, type FileEntry, type MessageEvent, type ServerEvent } from '@parley/protocol';
import { formatBytes } from './format.js';
import { MessageLog, type Message, type MessageKind } from './messages.js';
import { TransferTable } from './transfers.js';
import { HistorySync } from './history-sync.js';

/** Shown below the history replayed on join, and above what was missed while away. */
export const EARLIER_MARKER = '— earlier —';
export const MISSED_MARKER = '— missed while away —';

export type ConnectionState = 'idle' | 'connecting' | 'naming' | 'online' | 'reconnecting' | 'closed';

export interface ChatModelOptions {
  readonly now?: () => number;
  readonly messageLimit?: number;
}

/** What applying a server event asks of the screen. */
export interface Effects {
  /** Ring the terminal bell (a mention of our nick or a private message). */
  readonly bell?: boolean;
  /** A command to send now (the next page of a catch-up). */
  readonly send?: Command;
}

/** True when `text` mentions `nick` as a word (case-insensitive). */
export function mentions(text: string, nick: string): boolean {
  if (!nick) return false;
  const key = nickKey(nick);
  const words = nickKey(text).split(/[^\p{L}\p{M}\p{N}_\-.[\]{}|^`]+/u);
  return words.some((w) => w === key || w.replace(/[.-]+$/u, '') === key);
}

/**
 * All the client's state as plain data: the conversation, who is online, the
 * server's files, downloads and the connection. Server events go in through
 * `apply`; the screen only draws what is here.
 */
export class ChatModel {
  readonly messages: MessageLog;
  readonly transfers = new TransferTable();
  readonly now: () => number;
  me = '';
  server = '';
  state: ConnectionState = 'idle';
  /** Why the connection is in its state (e.g. "retrying in 4 s"). */
  stateDetail = '';
  /** How the connection is protected, for the status bar: `plain`, `TLS`, `TLS 1.3 · pinned`; '' before a server is chosen. */
  security = '';
  /**
   * The account of `me` on this connection, for the status bar: '' before a
   * welcome, 'guest' (a nickname nobody registered, or not logged in),
   * 'registered' (logged in to the account, or just registered it).
   */
  account: '' | 'guest' | 'registered' = '';
  users: string[] = [];
  files: FileEntry[] = [];
  /** Set when the user asked for a list, so the answer is also printed. */
  showNextOnline = false;
  showNextFiles = false;
  version = 0;
  /** The protocol version in the last `welcome`. */
  serverVersion = 0;
  readonly history = new HistorySync();
  /** Older messages of a `history,before` answer, put above everything at its end. */
  #older: Omit<Message, 'id'>[] = [];

  constructor(options: ChatModelOptions = {}) {
    this.now = options.now ?? Date.now;
    this.messages = new MessageLog({ limit: options.messageLimit });
  }

  add(kind: MessageKind, text: string, extra: Partial<Pick<Message, 'from' | 'to' | 'mention' | 'earlier' | 'at'>> = {}): Message {
    this.version++;
    return this.messages.add({ at: this.now(), kind, text, ...extra });
  }

  system(text: string): Message {
    return this.add('system', text);
  }

  setState(state: ConnectionState, detail = ''): void {
    this.state = state;
    this.stateDetail = detail;
    this.version++;
  }

  /** The online nick that `name` refers to (case-insensitive), if any. */
  onlineNick(name: string): string | undefined {
    return this.users.find((u) => sameNick(u, name));
  }

  isOnline(name: string): boolean {
    return this.onlineNick(name) !== undefined;
  }

  /** Our own broadcast, shown because the server does not echo it. */
  echoBroadcast(text: string): void {
    this.add('own', text, { from: this.me });
    this.history.sentOwn();
  }

  echoPrivate(to: string, text: string): void {
    this.add('private-out', text, { from: this.me, to });
    this.history.sentOwn();
  }

  /** A stored message as the conversation shows it (our own lines as ours). */
  #stored(m: MessageEvent & { readonly time: string }, earlier: boolean): Omit<Message, 'id'> {
    const at = Date.parse(m.time);
    const base = { at: Number.isNaN(at) ? this.now() : at, text: m.text, earlier };
    if (m.type === 'broadcast') return { ...base, kind: sameNick(m.from, this.me) ? 'own' : 'chat', from: m.from };
    if (sameNick(m.from, this.me) && !sameNick(m.to, this.me)) return { ...base, kind: 'private-out', from: m.from, to: m.to };
    return { ...base, kind: 'private-in', from: m.from, to: m.to };
  }

  apply(event: ServerEvent): Effects {
    this.version++;
    const step = this.history.step(event);
    switch (step.kind) {
      case 'skip':
        return {};
      case 'earlier': {
        this.version++;
        this.messages.add(this.#stored(step.message, true));
        return {};
      }
      case 'older':
        this.#older.push(this.#stored(step.message, true));
        return {};
      case 'missed':
        // Shown once, in order, after a marker; never rings (it is not news to the server, only to us).
        if (step.first) this.system(MISSED_MARKER);
        this.messages.add(this.#stored(step.message, false));
        return {};
      case 'end':
        if (step.earlier) this.system(EARLIER_MARKER);
        if (this.#older.length > 0) {
          this.messages.prepend(this.#older);
          this.#older = [];
        } else if (step.form === 'before' && step.count === 0) {
          this.system('no earlier messages');
        }
        return step.send ? { send: step.send } : {};
      case 'live':
      case 'live-stamped':
        break;
    }
    switch (event.type) {
      case 'welcome':
        this.serverVersion = event.version;
        this.me = event.nick;
        // A login's `account identified` follows the welcome.
        this.account = 'guest';
        this.add('info', event.text);
        return {};
      case 'account':
        this.account = event.state === 'unregistered' ? 'guest' : 'registered';
        this.system(`account ${event.state}: ${event.text}`);
        return {};
      case 'online':
        this.users = sortNicks(event.nicks);
        if (this.showNextOnline) {
          this.showNextOnline = false;
          this.system(`online (${event.nicks.length}): ${this.users.join(', ')}`);
        }
        return {};
      case 'joined':
        if (!this.isOnline(event.nick)) this.users = sortNicks([...this.users, event.nick]);
        if (!sameNick(event.nick, this.me)) this.add('join', `${event.nick} joined`, { from: event.nick });
        return {};
      case 'left':
        this.users = this.users.filter((u) => !sameNick(u, event.nick));
        this.add('leave', `${event.nick} left (${event.reason})`, { from: event.nick });
        return {};
      case 'broadcast': {
        const mention = mentions(event.text, this.me);
        this.add('chat', event.text, { from: event.from, mention });
        return { bell: mention };
      }
      case 'private':
        if (sameNick(event.from, this.me) && !sameNick(event.to, this.me)) {
          this.echoPrivate(event.to, event.text);
          return {};
        }
        this.add('private-in', event.text, { from: event.from, to: event.to });
        return { bell: true };
      case 'files':
        this.files = [...event.files].sort((a, b) => a.name.localeCompare(b.name));
        if (this.showNextFiles) {
          this.showNextFiles = false;
          this.system(
            event.files.length === 0
              ? 'no files on the server'
              : `files (${event.files.length}): ${this.files.map((f) => `${f.name} (${formatBytes(f.size)})`).join(', ')}`,
          );
        }
        return {};
      case 'error':
        this.add('error', `${event.text} [${event.code}]`);
        return {};
      case 'bye':
        this.add('error', `server: ${event.text} [${event.code}]`);
        return {};
      case 'info':
        this.add('info', event.text);
        return {};
      case 'waiting':
        this.system(`${event.to} is offline: your message waits for them (${event.count} waiting)`);
        return {};
      case 'waited': {
        // Sent while we were away: a private message all the same (it rings), marked with when it was sent.
        const at = Date.parse(event.time);
        this.add('private-in', `${event.text}  (sent ${formatWhen(at)} while you were away)`, { from: event.from, to: this.me });
        return { bell: true };
      }
      case 'kicked':
        this.system(`${event.by} kicked ${event.nick}${event.reason ? `: ${event.reason}` : ''}`);
        return {};
      case 'banned': {
        const b = event.ban;
        const what = b.kind === 'nick' ? b.target : 'an address';
        this.system(`${b.by} banned ${what}${b.until ? ` until ${b.until}` : ''}${b.reason ? `: ${b.reason}` : ''}`);
        return {};
      }
      case 'unbanned':
        this.system(`${event.by} lifted the ban on ${event.kind === 'nick' ? event.target : 'an address'}`);
        return {};
      case 'ban': {
        const b = event.ban;
        this.system(`ban: ${b.kind} ${b.target} by ${b.by} since ${b.at}${b.until ? ` until ${b.until}` : ' until lifted'}${b.reason ? `: ${b.reason}` : ''}`);
        return {};
      }
      case 'bans':
        this.system(event.count === 0 ? 'no bans in force' : `${event.count} ban${event.count === 1 ? '' : 's'} in force`);
        return {};
      case 'shared': {
        const mine = sameNick(event.from, this.me);
        const who = mine ? 'you' : event.from;
        const whom = event.to === undefined ? '' : sameNick(event.to, this.me) ? ' with you' : ` with ${event.to}`;
        const how = mine ? '' : ` — /download ${event.name}`;
        this.system(`${who} shared ${event.name} (${formatBytes(event.size)})${whom}${how}`);
        return { bell: !mine && event.to !== undefined };
      }
      case 'unshared':
        this.system(`${event.name} is no longer shared (${event.reason})`);
        return {};
      case 'upload':
      case 'offer':
      case 'ping':
      // Kept by the connection, never shown.
      case 'resume':
      // Protocol 2 history lines: not shown yet (the client part of issue 15 comes later).
      case 'history':
      case 'history-end':
      case 'sent':
      case 'ids':
        return {};
    }
  }
}

/** `2026-12-06 18:05 UTC`: when a waiting message was sent. */
function formatWhen(at: number): string {
  if (Number.isNaN(at)) return 'earlier';
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function sortNicks(nicks: readonly string[]): string[] {
  // By case-folded name, as the server sorts `online` (nickKey is a confusable skeleton: not for display order).
  return [...nicks].sort((a, b) => nickFold(a).localeCompare(nickFold(b)));
}
