import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { eventFrame, type ErrorCode } from '@parley/protocol';
import { AddressLimits } from './address-limits.js';
import type { ServerContext } from './context.js';
import type { DownloadService } from './downloads.js';
import type { FileLibrary } from './file-library.js';
import { FlushScheduler } from './flush-scheduler.js';
import type { ChatHub } from './hub.js';
import type { MessageStore } from './history/message-store.js';
import { InMemoryHub } from './memory-hub.js';
import { DEFAULT_CHAT_OPTIONS, type ChatOptions } from './options.js';
import { Session } from './session.js';
import { ServerStats } from './stats.js';

export interface ChatServerDeps {
  readonly files: FileLibrary;
  readonly log: Logger;
  readonly hub?: ChatHub;
  readonly downloads?: DownloadService;
  /** Where messages are kept (the caller opens and closes it); none = no history. */
  readonly history?: MessageStore;
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
  #tcp: Server | undefined;
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
      options: this.options,
      log: deps.log,
      stats: this.stats,
      scheduler: new FlushScheduler({}, deps.history ? () => deps.history?.commitPending() : undefined),
      now: deps.now ?? Date.now,
      closing: false,
    };
    this.#limits = new AddressLimits(this.options);
    const o = this.options;
    const every = Math.max(20, Math.min(1000, Math.min(o.joinTimeoutMs, o.pingIntervalMs, o.idleTimeoutMs) / 4));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  get hub(): ChatHub {
    return this.#ctx.hub;
  }

  /** True until shutdown begins. */
  get accepting(): boolean {
    return !this.#ctx.closing && this.#tcp?.listening === true;
  }

  /** Clients connected now, named or not. */
  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Serves one client over `stream`. `address` is the peer's IP, for the
   * per-address limits (a stream without one is not counted). Returns
   * undefined when the client was turned away.
   */
  handle(stream: Duplex, remote: string | (() => string) = 'stream', address?: string): Session | undefined {
    this.stats.connectionsTotal += 1;
    if (this.#ctx.closing) return this.#turnAway(stream, 'SHUTDOWN', 'server is shutting down');
    const o = this.options;
    const ticket = this.#limits.admit(address);
    if (!ticket.ok) return this.#turnAway(stream, 'TOO_MANY_CONNECTIONS', ticket.text);
    if (this.#sessions.size >= o.maxClients || this.#unjoined.size >= o.maxUnjoined) {
      // Idle connections must not keep users out: the one waiting longest for its nickname makes room.
      const oldest = this.#unjoined.values().next().value;
      if (oldest) {
        oldest.close('timeout', 'JOIN_TIMEOUT', 'the server is busy: connections waiting longest for a nickname make room for new ones; reconnect and send your nickname at once');
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
    );
    this.#sessions.add(session);
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
    return new Promise((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port, host, backlog: 4096 }, () => {
        tcp.off('error', reject);
        tcp.on('error', (err) => this.#ctx.log.error({ err }, 'tcp server error'));
        resolve(tcp.address() as AddressInfo);
      });
    });
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
    const tcpClosed = new Promise<void>((resolve) => (this.#tcp ? this.#tcp.close(() => resolve()) : resolve()));
    const downloadsClosed = this.#ctx.downloads?.close(graceMs) ?? Promise.resolve();
    for (const s of [...this.#sessions]) s.close('shutdown', 'SHUTDOWN', 'server is shutting down');
    const deadline = Date.now() + graceMs;
    while (this.#tcp && Date.now() < deadline && (await connectionCount(this.#tcp)) > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.race([Promise.all([tcpClosed, downloadsClosed]), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    await this.#ctx.hub.close();
  }
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
}
