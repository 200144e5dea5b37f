/**
 * The Redis hub's link to the cluster as an explicit state machine: pure, no
 * Redis, no timers. Time comes in as an argument (`now`, ms), so tests drive
 * leases with numbers instead of waiting for them.
 *
 * ```
 *   starting ──both connections up──► syncing ──SYNC answered──► linked ──something missed──► stale
 *      │                              ▲  │                          ▲  │                       │
 *      │ a connection lost            │  │ SYNC failed              │  └──heartbeat: dropped──┐ │ next tick
 *      ▼                              │  ▼                          │                         ▼ ▼
 *   unavailable ──both up / tick──────┘  unavailable                └──SYNC answered─── resyncing
 *
 *   in the cluster (linked, stale, resyncing) ──a connection lost, or no heartbeat for a lease──► unavailable
 *   (or syncing, if its SYNC is still out: its answer then leaves the node unavailable)
 *   resyncing ──SYNC failed──► stale;   any ──close()──► closed
 * ```
 *
 * "Both connections" below means every connection the hub has: commands,
 * subscriber, and (when messages go through streams) the stream reader.
 *
 * In the cluster (`linked`, `stale`, `resyncing`) both connections are up;
 * messages go through Redis only while the last heartbeat and the last echo
 * are also younger than a lease (`isLinked`).
 */

export const LinkPhase = {
  /** Never in the cluster yet, nothing has failed yet. */
  Starting: 'starting',
  /** Out of the cluster (Redis unreachable, or its SYNC failed): new logins are refused, users chat locally. */
  Unavailable: 'unavailable',
  /** Out of the cluster, a SYNC is on its way to (re)join it. */
  Syncing: 'syncing',
  /** In the cluster: synced, heartbeats renew the leases. */
  Linked: 'linked',
  /** In the cluster, but the copy of the online list may be stale: the next tick syncs instead of heartbeating. */
  Stale: 'stale',
  /** In the cluster, a SYNC is on its way (presence events are held until it answers). */
  Resyncing: 'resyncing',
  /** `close()` was called. */
  Closed: 'closed',
} as const;
export type LinkPhase = (typeof LinkPhase)[keyof typeof LinkPhase];

export interface LinkState {
  readonly phase: LinkPhase;
  /** The command connection is ready. */
  readonly cmdUp: boolean;
  /** The subscriber connection is subscribed. */
  readonly subUp: boolean;
  /** The stream reader's connection is ready (always true when messages go through pub/sub). */
  readonly readUp: boolean;
  /** Has been in the cluster at least once (a later SYNC that finds the node unregistered is a rejoin). */
  readonly joinedOnce: boolean;
  /** When a heartbeat or SYNC last succeeded (ms). */
  readonly lastBeat: number;
  /** When this node last heard its own heartbeat echo on its subscriber connection (ms). */
  readonly lastEcho: number;
  /** No new user is admitted before this time (ms): the re-assert grace after a rejoin. */
  readonly admitAfter: number;
}

export type LinkEvent =
  | { readonly type: 'cmd-up' }
  | { readonly type: 'cmd-down' }
  | { readonly type: 'sub-up' }
  | { readonly type: 'sub-down' }
  | { readonly type: 'read-up' }
  | { readonly type: 'read-down' }
  /** The hub sends SYNC now. */
  | { readonly type: 'sync-sent' }
  /** SYNC answered; `registered`: Redis did not know this node (dropped, or Redis lost its data); `stale`: sync again on the next tick. */
  | { readonly type: 'synced'; readonly now: number; readonly registered: boolean; readonly stale: boolean }
  | { readonly type: 'sync-failed' }
  | { readonly type: 'beat'; readonly now: number }
  | { readonly type: 'beat-failed'; readonly now: number }
  | { readonly type: 'echo'; readonly now: number }
  /** Something may have been missed (a gap in presence numbers, a failed claim or release): sync on the next tick. */
  | { readonly type: 'stale' }
  | { readonly type: 'close' };

export interface LinkTiming {
  readonly leaseMs: number;
  readonly heartbeatMs: number;
}

/** Where a hub without a stream reader starts (messages through pub/sub). */
export const INITIAL_LINK: LinkState = {
  phase: LinkPhase.Starting,
  cmdUp: false,
  subUp: false,
  readUp: true,
  joinedOnce: false,
  lastBeat: 0,
  lastEcho: 0,
  admitAfter: 0,
};

/** Where a hub starts: with a stream reader (messages through Redis Streams), that connection must come up too. */
export function initialLink(reader: boolean): LinkState {
  return reader ? { ...INITIAL_LINK, readUp: false } : INITIAL_LINK;
}

/** Every connection the hub has is up. */
function allUp(s: LinkState): boolean {
  return s.cmdUp && s.subUp && s.readUp;
}

const IN_CLUSTER: ReadonlySet<LinkPhase> = new Set([LinkPhase.Linked, LinkPhase.Stale, LinkPhase.Resyncing]);

