import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { eventFrame, nickKey, protocolError, type ErrorCode, type LeaveReason, type ServerEvent } from '@parley/protocol';
import type { ChatHub, ClaimResult, HubMember } from '../hub.js';
import { sortNicks } from '../memory-hub.js';
import { CLAIM, GOODBYE, HEARTBEAT, keys, PRIVATE, RELEASE, SYNC } from './scripts.js';
import { encodeBroadcast, parseBusMessage, type BusMessage } from './wire.js';

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
}

export const DEFAULT_LEASE_MS = 5000;
export const DEFAULT_HEARTBEAT_MS = 1000;

/** What a HubMember may also offer: a way for the hub to end it (see README: lost leases). */
type Evictable = HubMember & { evict?: (code: ErrorCode, text: string) => void };

/** A member of this node, as the Redis hub tracks it. */
interface Local {
  readonly member: HubMember;
  readonly key: string;
  /** The claim succeeded: the member holds its nick. */
  live: boolean;
  /** Bus deliveries reach it (from its own `joined` on, or from its claim's answer). */
  receiving: boolean;
  /** Deliveries held until the session has had its answer (so `welcome` comes first). */
  held: Buffer[] | null;
  /** The presence number at which it got (or re-asserted) its nick. */
  seq: number;
}

interface Seen {
  readonly nick: string;
  readonly node: string;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The Redis-backed hub: one of several nodes that are one chat. See
 * README.md beside this file for the design and its bounds.
 */
export class RedisHub implements ChatHub {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly #announceLimit: number;
  readonly #onDelivered: (kind: string, count: number) => void;
  readonly #log: Logger;
  readonly #cmd: Redis;
  readonly #sub: Redis;
  readonly #scripts: Record<'claim' | 'release' | 'heartbeat' | 'sync' | 'private' | 'goodbye', ScriptFn>;
  readonly #byId = new Map<string, Local>();
  readonly #byKey = new Map<string, Local>();
  #liveCount = 0;
  /** Who this node's users have been told is online (kept from the presence events, in their order). */
  #view = new Map<string, Seen>();
  /** Entries of the view that a sync did not find; they leave when their time is up unless they come back. */
  readonly #suspects = new Map<string, number>();
  #seq = 0;
  /** Releases Redis has not had yet (it was unreachable); sent by the next sync. */
  readonly #unsent = new Map<string, { nick: string; reason: LeaveReason }>();
  readonly #inflight = new Set<Promise<unknown>>();
  #cmdUp = false;
  #subUp = false;
  #synced = false;
  #syncing = false;
  #presenceHeld: Extract<BusMessage, { seq: number }>[] = [];
  #needsSync = false;
  #beating = false;
  #lastBeat = 0;
  /** When this node last heard its own heartbeat echo on its subscriber connection. */
  #lastEcho = 0;
  /** No new user is admitted before this time (ms): the re-assert grace after a rejoin. */
  #admitAfter = 0;
  #everSynced = false;
  #outage = false;
  #closed: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;
  #firstSync: (() => void) | undefined;
  readonly firstSync: Promise<void>;

