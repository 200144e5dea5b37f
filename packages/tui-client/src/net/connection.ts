import { connect as tcpConnect, type Socket } from 'node:net';
import {
  decodeEvent,
  DEFAULT_MAX_EVENT_LINE_BYTES,
  encodeCommand,
  LineDecoder,
  ParleyProtocolError,
  type Command,
  type ErrorCode,
  type ServerEvent,
} from '@parley/protocol';
import { Backoff, type BackoffOptions } from './backoff.js';

export type LinkState =
  /** Opening the TCP connection. */
  | 'connecting'
  /** Connected; waiting for a nickname to be accepted. */
  | 'naming'
  /** Joined the chat. */
  | 'online'
  /** Lost the connection; a new attempt is scheduled. */
  | 'reconnecting'
  /** Finished: quit, closed, or gave up. */
  | 'closed';

export const NICK_ERRORS: ReadonlySet<ErrorCode> = new Set(['NICK_TAKEN', 'NICK_INVALID', 'NICK_RESERVED']);

export interface ConnectionHandlers {
  /** The state changed; `detail` says why (e.g. "retrying in 2 s: ECONNREFUSED"). */
  onState?(state: LinkState, detail: string): void;
  /** Every server event (pings are answered before this is called). */
  onEvent?(event: ServerEvent): void;
  /** The server refused the nickname: call `chooseNick` with another. */
  onNickRefused?(code: ErrorCode, text: string, nick: string): void;
  /** Joined as `nick` (also after every reconnect). */
  onJoined?(nick: string, rejoined: boolean): void;
  /** A line from the server that is not an event (ignored). */
  onBadLine?(line: string, error: Error): void;
}

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** The nickname to join with; without it, the connection waits for `chooseNick`. */
  readonly nick?: string;
  /** Reconnect when the connection is lost (default true). */
  readonly reconnect?: boolean;
  /** Also retry when the very first connection fails (default: same as reconnect). */
  readonly retryFirst?: boolean;
  readonly backoff?: BackoffOptions;
  /** Give up a TCP connect after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Times a rejoin may find our own old session still holding the nick before asking the user (default 5). */
  readonly rejoinNickRetries?: number;
  readonly maxLineBytes?: number;
  /** Opens the socket (tests may replace it). */
  readonly connect?: (host: string, port: number) => Socket;
}

/**
 * The client's side of a chat connection: TCP, line framing, ping→pong, the
 * nickname exchange, and reconnecting with backoff under the same nickname.
 */
export class Connection {
  readonly host: string;
  readonly port: number;
  readonly #o: ConnectionOptions;
  readonly #h: ConnectionHandlers;
  readonly #backoff: Backoff;
  #socket: Socket | undefined;
  #decoder: LineDecoder;
  #state: LinkState = 'closed';
  #nick: string | undefined;
  #joinedOnce = false;
  #rejoinRefusals = 0;
  #stopped = false;
  #quitting = false;
  #lastBye: { code: ErrorCode; text: string } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #connected = false;
  #everConnected = false;
  /** The server refused our nick and the user has not chosen another yet. */
  #awaitingNick = false;

  constructor(options: ConnectionOptions, handlers: ConnectionHandlers = {}) {
    this.host = options.host;
    this.port = options.port;
    this.#o = options;
    this.#h = handlers;
    this.#nick = options.nick;
    this.#backoff = new Backoff(options.backoff);
    this.#decoder = new LineDecoder({ maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_EVENT_LINE_BYTES });
  }

  get state(): LinkState {
    return this.#state;
  }

  /** The nickname we joined (or are trying to join) with. */
  get nick(): string | undefined {
    return this.#nick;
  }

  get lastBye(): { code: ErrorCode; text: string } | undefined {
    return this.#lastBye;
  }

  start(): void {
    this.#stopped = false;
    this.#open();
  }

  /** Sends a nickname (first one, or another after a refusal). */
  chooseNick(nick: string): void {
    this.#nick = nick.trim();
    this.#rejoinRefusals = 0;
    this.#awaitingNick = false;
    if (this.#state === 'naming') this.#write(this.#nick);
  }

  /** Sends a command when joined. Returns false (nothing sent) otherwise. */
  send(command: Command): boolean {
    if (this.#state !== 'online') return false;
    return this.#write(encodeCommand(command));
  }

  /** Says `exit` and waits (at most `timeoutMs`) for the server to close. No reconnect after this. */
  quit(timeoutMs = 1500): Promise<void> {
    this.#quitting = true;
    this.#stopped = true;
    this.#clearTimer();
    const socket = this.#socket;
    if (!socket || !this.#connected) {
      this.#setState('closed', 'quit');
      socket?.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => socket.destroy(), timeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.#state === 'online') this.#write('exit');
      else socket.end();
    });
  }

  /** Closes at once, without telling the server and without reconnecting. */
  close(): void {
    this.#stopped = true;
    this.#clearTimer();
    this.#socket?.destroy();
    this.#setState('closed', 'closed');
  }

  #setState(state: LinkState, detail = ''): void {
    this.#state = state;
    this.#h.onState?.(state, detail);
  }

