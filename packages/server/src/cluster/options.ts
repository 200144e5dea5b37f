import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';

export interface RedisHubOptions {
  /** `redis://[user:password@]host:port[/db]` */
  readonly url: string;
  readonly log: Logger;
  /** This node's name in Redis; letters, digits and `_ . : -`. Default: host-pid-random. */
  readonly nodeId?: string;
  /** How long a node's nick leases live without a heartbeat (ms). Default 5000. */
  readonly leaseMs?: number;
  /** How often a node renews its leases and looks for dead nodes (ms). Default 1000. */
  readonly heartbeatMs?: number;
  /** Joins and leaves are announced only while fewer users are online (as `ChatOptions.announceLimit`). Default: always. */
  readonly announceLimit?: number;
  /** `n` copies of an event of `kind` were queued for this node's users (for metrics). */
  readonly onDelivered?: (kind: string, count: number) => void;
  /** The clock for leases, deadlines and the re-assert grace (ms). Default `Date.now`; tests move it forward. */
  readonly now?: () => number;
  /**
   * How chat messages travel between nodes. `stream` (default): appended to
   * Redis Streams and read by every node from the last id it delivered, so a
   * node whose link drops delivers what was said meanwhile once it is back.
   * `pubsub`: Redis pub/sub, at most once (the path before streams; kept to
   * measure against). History needs `stream`.
   */
  readonly delivery?: ClusterDelivery;
  /** Keep history in the streams (stream delivery only); undefined = none (the room stream then keeps DELIVERY_WINDOW entries). */
  readonly history?: StreamHistoryOptions;
}

export type ClusterDelivery = 'stream' | 'pubsub';

export interface StreamHistoryOptions {
  /** MAXLEN ~ of the room stream and of each nick's private stream. */
  readonly maxMessages: number;
  /** Messages older than this are trimmed (MINID ~) as new ones come; 0 = no age limit. */
  readonly maxAgeMs: number;
  /** A nickname free for at most this long keeps its tenure, and so its private messages. */
  readonly privateGraceMs: number;
  /** Messages replayed on join (0 = none): live deliveries to a new user wait until its join history is out. */
  readonly onJoin: number;
}

/** Room stream length without history: how many messages a node that was cut off can still catch up on. */
export const DELIVERY_WINDOW = 10_000;
/** Inbox stream length of a node (its users' private messages, for catching up). */
export const INBOX_WINDOW = 10_000;
/** A node's inbox expires this long after its last message (a node gone without saying goodbye). */
export const INBOX_TTL_MS = 10 * 60_000;

export const DEFAULT_LEASE_MS = 5000;
export const DEFAULT_HEARTBEAT_MS = 1000;

/** The node id, lease and heartbeat of `options`, with their defaults; throws RangeError for values that cannot work. */
export function checkedTiming(options: RedisHubOptions): { nodeId: string; leaseMs: number; heartbeatMs: number } {
  const nodeId = options.nodeId ?? defaultNodeId();
  if (!/^[A-Za-z0-9_.:-]{1,100}$/u.test(nodeId)) throw new RangeError(`node id may use letters, digits and _ . : - only (got "${nodeId}")`);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  if (!(heartbeatMs > 0) || !(leaseMs >= 2 * heartbeatMs)) {
    throw new RangeError(`the lease (${leaseMs} ms) must be at least twice the heartbeat (${heartbeatMs} ms)`);
  }
  return { nodeId, leaseMs, heartbeatMs };
}

function defaultNodeId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9_.:-]/gu, '_').slice(0, 100);
}
