import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
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
import { parseFingerprint, type PeerCertificate, type TrustBasis, type TrustDecision } from './trust.js';

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
/** Answers to `login,<password>` that refuse it (PROTOCOL.md §2.4): the password is then asked again. */
export const LOGIN_ERRORS: ReadonlySet<ErrorCode> = new Set(['LOGIN_FAILED', 'LOGIN_THROTTLED', 'PASSWORD_NEEDS_TLS', 'ACCOUNTS_OFF']);

export interface ConnectionHandlers {
  /** The state changed; `detail` says why (e.g. "retrying in 2 s: ECONNREFUSED"). */
  onState?(state: LinkState, detail: string): void;
  /** Every server event (pings are answered before this is called). */
  onEvent?(event: ServerEvent): void;
  /** The server refused the nickname: call `chooseNick` with another. */
  onNickRefused?(code: ErrorCode, text: string, nick: string): void;
  /**
   * The nickname is registered (`NICK_REGISTERED`) and no password is kept, or
   * the kept one was refused (`refusal`: LOGIN_FAILED, LOGIN_THROTTLED,
   * PASSWORD_NEEDS_TLS, ACCOUNTS_OFF): call `login` with one, or `chooseNick`.
   */
  onPasswordNeeded?(nick: string, refusal: { readonly code: ErrorCode; readonly text: string } | undefined): void;
  /** Joined as `nick` (also after every reconnect). */
  onJoined?(nick: string, rejoined: boolean): void;
  /** A line from the server that is not an event (ignored). */
  onBadLine?(line: string, error: Error): void;
  /**
   * The server's certificate was not trusted (refused, or a person must be
   * asked): the connection is closed, nothing was sent, and it does not retry.
   */
  onUntrusted?(decision: Exclude<TrustDecision, { kind: 'trusted' }>): void;
}

/** TLS for the chat connection: verification against `ca` (or the system's CAs), then `verify` decides. */
export interface TlsSettings {
  /** PEM: the only CAs to trust (--ca); the system's CAs when absent. */
  readonly ca?: string | Buffer | undefined;
  /**
   * Decides about the server's certificate before a byte is sent or read.
   * `first` is true until this connection has been online once (a reconnect
   * must not ask a person again).
   */
  readonly verify: (peer: PeerCertificate, context: { readonly first: boolean }) => TrustDecision | Promise<TrustDecision>;
}

/** How the current connection is protected (for the status bar). */
export type Security = { readonly tls: false } | { readonly tls: true; readonly version: string; readonly basis: TrustBasis };

