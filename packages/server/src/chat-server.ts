import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { eventFrame, nickKey, type ErrorCode } from '@parley/protocol';
import { AddressLimits, type AddressTicket } from './address-limits.js';
import type { ServerContext } from './context.js';
import type { DownloadService } from './downloads.js';
import type { Sharing } from './sharing/sharing.js';
import type { FileLibrary } from './file-library.js';
import { FlushScheduler } from './flush-scheduler.js';
import type { ChatHub } from './hub.js';
import type { Accounts } from './accounts/accounts.js';
import type { Moderation } from './accounts/moderation.js';
import type { WaitingMessages } from './accounts/waiting-messages.js';
import type { ModerationBus } from './accounts/moderation-bus.js';
import { enforceBan } from './moderation-commands.js';
import type { MessageStore } from './history/message-store.js';
import { InMemoryHub } from './memory-hub.js';
import { DEFAULT_CHAT_OPTIONS, type ChatOptions } from './options.js';
import { Session } from './session.js';
import { ServerStats } from './stats.js';
import type { TlsCredentials } from './tls-credentials.js';

/** How a client reached us: `plain` TCP, or TLS (downloads offered to it are then sealed). */
export type Transport = 'plain' | 'tls';

/** First byte of every TLS connection (a handshake record). */
const TLS_HANDSHAKE_RECORD = 0x16;
/** Time a connection to the TLS port has to send its first byte (a TLS client sends its hello at once). */
const TLS_FIRST_BYTE_MS = 10_000;

export interface ChatServerDeps {
  readonly files: FileLibrary;
  readonly log: Logger;
  readonly hub?: ChatHub;
  readonly downloads?: DownloadService;
  /** Where messages are kept (the caller opens and closes it); none = no history. */
  readonly history?: MessageStore;
  /** Registered nicknames (the caller opens and closes them); none = no accounts. */
  readonly accounts?: Accounts;
  /** Operators and bans (with accounts). */
  readonly moderation?: Moderation;
  /** Private messages waiting for offline accounts (with accounts). */
  readonly waiting?: WaitingMessages;
  /** Kicks, take-overs and bans between cluster nodes. */
  readonly bus?: ModerationBus;
  /** Sharing files (the caller starts and closes it); none = no sharing. */
  readonly sharing?: Sharing;
  readonly options?: Partial<ChatOptions>;
  readonly now?: () => number;
  /** Counters to fill (so a hub made before the server can report into them). */
  readonly stats?: ServerStats;
}

/**
 * The chat core. `handle(stream)` serves any duplex stream; `listen()` wires
 * it to TCP. `close()` tells every client, stops accepting and waits a bounded
 * time for them to go.
 */
