import type { ChatHub } from '../hub.js';
import type { HistoryStats, MessageStore } from '../history/message-store.js';
import type { LinkPhase } from './link-state.js';
import type { RedisHubOptions } from './options.js';
import { RedisHub } from './redis-hub.js';

export { RedisHub } from './redis-hub.js';
export { DEFAULT_HEARTBEAT_MS, DEFAULT_LEASE_MS, type ClusterDelivery, type RedisHubOptions, type StreamHistoryOptions } from './options.js';
export { LinkPhase } from './link-state.js';

/** A hub that is one node of a cluster: `healthy` is false while it cannot reach Redis. */
export type ClusterHub = ChatHub & {
  readonly healthy: boolean;
  readonly nodeId: string;
  readonly phase: LinkPhase;
  /** The history in Redis Streams, when the hub was given `history`. */
  readonly history: (MessageStore & { stats(): HistoryStats }) | undefined;
};

/**
 * Connects to Redis at `url` and returns this node's hub. Resolves once the
 * node is in the cluster, or after one lease (`leaseMs`) if Redis cannot be
 * reached yet: the hub then refuses logins (CLUSTER_UNAVAILABLE) and joins
 * by itself when Redis answers. Load this module with `import()` so that a
 * single-node server never loads ioredis.
 */
export async function createRedisHub(options: RedisHubOptions): Promise<ClusterHub> {
  const hub = new RedisHub(options);
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([hub.firstSync.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), hub.leaseMs)))]);
  clearTimeout(timer);
  if (!waited)
    options.log.warn({ component: 'cluster', node: hub.nodeId }, 'Redis did not answer yet; starting unavailable (new logins refused until it does)');
  return hub;
}