/** TLS 1.2 is the least the client accepts (the server's minimum too). */
export const TLS_MIN_VERSION = 'TLSv1.2';

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
  /** Opens the socket (tests may replace it). Not used with `tls`. */
  readonly connect?: (host: string, port: number) => Socket;
  /** Speak TLS: every attempt, reconnects included, is TLS and verified; never plain. */
  readonly tls?: TlsSettings;
  /**
   * The password for a registered `nick`, sent as `login,<password>` when the
   * server answers NICK_REGISTERED. Kept in memory only, for this session's
   * reconnects; see `login`.
   */
  readonly password?: string;
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
  /**
   * The password of the account `#nick`, kept in memory only (never logged,
   * never written) so a reconnect logs in again by itself. Dropped when it is
   * refused, when the nickname changes, and on `unregister`.
   */
  #password: string | undefined;
  /** A password sent in register/password, kept once the server confirms it (`account registered|password-changed`). */
  #pendingPassword: string | undefined;
  /** The server asked for the password and it has not been sent yet. */
  #awaitingPassword = false;
  /**
   * The account's last resume token (PROTOCOL.md §2.4), in memory only: a
   * reconnect logs in with it (one SHA-256 on the server, not a 0.3 s password
   * hash) and falls back to the kept password when it is refused.
   */
  #resumeToken: string | undefined;
  /** The last login sent was a resume token (a refusal then falls back to the password). */
  #triedToken = false;
  #security: Security | undefined;
  /** Why the certificate was not trusted (the connection then stays closed). */
  #untrusted: string | undefined;

  constructor(options: ConnectionOptions, handlers: ConnectionHandlers = {}) {
    this.host = options.host;
    this.port = options.port;
    this.#o = options;
    this.#h = handlers;
    this.#nick = options.nick;
    this.#password = options.password;
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

  /** How the current (or last) connection is protected; undefined before one is established. */
  get security(): Security | undefined {
    return this.#security;
  }

  /** Whether this connection speaks TLS (decided at construction, kept across reconnects). */
  get tls(): boolean {
    return this.#o.tls !== undefined;
  }

  start(): void {
    this.#stopped = false;
    this.#open();
  }

  /** Sends a nickname (first one, or another after a refusal). */
  chooseNick(nick: string): void {
    this.#nick = nick.trim();
    this.#password = undefined;
    this.#resumeToken = undefined;
    this.#awaitingPassword = false;
    this.#rejoinRefusals = 0;
    this.#awaitingNick = false;
    if (this.#state === 'naming') this.#write(this.#nick);
  }

  /** Whether the server is waiting for the password of the registered nickname (see `onPasswordNeeded`). */
  get awaitingPassword(): boolean {
    return this.#awaitingPassword;
  }

  /** Whether a password is kept for reconnects. */
  get hasPassword(): boolean {
    return this.#password !== undefined;
  }

  /**
   * Logs in to the registered nickname with `password` (sent now if the server
   * is waiting for it) and keeps it in memory for reconnects.
   */
  login(password: string): void {
    this.#password = password;
    if (this.#state === 'naming' && this.#awaitingPassword) {
      this.#awaitingPassword = false;
      this.#write(encodeCommand({ type: 'login', password }));
    }
  }

  /** Sends a command when joined. Returns false (nothing sent) otherwise. */
  send(command: Command): boolean {
    if (this.#state !== 'online') return false;
    // The password a register/password change sets is kept once the server confirms it.
    if (command.type === 'register') this.#pendingPassword = command.password;
    else if (command.type === 'password') this.#pendingPassword = command.new;
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
    this.#awaitingPassword = false;
    this.#pendingPassword = undefined;
    this.#security = undefined;
    this.#untrusted = undefined;
    this.#setState('connecting', `${this.host}:${this.port}${this.#o.tls ? ' (TLS)' : ''}`);
    const tls = this.#o.tls;
    const socket: Socket = tls
      ? // node:tls (and with it node:crypto) is loaded only for a TLS connection: a plain scripted command starts without it.
        process.getBuiltinModule('node:tls').connect({
          host: this.host,
          port: this.port,
          // SNI takes a name, never an address (RFC 6066 §3).
          ...(isIP(this.host) === 0 ? { servername: this.host } : {}),
          ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
          minVersion: TLS_MIN_VERSION,
          // Verification still runs (authorized / authorizationError); the trust decision is ours, before anything is sent.
          rejectUnauthorized: false,
        })
      : this.#o.connect
        ? this.#o.connect(this.host, this.port)
        : tcpConnect({ host: this.host, port: this.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const connectTimer = setTimeout(
      () => socket.destroy(new Error(tls ? 'connection or TLS handshake timed out' : 'connection timed out')),
      this.#o.connectTimeoutMs ?? 10_000,
    );
    let failure = '';
    const ready = (): void => {
      this.#connected = true;
      this.#everConnected = true;
      this.#setState('naming', '');
      // Lines are read only from here on: before the certificate is trusted, nothing is read or sent.
      socket.on('data', (chunk: Buffer) => {
        if (socket !== this.#socket) return;
        for (const r of this.#decoder.push(chunk)) {
          if (r.ok) this.#line(r.line);
          else this.#h.onBadLine?.('', r.error);
        }
      });
      // After a refusal, wait for the user's choice even across a reconnect.
      if (this.#nick && !this.#awaitingNick) this.#write(this.#nick);
    };
    if (tls) {
      socket.once('secureConnect', () => {
        clearTimeout(connectTimer);
        if (socket !== this.#socket) return;
        void this.#verify(socket as TLSSocket, tls, ready);
      });
    } else {
      socket.once('connect', () => {
        clearTimeout(connectTimer);
        if (socket !== this.#socket) return;
        this.#security = { tls: false };
        ready();
      });
    }
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure =
        tls && (err.code ?? '').startsWith('ERR_SSL_')
          ? `TLS handshake failed (${err.code ?? ''}): is ${this.host}:${this.port} the server's TLS port?`
          : (err.code ?? err.message);
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (socket !== this.#socket) return;
      this.#lost(failure);
    });
  }

  async #verify(socket: TLSSocket, tls: TlsSettings, ready: () => void): Promise<void> {
    let decision: TrustDecision;
    try {
      const cert = socket.getPeerX509Certificate();
      const fingerprint = cert ? parseFingerprint(cert.fingerprint256) : undefined;
      if (!fingerprint) throw new Error('the server sent no certificate');
      const peer: PeerCertificate = { authorized: socket.authorized, authorizationError: socket.authorizationError?.toString(), fingerprint };
      decision = await tls.verify(peer, { first: !this.#joinedOnce });
    } catch (err) {
      if (socket !== this.#socket) return;
      this.#untrusted = `cannot check the certificate: ${(err as Error).message}`;
      this.#stopped = true;
      socket.destroy();
      return;
    }
    if (socket !== this.#socket || socket.destroyed) return;
    if (decision.kind !== 'trusted') {
      this.#untrusted = decision.kind === 'ask' ? 'the certificate is not trusted yet' : `certificate refused [${decision.code}]`;
      this.#stopped = true;
      socket.destroy();
      this.#h.onUntrusted?.(decision);
      return;
    }
    this.#security = { tls: true, version: socket.getProtocol() ?? 'TLS', basis: decision.basis };
    ready();
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
      case 'account':
        if (event.state === 'registered' || event.state === 'password-changed') {
          if (this.#pendingPassword !== undefined) this.#password = this.#pendingPassword;
        } else if (event.state === 'unregistered') {
          this.#password = undefined;
          this.#resumeToken = undefined;
        }
        this.#pendingPassword = undefined;
        break;
      case 'error':
        if (this.#state === 'naming' && (event.code === 'NICK_REGISTERED' || LOGIN_ERRORS.has(event.code))) {
          // Not passed on as an event: the server's text is for nc users ("send login,<password>"); the handler says what to do.
          this.#needPassword(event.code === 'NICK_REGISTERED' ? undefined : { code: event.code, text: event.text });
          return;
        }
        if (
          this.#state === 'online' &&
          (event.code === 'PASSWORD_REJECTED' || event.code === 'NOT_LOGGED_IN' || event.code === 'LOGIN_FAILED' || event.code === 'ACCOUNT_EXISTS')
        ) {
          this.#pendingPassword = undefined;
        }
        if (this.#state === 'naming' && NICK_ERRORS.has(event.code)) {
          this.#h.onEvent?.(event);
          this.#refused(event.code, event.text);
          return;
        }
        break;
      case 'bye':
        this.#lastBye = { code: event.code, text: event.text };
        break;
      case 'resume':
        // A secret: kept here, never passed on (nothing shows, logs or stores it).
        this.#resumeToken = event.token;
        return;
      default:
        break;
    }
    this.#h.onEvent?.(event);
  }

  #needPassword(refusal: { readonly code: ErrorCode; readonly text: string } | undefined): void {
    // A resume token first (cheap for the server); refused, the kept password; refused too, ask.
    if (refusal === undefined && this.#resumeToken !== undefined) {
      this.#write(encodeCommand({ type: 'resume', token: this.#resumeToken }));
      this.#resumeToken = undefined;
      this.#triedToken = true;
      return;
    }
    const afterToken = this.#triedToken;
    this.#triedToken = false;
    if (afterToken && refusal?.code === 'LOGIN_FAILED' && this.#password !== undefined) {
      this.#write(encodeCommand({ type: 'login', password: this.#password }));
      return;
    }
    // A kept password (given at the start, or typed before a reconnect) logs in by itself, once.
    if (refusal === undefined && this.#password !== undefined) {
      this.#write(encodeCommand({ type: 'login', password: this.#password }));
      return;
    }
    this.#password = undefined;
    this.#awaitingPassword = true;
    this.#h.onPasswordNeeded?.(this.#nick ?? '', refusal);
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
    const hint = bye?.code === 'TLS_REQUIRED' ? `; connect with --tls (or tls://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port})` : '';
    const why = this.#untrusted ?? (bye ? `${bye.text} [${bye.code}]${hint}` : failure ? failure : 'connection closed');
    // Retrying cannot help after these: we quit, we flooded, or this port wants TLS (and we never switch to it by ourselves).
    // LOGGED_IN_ELSEWHERE: the account's owner logged in on another connection; coming back would take it over in turn.
    if (
      this.#stopped ||
      this.#quitting ||
      !mayRetry ||
      bye?.code === 'QUIT' ||
      bye?.code === 'FLOOD' ||
      bye?.code === 'TLS_REQUIRED' ||
      bye?.code === 'LOGGED_IN_ELSEWHERE'
    ) {
      this.#setState('closed', why);
      return;
    }
    const delay = this.#backoff.next();
    this.#setState('reconnecting', `${why}; retrying in ${delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}`);
    this.#timer = setTimeout(() => this.#open(), delay);
  }
}