  constructor(options: RedisHubOptions) {
    this.nodeId = options.nodeId ?? defaultNodeId();
    if (!/^[A-Za-z0-9_.:-]{1,100}$/u.test(this.nodeId)) throw new RangeError(`node id may use letters, digits and _ . : - only (got "${this.nodeId}")`);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (!(this.heartbeatMs > 0) || !(this.leaseMs >= 2 * this.heartbeatMs)) {
      throw new RangeError(`the lease (${this.leaseMs} ms) must be at least twice the heartbeat (${this.heartbeatMs} ms)`);
    }
    this.#announceLimit = options.announceLimit ?? Number.POSITIVE_INFINITY;
    this.#onDelivered = options.onDelivered ?? (() => undefined);
    this.#log = options.log.child({ component: 'cluster', node: this.nodeId });
    this.firstSync = new Promise((resolve) => (this.#firstSync = resolve));

    const common: RedisOptions = {
      connectionName: `parley:${this.nodeId}`,
      // Nothing waits for a connection that is not there: a claim is refused
      // instead, and a command in flight when the link drops fails.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(50 * times, this.heartbeatMs),
      connectTimeout: this.leaseMs,
    };
    this.#cmd = new Redis(options.url, { ...common, enableAutoPipelining: true, commandTimeout: Math.ceil(this.leaseMs / 2) });
    this.#sub = new Redis(options.url, { ...common, autoResubscribe: false });
    const define = (name: string, lua: string): ScriptFn => {
      this.#cmd.defineCommand(name, { numberOfKeys: 0, lua });
      const fn = (this.#cmd as unknown as Record<string, ScriptFn>)[name] as ScriptFn;
      return fn.bind(this.#cmd);
    };
    this.#scripts = {
      claim: define('parleyClaim', CLAIM),
      release: define('parleyRelease', RELEASE),
      heartbeat: define('parleyHeartbeat', HEARTBEAT),
      sync: define('parleySync', SYNC),
      private: define('parleyPrivate', PRIVATE),
      goodbye: define('parleyGoodbye', GOODBYE),
    };

    this.#cmd.on('ready', () => {
      this.#cmdUp = true;
      this.#kick();
    });
    this.#cmd.on('close', () => {
      this.#cmdUp = false;
      this.#down('lost the command connection');
    });
    this.#cmd.on('error', (err: Error) => this.#redisError(err));
    this.#sub.on('ready', () => {
      this.#sub.subscribe(keys.bus, keys.nodeChannel(this.nodeId)).then(
        () => {
          this.#subUp = true;
          this.#kick();
        },
        (err: unknown) => this.#log.warn({ err }, 'could not subscribe; retrying on the next heartbeat'),
      );
    });
    this.#sub.on('close', () => {
      this.#subUp = false;
      this.#down('lost the subscriber connection');
    });
    this.#sub.on('error', (err: Error) => this.#redisError(err));
    this.#sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.#onMessage(message));

    this.#timer = setInterval(() => void this.#tick(), this.heartbeatMs);
    this.#timer.unref();
  }

  /** True while this node is in the cluster: connected, synced, its leases renewed. */
  /**
   * True while this node is in the cluster and admits new users: connected,
   * synced, its leases renewed, and (after it had been dropped or Redis lost
   * its data) one lease has passed so that every live node re-asserted its nicks.
   */
  get healthy(): boolean {
    return this.#linked && Date.now() >= this.#admitAfter;
  }

  /** Connected and synced: messages go through Redis. */
  get #linked(): boolean {
    const now = Date.now();
    return this.#synced && this.#cmdUp && this.#subUp && this.#closed === undefined && now - this.#lastBeat < this.leaseMs && now - this.#lastEcho < this.leaseMs;
  }

  get localCount(): number {
    return this.#liveCount;
  }

  async claim(member: HubMember): Promise<ClaimResult> {
    if (!this.healthy) throw unavailable();
    const key = nickKey(member.nick);
    const mine = this.#byKey.get(key);
    if (mine) return { ok: false, holder: mine.member.nick, online: this.#onlineCount() };
    const local: Local = { member, key, live: false, receiving: false, held: [], seq: 0 };
    this.#byKey.set(key, local);
    this.#byId.set(member.id, local);
    let reply: unknown;
    try {
      reply = await this.#scripts.claim(this.nodeId, member.id, key, member.nick, this.leaseMs);
    } catch (err) {
      // The claim may or may not have happened: the next sync settles it.
      this.#log.warn({ err }, 'claim failed');
      this.#needsSync = true;
      this.#forget(local);
      throw unavailable();
    }
    const [ok, seq] = reply as [number, number?];
    // Released meanwhile: Redis has the release after the claim, on the same connection.
    if (this.#byId.get(member.id) !== local) return ok === 1 ? { ok: true } : { ok: false, online: this.#onlineCount() };
    if (ok !== 1) {
      this.#forget(local);
      return { ok: false, holder: this.#view.get(key)?.nick, online: this.#onlineCount() };
    }
    local.live = true;
    local.receiving = true;
    local.seq = seq ?? 0;
    this.#liveCount += 1;
    // The session sends `welcome` when this promise settles (in microtasks); what came meanwhile follows it.
    setImmediate(() => this.#flushHeld(local));
    return { ok: true };
  }

  release(member: HubMember, reason: LeaveReason, announce = true): Promise<void> | void {
    const local = this.#byId.get(member.id);
    if (!local) return undefined;
    const wasLive = local.live;
    this.#forget(local);
    if (!wasLive && this.#cmdUp) {
      // Its claim is still on its way; this release follows it on the same connection.
      return this.#track(this.#releaseInRedis(local.key, member.nick, reason));
    }
    if (!wasLive) return undefined;
    if (!announce) this.#view.delete(local.key);
    if (!this.#linked) {
      if (announce) {
        const seen = this.#view.get(local.key);
        this.#view.delete(local.key);
        if (seen && this.#view.size < this.#announceLimit) this.#deliverAll('left', eventFrame({ type: 'left', nick: member.nick, reason }), undefined);
      }
      this.#unsent.set(local.key, { nick: member.nick, reason });
      this.#needsSync = true;
      return undefined;
    }
    return this.#track(this.#releaseInRedis(local.key, member.nick, reason));
  }

  /** How many are online, as `online()` would list them, without listing them. */
  #onlineCount(): number {
    let n = this.#linked ? this.#view.size : 0;
    for (const l of this.#byKey.values()) if (l.live && !(this.#linked && this.#view.has(l.key))) n += 1;
    return n;
  }

  online(): string[] {
    const nicks = new Map<string, string>();
    if (this.#linked) for (const [key, seen] of this.#view) nicks.set(key, seen.nick);
    for (const l of this.#byKey.values()) if (l.live) nicks.set(l.key, l.member.nick);
    return sortNicks(nicks.values());
  }

  broadcast(from: HubMember, event: ServerEvent): void {
    const local = this.#byId.get(from.id);
    if (!local?.live) {
      this.#log.debug({ member: from.id }, 'broadcast from a member without a nick; dropped');
      return;
    }
    const frame = eventFrame(event);
    if (!this.#linked) {
      this.#deliverAll(event.type, frame, local);
      return;
    }
    this.#cmd.publish(keys.bus, encodeBroadcast(this.nodeId, from.id, frame)).catch((err: unknown) => {
      this.#log.debug({ err }, 'broadcast lost: Redis did not take it');
    });
  }

  privateMessage(from: HubMember, to: string, text: string): boolean | Promise<boolean> {
    const key = nickKey(to);
    const local = this.#byKey.get(key);
    if (local?.live) {
      this.#deliver(local, eventFrame({ type: 'private', from: from.nick, to: local.member.nick, text }));
      this.#onDelivered('private', 1);
      return true;
    }
    if (!this.#linked) return false;
    return this.#scripts.private(key, from.nick, text).then(
      (receivers) => Number(receivers) > 0,
      (err: unknown) => {
        this.#log.warn({ err }, 'private message could not be sent through Redis');
        return false;
      },
    );
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#timer);
    await withTimeout(Promise.allSettled([...this.#inflight]), this.leaseMs);
    if (this.#cmdUp) {
      try {
        await withTimeout(this.#scripts.goodbye(this.nodeId), this.leaseMs);
      } catch (err) {
        this.#log.warn({ err }, 'could not say goodbye to the cluster; its leases will time out');
      }
    }
    this.#byId.clear();
    this.#byKey.clear();
    this.#liveCount = 0;
    await Promise.allSettled([quit(this.#cmd), quit(this.#sub)]);
    this.#firstSync?.();
  }

  // ---- connection state -------------------------------------------------

  #kick(): void {
    if (this.#cmdUp && this.#subUp && !this.#synced && !this.#syncing && !this.#closed) void this.#sync();
  }

  #down(why: string): void {
    this.#synced = false;
    if (this.#closed) return;
    if (!this.#outage) {
      this.#outage = true;
      this.#log.warn({ why }, 'cluster unavailable: Redis cannot be reached; refusing new logins, local users chat locally');
    }
  }

  #redisError(err: Error): void {
    if (this.#closed) return;
    // ioredis reports every failed reconnection; one line per outage is enough.
    this.#log[this.#outage ? 'debug' : 'warn']({ err: err.message }, 'redis error');
  }

  async #tick(): Promise<void> {
    if (this.#closed || this.#beating) return;
    this.#expireSuspects(Date.now());
    if (!this.#cmdUp || !this.#subUp) return;
    if (this.#synced && Date.now() - this.#lastEcho >= this.leaseMs + this.heartbeatMs) {
      // Heartbeats go through but their echoes do not come back: the subscriber connection is dead without knowing it.
      this.#log.warn('the subscriber connection hears nothing; reconnecting it');
      this.#lastEcho = Date.now();
      this.#subUp = false;
      this.#down('subscriber connection silent');
      this.#sub.disconnect(true);
      return;
    }
    this.#beating = true;
    try {
      if (!this.#synced || this.#needsSync || Date.now() - this.#lastBeat >= this.leaseMs) await this.#sync();
      else await this.#heartbeat();
    } finally {
      this.#beating = false;
    }
  }

  async #heartbeat(): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.#scripts.heartbeat(this.nodeId, this.leaseMs);
    } catch (err) {
      this.#log.warn({ err }, 'heartbeat failed');
      if (Date.now() - this.#lastBeat >= this.leaseMs) this.#synced = false;
      return;
    }
    this.#lastBeat = Date.now();
    const [registered, reaped, ...lost] = reply as [number, number, ...string[]];
    if (reaped > 0) this.#log.info({ users: reaped }, 'reaped the users of nodes that stopped heartbeating');
    for (const key of lost) this.#lost(key, 'heartbeat');
    if (registered === 1) {
      this.#log.warn('this node had been dropped from the cluster (missed heartbeats, or Redis lost its data); re-asserting its leases');
      await this.#sync();
    }
  }

  async #sync(): Promise<void> {
    if (this.#syncing || this.#closed) return;
    this.#syncing = true;
    this.#presenceHeld = [];
    const releases = [...this.#unsent];
    const members = [...this.#byId.values()];
    const args: (string | number)[] = [this.nodeId, this.leaseMs, releases.length];
    for (const [key, r] of releases) args.push(key, r.nick, r.reason);
    args.push(members.length);
    for (const m of members) args.push(m.key, m.member.nick, m.live ? 1 : 0);
    let reply: unknown;
    try {
      reply = await this.#scripts.sync(...args);
    } catch (err) {
      this.#syncing = false;
      this.#presenceHeld = [];
      this.#needsSync = true;
      this.#log.warn({ err }, 'sync with the cluster failed; retrying on the next heartbeat');
      return;
    }
    for (const [key, r] of releases) if (this.#unsent.get(key) === r) this.#unsent.delete(key);
    const [seq, lost, flat, registered] = reply as [number, string[], string[], number];
    if (registered === 1 && this.#everSynced) {
      // This node had been dropped, or Redis lost its data: other nodes may not have re-asserted yet.
      this.#admitAfter = Date.now() + this.leaseMs;
      this.#log.info({ ms: this.leaseMs }, 'rejoined the cluster; admitting new users after one lease, once every node re-asserted its nicknames');
    }
    const now = Date.now();
    this.#lastBeat = now;
    this.#lastEcho = Math.max(this.#lastEcho, now - this.heartbeatMs);
    this.#seq = seq;
    this.#adoptSnapshot(flat, now);
    for (const m of this.#byId.values()) {
      if (!m.live) continue;
      m.receiving = true;
      m.seq = seq;
    }
    this.#syncing = false;
    // Releases made while this sync was on its way go with the next one.
    this.#needsSync = this.#unsent.size > 0;
    this.#synced = true;
    const held = this.#presenceHeld;
    this.#presenceHeld = [];
    for (const ev of held) this.#presence(ev);
    for (const key of lost) this.#lost(key, 'sync');
    if (!this.#everSynced) {
      this.#everSynced = true;
      this.#log.info({ online: this.#view.size, leaseMs: this.leaseMs, heartbeatMs: this.heartbeatMs }, 'joined the cluster');
      this.#firstSync?.();
    } else if (this.#outage) {
      this.#log.info({ online: this.#view.size, resent: releases.length }, 'cluster available again: leases re-asserted');
    }
    this.#outage = false;
  }

  /** Makes the view the snapshot: new names are announced now, missing ones after a lease (they may be re-asserted). */
  #adoptSnapshot(flat: string[], now: number): void {
    const snapshot = new Map<string, Seen>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const owner = flat[i + 1] as string;
      const sp = owner.indexOf(' ');
      snapshot.set(flat[i] as string, { node: owner.slice(0, sp), nick: owner.slice(sp + 1) });
    }
    for (const [key, seen] of snapshot) {
      this.#suspects.delete(key);
      const had = this.#view.get(key);
      this.#view.set(key, seen);
      if (had?.nick === seen.nick) continue;
      const subject = seen.node === this.nodeId ? this.#byKey.get(key) : undefined;
      if (this.#view.size <= this.#announceLimit) this.#deliverAll('joined', eventFrame({ type: 'joined', nick: seen.nick }), subject);
    }
    for (const key of this.#view.keys()) {
      if (!snapshot.has(key) && !this.#suspects.has(key)) this.#suspects.set(key, now + this.leaseMs);
    }
  }

  #expireSuspects(now: number): void {
    for (const [key, deadline] of this.#suspects) {
      if (deadline > now || !this.#linked) continue;
      this.#suspects.delete(key);
      const seen = this.#view.get(key);
      if (!seen) continue;
      this.#view.delete(key);
      if (this.#view.size < this.#announceLimit) this.#deliverAll('left', eventFrame({ type: 'left', nick: seen.nick, reason: 'timeout' }), undefined);
    }
  }

  // ---- messages from Redis ----------------------------------------------

  #onMessage(message: Buffer): void {
    const msg = parseBusMessage(message);
    if (!msg) {
      this.#log.warn({ bytes: message.length }, 'malformed cluster message dropped');
      return;
    }
    switch (msg.kind) {
      case 'broadcast': {
        const from = msg.node === this.nodeId ? this.#byId.get(msg.member) : undefined;
        this.#deliverAll(frameKind(msg.frame), msg.frame, from);
        return;
      }
      case 'echo':
        this.#lastEcho = Date.now();
        return;
      case 'private': {
        const local = this.#byKey.get(msg.key);
        if (!local?.live) return;
        this.#deliver(local, eventFrame({ type: 'private', from: msg.from, to: local.member.nick, text: msg.text }));
        this.#onDelivered('private', 1);
        return;
      }
      default:
        this.#presence(msg);
    }
  }

  #presence(ev: Extract<BusMessage, { seq: number }>): void {
    if (this.#syncing) {
      this.#presenceHeld.push(ev);
      return;
    }
    if (!this.#linked) {
      // Late news from before an outage: the next sync brings the whole list.
      this.#needsSync = true;
      return;
    }
    if (ev.seq <= this.#seq) return; // already in the snapshot
    if (ev.seq !== this.#seq + 1) {
      this.#log.warn({ expected: this.#seq + 1, got: ev.seq }, 'missed presence events; resyncing');
      this.#needsSync = true;
    }
    this.#seq = ev.seq;
    this.#suspects.delete(ev.key);
    const local = ev.node === this.nodeId ? this.#byKey.get(ev.key) : undefined;
    if (ev.kind === 'joined') {
      // Another node has a nick this node thinks it holds: it was lost while this node was cut off.
      const mine = this.#byKey.get(ev.key);
      if (ev.node !== this.nodeId && mine?.live) this.#lost(ev.key, 'joined elsewhere');
      if (local && (local.member.id === ev.member || local.live)) local.receiving = true;
      const had = this.#view.get(ev.key);
      this.#view.set(ev.key, { nick: ev.nick, node: ev.node });
      if (had?.nick !== ev.nick && this.#view.size <= this.#announceLimit) this.#deliverAll('joined', eventFrame({ type: 'joined', nick: ev.nick }), local);
      return;
    }
    // A nick of this node left that this node did not give up: the node was reaped; re-assert.
    if (local?.live && ev.seq > local.seq) this.#needsSync = true;
    if (!this.#view.delete(ev.key)) return;
    if (this.#view.size < this.#announceLimit) this.#deliverAll('left', eventFrame({ type: 'left', nick: ev.nick, reason: ev.reason }), undefined);
  }

  // ---- local delivery ---------------------------------------------------

  #deliver(local: Local, frame: Buffer, lazy = false): void {
    if (!local.receiving) return;
    if (local.held) local.held.push(frame);
    else local.member.deliver(frame, lazy);
  }

  #deliverAll(kind: string, frame: Buffer, except: Local | undefined): void {
    let n = 0;
    const lazy = kind === 'joined' || kind === 'left';
    for (const l of this.#byId.values()) {
      if (l === except || !l.receiving) continue;
      this.#deliver(l, frame, lazy);
      n += 1;
    }
    if (n > 0) this.#onDelivered(kind, n);
  }

  #flushHeld(local: Local): void {
    const held = local.held;
    local.held = null;
    if (!held || this.#byId.get(local.member.id) !== local) return;
    for (const frame of held) local.member.deliver(frame);
  }

  #forget(local: Local): void {
    if (this.#byId.get(local.member.id) !== local) return;
    this.#byId.delete(local.member.id);
    if (this.#byKey.get(local.key) === local) this.#byKey.delete(local.key);
    if (local.live) this.#liveCount -= 1;
  }

  /** This node no longer holds `key` (another node has it now): its member is ended. */
  #lost(key: string, how: string): void {
    const local = this.#byKey.get(key);
    if (!local?.live) return;
    this.#log.warn({ nick: local.member.nick, how }, 'lost a nickname lease to another node; ending that session');
    this.#forget(local);
    const text = `your nickname "${local.member.nick}" was taken on another node while this server was cut off from the cluster`;
    const m = local.member as Evictable;
    if (typeof m.evict === 'function') m.evict('NICK_TAKEN', text);
    else m.deliver(eventFrame({ type: 'bye', code: 'NICK_TAKEN', text }));
  }

  async #releaseInRedis(key: string, nick: string, reason: LeaveReason): Promise<void> {
    try {
      await this.#scripts.release(this.nodeId, key, nick, reason);
    } catch (err) {
      this.#log.warn({ err, nick }, 'release failed; the next sync sends it');
      this.#unsent.set(key, { nick, reason });
      this.#needsSync = true;
    }
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
    return p;
  }
}

/** The event kind of an encoded event: its first word. */
function frameKind(frame: Buffer): string {
  const sp = frame.indexOf(0x20);
  return frame.toString('latin1', 0, sp < 0 ? Math.max(0, frame.length - 1) : sp);
}

function unavailable(): Error {
  return protocolError('CLUSTER_UNAVAILABLE', 'this server cannot reach the rest of the chat right now; try again shortly');
}

function defaultNodeId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9_.:-]/gu, '_').slice(0, 100);
}

async function quit(redis: Redis): Promise<void> {
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

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
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
