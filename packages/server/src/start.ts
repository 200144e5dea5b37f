import type { Logger } from 'pino';
import { ChatServer } from './chat-server.js';
import type { DownloadService } from './downloads.js';
import { FileLibrary } from './file-library.js';
import type { OpsServer } from './ops-server.js';
import type { ChatHub } from './hub.js';
import { DEFAULT_CHAT_OPTIONS, type ChatOptions } from './options.js';
import { ServerStats } from './stats.js';
import { TransferServer, UploadService } from '@parley/udp-transfer';
import { Sharing } from './sharing/sharing.js';
import type { ShareConfig } from './sharing/share-options.js';
import { bindWithFallback } from './listen-address.js';
import type { TlsCredentials } from './tls-credentials.js';
import { SqliteStore } from './history/sqlite-store.js';
import type { HistoryStats, MessageStore } from './history/message-store.js';
import { Accounts } from './accounts/accounts.js';
import { SqliteAccountStore } from './accounts/account-store.js';
import { Moderation } from './accounts/moderation.js';
import { startMemoryGiveBack } from './memory-give-back.js';
import { SqliteBanStore, SqliteTokenStore, SqliteWaitingStore, type BanStore, type WaitingStore } from './accounts/moderation-store.js';
import { DEFAULT_RESUME_TOKENS, ResumeTokens, type TokenStore } from './accounts/resume-tokens.js';
import type { AccountStore } from './accounts/account-store.js';
import type { RedisAccountData } from './accounts/redis-account-data.js';
import { WaitingMessages, type WaitingLimits } from './accounts/waiting-messages.js';

export interface ServerConfig {
  readonly host: string;
  /** Plain-text chat port; 0 = any free port, -1 = no plain-text listener. */
  readonly port: number;
  /** A TLS listener (same line protocol) on `port`, with these credentials; undefined = no TLS. */
  readonly tls?: { readonly port: number; readonly credentials: TlsCredentials };
  readonly udpHost: string;
  /** 0 = any free port; -1 = downloads switched off. */
  readonly udpPort: number;
  /** Caps on downloads (defaults: 4 per user, 8 per address, 256 in all; see TransferServerOptions). */
  readonly downloads?: { readonly maxTransfersPerOwner?: number; readonly maxTransfersPerAddress?: number; readonly maxTransfers?: number };
  readonly filesDir: string;
  readonly options: Partial<ChatOptions>;
  readonly hub?: ChatHub;
  /** Several nodes as one chat through Redis (`--cluster redis://…`); undefined = single node, in memory. */
  readonly cluster?: {
    readonly url: string;
    readonly nodeId?: string;
    readonly leaseMs?: number;
    readonly heartbeatMs?: number;
    /** `stream` (default; history lives in Redis Streams) or `pubsub` (the at-most-once path, no history). */
    readonly delivery?: 'stream' | 'pubsub';
  };
  /** Operations endpoint (/healthz, /readyz, /metrics); undefined = off. */
  readonly ops?: { readonly host: string; readonly port: number };
  /** Message history in an SQLite database in `dir` (`--data-dir`), or in Redis Streams for a cluster; undefined = off (`--history off`). */
  readonly history?: { readonly dir: string; readonly maxMessages: number; readonly maxAgeMs: number; readonly privateGraceMs: number };
  /** Registered nicknames in an SQLite database in `dir` (`--data-dir`); undefined = off (`--accounts off`). Single node only for now. */
  readonly accounts?: {
    readonly dir: string;
    readonly allowPlaintextPasswords: boolean;
    /** Accounts that may kick and ban (`--operators`). */
    readonly operators?: readonly string[];
    /** Caps on private messages waiting for an offline account. */
    readonly waiting?: Partial<WaitingLimits>;
    /** How long a resume token logs in (ms); 0 = no tokens, every login checks the password. */
    readonly resumeTokenTtlMs?: number;
  };
  /** Users sharing files through the download socket (`--sharing`); undefined or mode off = no sharing. Needs downloads on. */
  readonly sharing?: ShareConfig;
}