/** Synced and both connections up (the hub's view may still be older than a lease: see `isLinked`). */
export function inCluster(s: LinkState): boolean {
  return IN_CLUSTER.has(s.phase);
}

/** A SYNC is on its way. */
export function isSyncing(s: LinkState): boolean {
  return s.phase === LinkPhase.Syncing || s.phase === LinkPhase.Resyncing;
}

/** Out of the cluster after something failed: Redis errors are expected and logged quietly. */
export function isOutage(s: LinkState): boolean {
  return s.phase === LinkPhase.Unavailable || s.phase === LinkPhase.Syncing;
}

/** Connected, synced, and heard from within a lease: messages go through Redis. */
export function isLinked(s: LinkState, now: number, t: LinkTiming): boolean {
  return inCluster(s) && now - s.lastBeat < t.leaseMs && now - s.lastEcho < t.leaseMs;
}

/** Linked, and past the re-assert grace after a rejoin: new users are admitted. */
export function isHealthy(s: LinkState, now: number, t: LinkTiming): boolean {
  return isLinked(s, now, t) && now >= s.admitAfter;
}

/** What the periodic tick does. */
export type TickAction = 'none' | 'reconnect-subscriber' | 'sync' | 'heartbeat';

export function tickAction(s: LinkState, now: number, t: LinkTiming): TickAction {
  if (s.phase === LinkPhase.Closed || isSyncing(s) || !allUp(s)) return 'none';
  // Heartbeats go through but their echoes do not come back: the subscriber connection is dead without knowing it.
  if (inCluster(s) && now - s.lastEcho >= t.leaseMs + t.heartbeatMs) return 'reconnect-subscriber';
  if (s.phase !== LinkPhase.Linked || now - s.lastBeat >= t.leaseMs) return 'sync';
  return 'heartbeat';
}

/** Both connections have just come up, out of the cluster and no SYNC out: join now rather than on the next tick. */
export function shouldJoinNow(s: LinkState): boolean {
  return allUp(s) && (s.phase === LinkPhase.Starting || s.phase === LinkPhase.Unavailable);
}

/** The one transition function. */
export function nextLink(s: LinkState, e: LinkEvent, t: LinkTiming): LinkState {
  if (s.phase === LinkPhase.Closed) {
    // Closing still says goodbye if the command connection is up.
    if (e.type === 'cmd-up' || e.type === 'cmd-down') return { ...s, cmdUp: e.type === 'cmd-up' };
    return s;
  }
  switch (e.type) {
    case 'close':
      return { ...s, phase: LinkPhase.Closed };
    case 'cmd-up':
      return { ...s, cmdUp: true };
    case 'sub-up':
      return { ...s, subUp: true };
    case 'cmd-down':
      return { ...s, cmdUp: false, phase: leaveCluster(s.phase) };
    case 'sub-down':
      return { ...s, subUp: false, phase: leaveCluster(s.phase) };
    case 'read-up':
      return { ...s, readUp: true };
    case 'read-down':
      return { ...s, readUp: false, phase: leaveCluster(s.phase) };
    case 'sync-sent':
      return { ...s, phase: inCluster(s) ? LinkPhase.Resyncing : LinkPhase.Syncing };
    case 'sync-failed':
      if (s.phase === LinkPhase.Resyncing) return { ...s, phase: LinkPhase.Stale };
      if (s.phase === LinkPhase.Syncing) return { ...s, phase: LinkPhase.Unavailable };
      return s;
    case 'synced': {
      const admitAfter = e.registered && s.joinedOnce ? e.now + t.leaseMs : s.admitAfter;
      const timed = { ...s, lastBeat: e.now, lastEcho: Math.max(s.lastEcho, e.now - t.heartbeatMs), admitAfter };
      // A connection lost while the SYNC was out: its answer is kept, but the node joins again when both are up.
      if (!isSyncing(s) || !allUp(s)) return { ...timed, phase: LinkPhase.Unavailable };
      return { ...timed, joinedOnce: true, phase: e.stale ? LinkPhase.Stale : LinkPhase.Linked };
    }
    case 'beat':
      return { ...s, lastBeat: e.now };
    case 'beat-failed':
      return inCluster(s) && e.now - s.lastBeat >= t.leaseMs ? { ...s, phase: leaveCluster(s.phase) } : s;
    case 'echo':
      return { ...s, lastEcho: e.now };
    case 'stale':
      return s.phase === LinkPhase.Linked ? { ...s, phase: LinkPhase.Stale } : s;
  }
}

/** Out of the cluster; a SYNC already on its way stays on its way (its answer no longer puts the node in). */
function leaveCluster(phase: LinkPhase): LinkPhase {
  return phase === LinkPhase.Syncing || phase === LinkPhase.Resyncing ? LinkPhase.Syncing : LinkPhase.Unavailable;
}
