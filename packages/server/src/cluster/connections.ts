import { Redis, type RedisOptions } from 'ioredis';
import type { LeaveReason } from '@parley/protocol';
import { CLAIM, GOODBYE, HEARTBEAT, PRIVATE, RELEASE, STREAM_BROADCAST, STREAM_HISTORY, STREAM_PRIVATE, SYNC } from './scripts.js';

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

export interface HeartbeatReply {
  /** Redis did not know this node (it had been reaped, or Redis lost its data). */
  readonly registered: boolean;
  /** Users of dead nodes this heartbeat reaped. */
  readonly reaped: number;
  /** Nick keys of this node's users that another node holds now. */
  readonly lost: readonly string[];
}

/** A stream entry as Redis returns it: id, then field, value, field, value… */
export type StreamEntry = [id: string, fields: string[]];

/** Where messages go in Redis Streams, and how long they stay (see scripts.ts). */
export interface StreamLimits {
  /** MAXLEN ~ of the room stream and of each private stream. */
  readonly maxLen: number;
  /** MINID ~ now - maxAgeMs on every append; 0 = no age limit. */
  readonly maxAgeMs: number;
  /** MAXLEN ~ of a node's inbox. */
  readonly inboxLen: number;
  /** A node's inbox expires this long after its last message (a node that is gone for good). */
  readonly inboxTtlMs: number;
  /** Privates are copied into both parties' private streams (history is on). */
  readonly keepPrivates: boolean;
}

export interface SyncReply {
  /** The presence number the snapshot is at. */
  readonly seq: number;
  readonly lost: readonly string[];
  /** The online hash: key, "node nick", key, … */
  readonly online: readonly string[];
  readonly registered: boolean;
}

/** The Lua scripts of `scripts.ts` on the command connection, with typed arguments and replies. */
export interface Scripts {
  claim(nodeId: string, memberId: string, key: string, nick: string, leaseMs: number, graceMs: number): Promise<{ ok: boolean; seq: number; tenure: number }>;
  release(nodeId: string, key: string, nick: string, reason: LeaveReason): Promise<void>;
  heartbeat(nodeId: string, leaseMs: number): Promise<HeartbeatReply>;
  /** Sends the releases Redis has not had, re-asserts (or releases) the node's members, and takes a snapshot. */
  sync(
    nodeId: string,
    leaseMs: number,
    releases: ReadonlyArray<readonly [key: string, { nick: string; reason: LeaveReason }]>,
    members: ReadonlyArray<{ key: string; nick: string; live: boolean; tenure: number }>,
  ): Promise<SyncReply>;
  /** Resolves with the number of nodes that received it (0: nobody holds that nick). */
  private(key: string, from: string, text: string): Promise<number>;
  goodbye(nodeId: string): Promise<void>;
  /** Appends a broadcast to the room stream; resolves with its id once Redis has it. */
  streamBroadcast(nodeId: string, memberId: string, nick: string, text: string, limits: StreamLimits): Promise<string>;
  /** Appends a private message for whoever holds `toKey`; undefined when nobody does. */
  streamPrivate(
    nodeId: string,
    memberId: string,
    fromKey: string,
    fromNick: string,
    toKey: string,
    text: string,
    limits: StreamLimits,
  ): Promise<{ id: string; to: string } | undefined>;
  /** The room's and the viewer's private entries nearest to a point (see STREAM_HISTORY). */
  streamHistory(key: string, tenure: number, form: string, id: string, count: number): Promise<{ room: StreamEntry[]; mine: StreamEntry[] }>;
}

export interface Connections {
  /** Commands and scripts. */
  readonly cmd: Redis;
  /** Subscriptions only (a subscribed connection cannot run commands). */
  readonly sub: Redis;
  /** Blocking stream reads only (XREAD BLOCK holds its connection); undefined when delivery is pub/sub. */
  readonly reader: Redis | undefined;
  readonly scripts: Scripts;
}

/**
 * Opens the hub's two connections to Redis. Nothing waits for a connection
 * that is not there: a claim is refused instead, and a command in flight when
 * the link drops fails. ioredis reconnects by itself, 50 ms × attempt apart,
 * at most `heartbeatMs`.
 */