export interface StartedServer {
  readonly chat: ChatServer;
  readonly files: FileLibrary;
  readonly downloads: DownloadService | undefined;
  /** The plain-text chat port; undefined when it is off. */
  readonly port: number | undefined;
  /** The TLS chat port; undefined when there is none. */
  readonly tlsPort: number | undefined;
  readonly udpPort: number | undefined;
  readonly opsPort: number | undefined;
  /** The history store, when history is on. */
  readonly history: SqliteStore | undefined;
  /** The accounts, when they are on. */
  readonly accounts: Accounts | undefined;
  /** Sharing files, when it is on. */
  readonly sharing: Sharing | undefined;
  /** The address chat listens on (the configured one, or 0.0.0.0 when `::` had to fall back). */
  readonly host: string;
  close(graceMs?: number): Promise<void>;
}

/** Starts the file service, the UDP transfer service and the chat server, in that order. */
export async function startServer(config: ServerConfig, log: Logger): Promise<StartedServer> {
  const files = new FileLibrary(config.filesDir);
  if (await files.ensure()) log.info({ filesDir: files.root }, 'created the files folder with a welcome.txt');
  let downloads: DownloadService | undefined;
  let sharing: Sharing | undefined;
  if (config.udpPort >= 0) {
    const udpLog = log.child({ component: 'udp' });
    const transfers = (
      await bindWithFallback(
        config.udpHost,
        (host) => TransferServer.listen({ host, port: config.udpPort, logger: udpLog, ...config.downloads }),
        (err) => log.warn({ err }, 'no IPv6 on this machine: downloads listen on 0.0.0.0 (IPv4 only)'),
      )
    ).value;
    downloads = transfers;
    if (config.sharing && config.sharing.mode !== 'off') {
      const uploads = new UploadService((route) => transfers.attach(route), { logger: udpLog.child({ component: 'upload' }) });
      sharing = new Sharing(config.sharing, uploads, files.root, log.child({ component: 'sharing' }));
      await sharing.start();
    }
  } else if (config.sharing && config.sharing.mode !== 'off') {
    log.warn('sharing needs the UDP transfer port: with --udp-port -1 nobody can share files');
  }
  const stats = new ServerStats();
  let hub = config.hub;
  /** A cluster's history, in Redis Streams. */
  let streamHistory: (MessageStore & { stats(): HistoryStats }) | undefined;
  if (!hub && config.cluster) {
    // Loaded only in cluster mode: a single node never loads ioredis.
    const { createRedisHub } = await import('./cluster/index.js');
    const onJoin = config.options.historyOnJoin ?? DEFAULT_CHAT_OPTIONS.historyOnJoin;
    const streams = config.cluster.delivery !== 'pubsub';
    const clusterHub = await createRedisHub({
      ...config.cluster,
      log: log.child({ component: 'cluster' }),
      announceLimit: config.options.announceLimit ?? DEFAULT_CHAT_OPTIONS.announceLimit,
      onDelivered: (kind, n) => stats.count(stats.eventsOut, kind, n),
      history: config.history && streams ? { ...config.history, onJoin } : undefined,
    });
    hub = clusterHub;
    streamHistory = clusterHub.history;
  }
  let history: SqliteStore | undefined;
  if (config.history && config.cluster) {
    if (!streamHistory) log.warn('history needs stream delivery in cluster mode (--cluster-delivery pubsub keeps none): this node runs without it');
  } else if (config.history) {
    history = new SqliteStore({ ...config.history, log: log.child({ component: 'history' }) }, Date.now());
    history.startRetention(Date.now);
  }
  let accounts: Accounts | undefined;
  let moderation: Moderation | undefined;
  let waiting: WaitingMessages | undefined;
  let shared: RedisAccountData | undefined;
  if (config.accounts) {
    try {
      let stores: { accounts: AccountStore; bans: BanStore; waiting: WaitingStore; tokens: TokenStore };
      if (config.cluster) {
        // A cluster keeps them in its Redis: a login, a ban and a waiting message hold on every node.
        const { RedisAccountData } = await import('./accounts/redis-account-data.js');
        const nodeId = (hub as { nodeId?: string } | undefined)?.nodeId ?? config.cluster.nodeId ?? String(process.pid);
        shared = await RedisAccountData.open(config.cluster.url, nodeId, log.child({ component: 'accounts' }));
        stores = shared;
      } else {
        const store = new SqliteAccountStore(config.accounts.dir);
        stores = { accounts: store, bans: new SqliteBanStore(store), waiting: new SqliteWaitingStore(store), tokens: new SqliteTokenStore(store) };
      }
      const ttlMs = config.accounts.resumeTokenTtlMs ?? DEFAULT_RESUME_TOKENS.ttlMs;
      accounts = new Accounts(stores.accounts, {
        allowPlaintextPasswords: config.accounts.allowPlaintextPasswords,
        tokens: ttlMs > 0 ? new ResumeTokens(stores.tokens, { ttlMs }) : undefined,
      });
      moderation = new Moderation(stores.bans, config.accounts.operators ?? []);
      // --max-waiting-messages 0: nothing waits; a message to an offline user is UNKNOWN_USER as without accounts.
      if (config.accounts.waiting?.perRecipient !== 0) waiting = new WaitingMessages(stores.waiting, config.accounts.waiting);
      if (moderation.operatorCount > 0) log.info({ operators: moderation.operatorCount, bans: moderation.list().length }, 'moderation ready');
    } catch (err) {
      history?.close();
      shared?.close();
      throw err;
    }
  }
  if (sharing && config.sharing?.mode === 'registered' && !accounts) log.warn('--sharing registered without accounts: nobody can share files');
  const chat = new ChatServer({
    files,
    log,
    downloads,
    options: config.options,
    hub,
    stats,
    history: history ?? streamHistory,
    accounts,
    moderation,
    waiting,
    bus: shared?.bus,
    ...(sharing ? { sharing } : {}),
  });
  let port: number | undefined;
  let tlsPort: number | undefined;
  let host = config.host;
  let ops: OpsServer | undefined;
  let opsPort: number | undefined;
  const noIpv6 = (err: unknown): void => log.warn({ err }, 'no IPv6 on this machine: chat listens on 0.0.0.0 (IPv4 only)');
  try {
    if (config.port >= 0) {
      const bound = await bindWithFallback(config.host, (h) => chat.listen(config.port, h), noIpv6);
      ({ host } = bound);
      port = bound.value.port;
    }
    if (config.tls) {
      const { port: wanted, credentials } = config.tls;
      // The plain listener already found out whether `::` works; the TLS one binds the same address.
      const bound =
        port === undefined
          ? await bindWithFallback(config.host, (h) => chat.listenTls(wanted, h, credentials), noIpv6)
          : { value: await chat.listenTls(wanted, host, credentials), host };
      ({ host } = bound);
      tlsPort = bound.value.port;
    }
    if (config.ops) {
      // Loaded only with an ops port: prom-client and what it pulls in are ≈ 90 files to read at start.
      const { OpsServer } = await import('./ops-server.js');
      ops = new OpsServer(chat, downloads, history ?? streamHistory, accounts, moderation, waiting);
      opsPort = (await ops.listen(config.ops.port, config.ops.host)).port;
    }
  } catch (err) {
    await chat.close(0);
    sharing?.close();
    await ops?.close();
    history?.close();
    accounts?.close();
    shared?.close();
    throw err;
  }
  // After a mass disconnect (a network cut, a client bug) the memory those clients used is collected.
  const stopGiveBack = startMemoryGiveBack(chat, log);
  return {
    chat,
    files,
    downloads,
    port,
    tlsPort,
    host,
    udpPort: downloads?.port,
    opsPort,
    history,
    accounts,
    sharing,
    async close(graceMs) {
      stopGiveBack();
      await chat.close(graceMs);
      sharing?.close();
      await ops?.close();
      history?.close();
      accounts?.close();
      shared?.close();
    },
  };
}