export class ChatServer {
  readonly options: ChatOptions;
  readonly stats: ServerStats;
  readonly #sessions = new Set<Session>();
  readonly #ctx: ServerContext & { closing: boolean };
  readonly #limits: AddressLimits;
  /** Sessions without a nickname yet, oldest first (a Set keeps insertion order). */
  readonly #unjoined = new Set<Session>();
  #nextId = 1;
  #peak = 0;
  #tcp: Server | undefined;
  #tlsTcp: Server | undefined;
  #tls: TlsCredentials | undefined;
  /** Connections to the TLS port that have not sent their first byte yet, oldest first, with how to drop each. */
  readonly #tlsWaiting = new Map<Socket, () => void>();
  #sweeper: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  constructor(deps: ChatServerDeps) {
    this.options = { ...DEFAULT_CHAT_OPTIONS, ...deps.options };
    this.stats = deps.stats ?? new ServerStats();
    this.#ctx = {
      hub: deps.hub ?? new InMemoryHub(this.options.announceLimit, (kind, n) => this.stats.count(this.stats.eventsOut, kind, n)),
      files: deps.files,
      downloads: deps.downloads,
      history: deps.history,
      accounts: deps.accounts,
      moderation: deps.moderation,
      waiting: deps.waiting,
      sessions: () => this.#sessions,
      bus: deps.bus,
      sharing: deps.sharing,
      takeOver: (key, by) => {
        const text = 'your account logged in on another connection; this one is closed';
        this.#evict(key, 'LOGGED_IN_ELSEWHERE', text, by);
        return deps.bus ? this.#takeOverElsewhere(key, text) : undefined;
      },
      options: this.options,
      log: deps.log,
      stats: this.stats,
      scheduler: new FlushScheduler({}, deps.history ? () => deps.history?.commitPending() : undefined),
      now: deps.now ?? Date.now,
      closing: false,
    };
    deps.bus?.listen({
      evict: (key, code, text) => this.#evict(key, code, text),
      banChanged: (change) => {
        deps.moderation?.applyRemote(change);
        if (change.op === 'put') enforceBan(undefined, this.#ctx, change.ban);
      },
    });
    // `shared` to one user (a private share) and `unshared` to an owner, on this node.
    deps.sharing?.attachDelivery((key, event) => {
      for (const s of this.#sessions) if (s.key === key && s.state === 'joined') s.send(event);
    });
    this.#limits = new AddressLimits(this.options);
    const o = this.options;
    const every = Math.max(20, Math.min(1000, Math.min(o.joinTimeoutMs, o.pingIntervalMs, o.idleTimeoutMs) / 4));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  /** Closes this node's joined connection holding `key` (but `except`). */
  #evict(key: string, code: ErrorCode, text: string, except?: unknown): void {
    for (const s of this.#sessions) if (s !== except && s.key === key && s.state === 'joined') s.close('kicked', code, text);
  }

  /**
   * In a cluster the stale holder may be on another node: that node is told to
   * close it, and the login waits (at most 3 s) until the nickname is free.
   */
  async #takeOverElsewhere(key: string, text: string): Promise<void> {
    const held = (): boolean => {
      const online = this.#ctx.hub.online();
      return Array.isArray(online) && online.some((n) => nickKey(n) === key);
    };
    if (!held()) return;
    await this.#ctx.bus?.evict(key, 'LOGGED_IN_ELSEWHERE', text);
    for (let i = 0; i < 30 && held(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  get hub(): ChatHub {
    return this.#ctx.hub;
  }

  /** True until shutdown begins. */
  get accepting(): boolean {
    return !this.#ctx.closing && (this.#tcp?.listening === true || this.#tlsTcp?.listening === true);
  }

  /** The TLS certificate in use (undefined: no TLS listener). */
  get tls(): TlsCredentials | undefined {
    return this.#tls;
  }

  /** Clients connected now, named or not. */
  /** The most connections at once since the last call (then the count now): a sampler sees a burst it was too slow for. */
  takePeak(): number {
    const peak = Math.max(this.#peak, this.#sessions.size);
    this.#peak = this.#sessions.size;
    return peak;
  }

  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Serves one client over `stream`. `address` is the peer's IP, for the
   * per-address limits (a stream without one is not counted). Returns
   * undefined when the client was turned away.
   */
  handle(stream: Duplex, remote: string | (() => string) = 'stream', address?: string, transport: Transport = 'plain'): Session | undefined {
    this.stats.connectionsTotal += 1;
    if (this.#ctx.closing) return this.#turnAway(stream, 'SHUTDOWN', 'server is shutting down');
    const ticket = this.#limits.admit(address);
    if (!ticket.ok) return this.#turnAway(stream, 'TOO_MANY_CONNECTIONS', ticket.text);
    return this.#start(stream, remote, ticket, transport, address);
  }

  /** Starts a session for an admitted connection, making room among the unjoined if needed. */
  #start(stream: Duplex, remote: string | (() => string), ticket: AddressTicket, transport: Transport, address: string | undefined): Session | undefined {
    // Checked here, on the plain or the TLS stream alike, so a TLS client reads why it was turned away.
    const ban = this.#ctx.moderation?.match(undefined, address);
    if (ban && this.#ctx.moderation) {
      this.#ctx.moderation.stats.refusedConnections += 1;
      this.#limits.closed(ticket, false);
      const until = ban.until === undefined ? '' : ` until ${new Date(ban.until).toISOString()}`;
      return this.#turnAway(stream, 'BANNED', `your address is banned from this server${until}${ban.reason ? `: ${ban.reason}` : ''}`);
    }
    const o = this.options;
    if (this.#sessions.size >= o.maxClients || this.#unjoined.size >= o.maxUnjoined) {
      // Idle connections must not keep users out: the one waiting longest for its nickname makes room.
      const oldest = this.#unjoined.values().next().value;
      if (oldest) {
        oldest.close(
          'timeout',
          'JOIN_TIMEOUT',
          'the server is busy: connections waiting longest for a nickname make room for new ones; reconnect and send your nickname at once',
        );
      } else if (this.#sessions.size >= o.maxClients) {
        this.#limits.closed(ticket, false);
        return this.#turnAway(stream, 'SERVER_FULL', `server is full (${o.maxClients} users); try again later`);
      }
    }
    let joined = false;
    const session = new Session(
      `c${this.#nextId++}`,
      stream,
      this.#ctx,
      remote,
      (s) => {
        this.#sessions.delete(s);
        this.#unjoined.delete(s);
        this.#limits.closed(ticket, joined);
      },
      (s) => {
        joined = true;
        this.#unjoined.delete(s);
        this.#limits.joined(ticket);
      },
      transport,
      address,
    );
    this.#sessions.add(session);
    if (this.#sessions.size > this.#peak) this.#peak = this.#sessions.size;
    this.#unjoined.add(session);
    return session;
  }

  /** Says `bye <code>` to a connection that gets no session, and closes it. */
  #turnAway(stream: Duplex, code: ErrorCode, text: string): undefined {
    this.stats.count(this.stats.disconnects, code);
    stream.on('error', () => undefined);
    stream.end(eventFrame({ type: 'bye', code, text }));
    setTimeout(() => stream.destroy(), 2000).unref();
    return undefined;
  }

  /** Listens on TCP. Resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo> {
    // No TCP keepalive: the ping after `pingIntervalMs` of silence and the idle
    // timeout find dead peers already, and setting its socket options on every
    // accepted connection cost ≈ 30 µs here (≈ 10 % of admitting a user).
    const tcp = createServer({ noDelay: true, allowHalfOpen: true }, (socket: Socket) => {
      // The address is needed now for the per-address limits (≈ 1 µs: getpeername).
      const address = socket.remoteAddress;
      this.handle(socket, () => `${address ?? '?'}:${socket.remotePort ?? '?'}`, address);
    });
    tcp.maxConnections = this.options.maxClients + 64;
    this.#tcp = tcp;
    return listenOn(tcp, port, host, this.#ctx.log);
  }

  /**
   * Listens for TLS on `port`. The first byte decides: a TLS handshake record
   * goes on to the handshake (the session starts at once, so the join timeout
   * and the per-address limits cover the handshake too); anything else is a
   * plain-text client on the wrong port and gets one readable `bye` line saying
   * so. Counted by the per-address limits from the moment it connects.
   */
  listenTls(port: number, host: string, credentials: TlsCredentials): Promise<AddressInfo> {
    this.#tls = credentials;
    const tcp = createServer({ noDelay: true, allowHalfOpen: true }, (socket: Socket) => this.#acceptTls(socket, credentials));
    tcp.maxConnections = this.options.maxClients + 64;
    this.#tlsTcp = tcp;
    return listenOn(tcp, port, host, this.#ctx.log);
  }

  #acceptTls(socket: Socket, credentials: TlsCredentials): void {
    this.stats.connectionsTotal += 1;
    const address = socket.remoteAddress;
    const remote = (): string => `${address ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.#ctx.closing) {
      this.#turnAway(socket, 'SHUTDOWN', 'server is shutting down');
      return;
    }
    const ticket = this.#limits.admit(address);
    if (!ticket.ok) {
      this.#turnAway(socket, 'TOO_MANY_CONNECTIONS', ticket.text);
      return;
    }
    let settled = false;
    const giveUp = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#tlsWaiting.delete(socket);
      this.#limits.closed(ticket, false);
      socket.destroy();
    };
    // Silent connections count with those waiting for a nickname: past --max-unjoined the
    // one silent longest makes room, so many addresses cannot hold the TLS port with nothing.
    if (this.#tlsWaiting.size >= this.options.maxUnjoined) this.#tlsWaiting.values().next().value?.();
    this.#tlsWaiting.set(socket, giveUp);
    const timer = setTimeout(giveUp, Math.min(TLS_FIRST_BYTE_MS, this.options.joinTimeoutMs));
    timer.unref();
    socket.once('error', giveUp);
    socket.once('close', giveUp);
    socket.once('data', (first: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#tlsWaiting.delete(socket);
      socket.off('error', giveUp);
      socket.off('close', giveUp);
      socket.pause();
      if (first[0] !== TLS_HANDSHAKE_RECORD) {
        this.#limits.closed(ticket, false);
        this.stats.count(this.stats.tls, 'plain_text_on_tls_port');
        this.#turnAway(socket, 'TLS_REQUIRED', 'this port speaks TLS: connect with a TLS client (parley --tls, openssl s_client, ncat --ssl)');
        return;
      }
      // The byte read is given back: a TLSSocket first reads what its socket holds.
      socket.unshift(first);
      // node:tls is loaded only on a server that has a TLS port (≈ 16 ms of every start otherwise).
      const secure = new (process.getBuiltinModule('node:tls').TLSSocket)(socket, { isServer: true, secureContext: credentials.context, requestCert: false });
      let handshaken = false;
      secure.once('secure', () => {
        handshaken = true;
        this.stats.count(this.stats.tls, secure.getProtocol() ?? 'unknown');
      });
      secure.once('error', (err: NodeJS.ErrnoException) => {
        if (!handshaken) this.stats.count(this.stats.tls, 'handshake_failed');
        this.#ctx.log.debug({ err: err.code ?? err.message, remote: remote() }, 'TLS connection failed');
      });
      this.#start(secure, remote, ticket, 'tls', address);
    });
  }

  /**
   * Re-reads the TLS certificate and key (SIGHUP). Open connections keep going;
   * new ones get the new pair. On failure the old pair stays and the error says why.
   */
  reloadTls(): ReturnType<TlsCredentials['reload']> | undefined {
    return this.#tls?.reload();
  }

  get tlsAddress(): AddressInfo | undefined {
    return (this.#tlsTcp?.address() as AddressInfo | null) ?? undefined;
  }

  get address(): AddressInfo | undefined {
    return (this.#tcp?.address() as AddressInfo | null) ?? undefined;
  }

  #sweep(): void {
    const now = this.#ctx.now();
    for (const s of this.#sessions) s.tick(now);
  }

  /** Stops accepting, says `bye SHUTDOWN` to everyone, waits at most `graceMs`, then closes what is left. */
  close(graceMs = this.options.shutdownTimeoutMs): Promise<void> {
    this.#closed ??= this.#shutdown(graceMs);
    return this.#closed;
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#ctx.closing = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    const tcpClosed = Promise.all(
      [this.#tcp, this.#tlsTcp].map((server) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))),
    );
    const downloadsClosed = this.#ctx.downloads?.close(graceMs) ?? Promise.resolve();
    for (const s of [...this.#sessions]) s.close('shutdown', 'SHUTDOWN', 'server is shutting down');
    // Connections to the TLS port that never spoke have no session to tell: they are dropped.
    for (const drop of [...this.#tlsWaiting.values()]) drop();
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (await connectionCount(this.#tcp)) + (await connectionCount(this.#tlsTcp)) > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.race([Promise.all([tcpClosed, downloadsClosed]), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    await this.#ctx.hub.close();
  }
}

function connectionCount(server: Server | undefined): Promise<number> {
  if (!server) return Promise.resolve(0);
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
}

function listenOn(tcp: Server, port: number, host: string, log: Logger): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ port, host, backlog: 4096 }, () => {
      tcp.off('error', reject);
      tcp.on('error', (err) => log.error({ err }, 'tcp server error'));
      resolve(tcp.address() as AddressInfo);
    });
  });
}