export function openConnections(url: string, nodeId: string, timing: { leaseMs: number; heartbeatMs: number }, streams: boolean): Connections {
  const common: RedisOptions = {
    connectionName: `parley:${nodeId}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(50 * times, timing.heartbeatMs),
    connectTimeout: timing.leaseMs,
  };
  const cmd = new Redis(url, { ...common, enableAutoPipelining: true, commandTimeout: Math.ceil(timing.leaseMs / 2) });
  const sub = new Redis(url, { ...common, autoResubscribe: false });
  // A read blocks for at most a heartbeat; one that has not answered a lease later is on a dead connection.
  const reader = streams
    ? new Redis(url, { ...common, connectionName: `parley:${nodeId}:reader`, commandTimeout: timing.heartbeatMs + timing.leaseMs })
    : undefined;
  const define = (name: string, lua: string): ScriptFn => {
    cmd.defineCommand(name, { numberOfKeys: 0, lua });
    const fn = (cmd as unknown as Record<string, ScriptFn>)[name] as ScriptFn;
    return fn.bind(cmd);
  };
  const claim = define('parleyClaim', CLAIM);
  const release = define('parleyRelease', RELEASE);
  const heartbeat = define('parleyHeartbeat', HEARTBEAT);
  const sync = define('parleySync', SYNC);
  const privateMessage = define('parleyPrivate', PRIVATE);
  const goodbye = define('parleyGoodbye', GOODBYE);
  const streamBroadcast = define('parleyStreamBroadcast', STREAM_BROADCAST);
  const streamPrivate = define('parleyStreamPrivate', STREAM_PRIVATE);
  const streamHistory = define('parleyStreamHistory', STREAM_HISTORY);
  const scripts: Scripts = {
    async claim(nodeId, memberId, key, nick, leaseMs, graceMs) {
      const [ok, seq, tenure] = (await claim(nodeId, memberId, key, nick, leaseMs, graceMs)) as [number, number?, number?];
      return { ok: ok === 1, seq: seq ?? 0, tenure: tenure ?? 0 };
    },
    async release(nodeId, key, nick, reason) {
      await release(nodeId, key, nick, reason);
    },
    async heartbeat(nodeId, leaseMs) {
      const [registered, reaped, ...lost] = (await heartbeat(nodeId, leaseMs)) as [number, number, ...string[]];
      return { registered: registered === 1, reaped, lost };
    },
    async sync(nodeId, leaseMs, releases, members) {
      const args: (string | number)[] = [nodeId, leaseMs, releases.length];
      for (const [key, r] of releases) args.push(key, r.nick, r.reason);
      args.push(members.length);
      for (const m of members) args.push(m.key, m.nick, m.live ? 1 : 0, m.tenure);
      const [seq, lost, online, registered] = (await sync(...args)) as [number, string[], string[], number];
      return { seq, lost, online, registered: registered === 1 };
    },
    async private(key, from, text) {
      return Number(await privateMessage(key, from, text));
    },
    async goodbye(nodeId) {
      await goodbye(nodeId);
    },
    async streamBroadcast(nodeId, memberId, nick, text, l) {
      return String(await streamBroadcast(nodeId, memberId, nick, text, l.maxLen, l.maxAgeMs));
    },
    async streamPrivate(nodeId, memberId, fromKey, fromNick, toKey, text, l) {
      const args = [nodeId, memberId, fromKey, fromNick, toKey, text, l.maxLen, l.maxAgeMs, l.inboxLen, l.inboxTtlMs, l.keepPrivates ? 1 : 0];
      const [ok, id, to] = (await streamPrivate(...args)) as [number, string?, string?];
      return ok === 1 && id !== undefined && to !== undefined ? { id, to } : undefined;
    },
    async streamHistory(key, tenure, form, id, count) {
      const [room, mine] = (await streamHistory(key, tenure, form, id, count)) as [StreamEntry[], StreamEntry[]];
      return { room, mine };
    },
  };
  return { cmd, sub, reader, scripts };
}

/** QUIT if the connection is up (bounded to 1 s), otherwise just disconnect. */
export async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await withTimeout(redis.quit(), 1000);
      return;
    } catch {
      // fall through
    }
  }
  redis.disconnect();
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
