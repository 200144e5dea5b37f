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
}

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
