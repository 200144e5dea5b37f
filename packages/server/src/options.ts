/** Everything a running chat server can be told, with the defaults a fresh install uses. */
export interface ChatOptions {
  /** Most clients connected at once (including those still choosing a nickname). */
  readonly maxClients: number;
  /** Longest line a client may send, in bytes. */
  readonly maxLineBytes: number;
  /** Sustained messages per second per client. */
  readonly rate: number;
  /** Messages a client may send in a burst before the rate applies. */
  readonly burst: number;
  /** Lines dropped in a row for flooding before the client is disconnected. */
  readonly floodDisconnectAfter: number;
  /** Silence (ms) after which a client is pinged. */
  readonly pingIntervalMs: number;
  /** Silence (ms) after which a client is disconnected. */
  readonly idleTimeoutMs: number;
  /** Connections at once from one address (an IPv6 /64 counts as one), joined or not. */
  readonly maxClientsPerAddress: number;
  /** Connections at once from one address that have not chosen a nickname yet. */
  readonly maxUnjoinedPerAddress: number;
  /**
   * Connections at once (from all addresses) that have not chosen a nickname.
   * When there are this many, or the server is full, a new connection makes
   * room by closing the one that has waited longest for its nickname.
   */
  readonly maxUnjoined: number;
  /** Addresses and CIDR ranges exempt from the per-address limits. */
  readonly trustedAddresses: readonly string[];
  /** Time (ms) a new connection has to send its nickname. */
  readonly joinTimeoutMs: number;
  /** Bytes queued for a client before it counts as not reading. */
  readonly maxQueuedBytes: number;
  /** Time (ms) a client's socket may stay full before it counts as not reading. */
  readonly drainTimeoutMs: number;
  /**
   * Joins and leaves are announced to everyone while fewer users than this are
   * online; above it (a large room) they are not, and a new user's welcome
   * carries the count instead of the whole list (`online` still lists everyone).
   */
  readonly announceLimit: number;
  /** Time (ms) given to clients and transfers to finish on shutdown. */
  readonly shutdownTimeoutMs: number;
  /** Stored messages replayed to a user who joins (0 = none; at most HISTORY_MAX_PAGE). Needs a history store. */
  readonly historyOnJoin: number;
}

export const DEFAULT_CHAT_OPTIONS: ChatOptions = {
  maxClients: 10_000,
  maxLineBytes: 4096,
  rate: 10,
  burst: 20,
  floodDisconnectAfter: 100,
  pingIntervalMs: 60_000,
  idleTimeoutMs: 300_000,
  joinTimeoutMs: 30_000,
  maxClientsPerAddress: 20,
  maxUnjoinedPerAddress: 5,
  maxUnjoined: 1000,
  trustedAddresses: ['127.0.0.0/8', '::1'],
  maxQueuedBytes: 1024 * 1024,
  drainTimeoutMs: 30_000,
  shutdownTimeoutMs: 5_000,
  announceLimit: 500,
  historyOnJoin: 50,
};