  #write(line: string): boolean {
    const s = this.#socket;
    if (!s || !this.#connected || s.destroyed) return false;
    s.write(`${line}\n`);
    return true;
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(): void {
    this.#clearTimer();
    this.#decoder.reset();
    this.#connected = false;
    this.#lastBye = undefined;
    this.#setState('connecting', `${this.host}:${this.port}`);
    const socket = this.#o.connect ? this.#o.connect(this.host, this.port) : tcpConnect({ host: this.host, port: this.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const connectTimer = setTimeout(() => socket.destroy(new Error('connection timed out')), this.#o.connectTimeoutMs ?? 10_000);
    let failure = '';
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      if (socket !== this.#socket) return;
      this.#connected = true;
      this.#everConnected = true;
      this.#setState('naming', '');
      // After a refusal, wait for the user's choice even across a reconnect.
      if (this.#nick && !this.#awaitingNick) this.#write(this.#nick);
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.#socket) return;
      for (const r of this.#decoder.push(chunk)) {
        if (r.ok) this.#line(r.line);
        else this.#h.onBadLine?.('', r.error);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure = err.code ?? err.message;
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (socket !== this.#socket) return;
      this.#lost(failure);
    });
  }

  #line(line: string): void {
    let event: ServerEvent;
    try {
      event = decodeEvent(line);
    } catch (err) {
      if (err instanceof ParleyProtocolError) {
        this.#h.onBadLine?.(line, err);
        return;
      }
      throw err;
    }
    switch (event.type) {
      case 'ping':
        this.#write(encodeCommand({ type: 'pong', token: event.token }));
        break;
      case 'welcome': {
        const rejoined = this.#joinedOnce;
        this.#nick = event.nick;
        this.#joinedOnce = true;
        this.#rejoinRefusals = 0;
        this.#backoff.reset();
        this.#setState('online', '');
        this.#h.onEvent?.(event);
        this.#h.onJoined?.(event.nick, rejoined);
        return;
      }
      case 'error':
        if (this.#state === 'naming' && NICK_ERRORS.has(event.code)) {
          this.#h.onEvent?.(event);
          this.#refused(event.code, event.text);
          return;
        }
        break;
      case 'bye':
        this.#lastBye = { code: event.code, text: event.text };
        break;
      default:
        break;
    }
    this.#h.onEvent?.(event);
  }

  #refused(code: ErrorCode, text: string): void {
    const nick = this.#nick ?? '';
    // After a reconnect our old session may still hold the nick for a moment: try it again.
    if (code === 'NICK_TAKEN' && this.#joinedOnce && this.#rejoinRefusals < (this.#o.rejoinNickRetries ?? 5)) {
      this.#rejoinRefusals++;
      const delay = this.#backoff.next();
      this.#h.onState?.('naming', `${nick} is still taken; trying again in ${Math.ceil(delay / 1000)} s`);
      this.#timer = setTimeout(() => {
        if (this.#state === 'naming' && this.#nick) this.#write(this.#nick);
      }, delay);
      return;
    }
    this.#awaitingNick = true;
    this.#h.onNickRefused?.(code, text, nick);
  }

  #lost(failure: string): void {
    this.#connected = false;
    const bye = this.#lastBye;
    const mayRetry = this.#everConnected ? (this.#o.reconnect ?? true) : (this.#o.retryFirst ?? this.#o.reconnect ?? true);
    const why = bye ? `${bye.text} [${bye.code}]` : failure ? failure : 'connection closed';
    if (this.#stopped || this.#quitting || !mayRetry || bye?.code === 'QUIT' || bye?.code === 'FLOOD') {
      this.#setState('closed', why);
      return;
    }
    const delay = this.#backoff.next();
    this.#setState('reconnecting', `${why}; retrying in ${delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}`);
    this.#timer = setTimeout(() => this.#open(), delay);
  }
}
