/*
 * Why this is about 600 lines: what is left here is the hub's orchestration,
 * each part of which touches the same members, view and link state: the
 * ChatHub and StoringHub methods, the heartbeat and sync that talk to Redis,
 * the bus messages and the stream entries. The parts that stand alone are
 * beside it: link-state.ts (the state machine), local-members.ts,
 * online-view.ts, connections.ts, options.ts, stream-reader.ts (the XREAD
 * loop), stream-history.ts (the history store).
 */
import type { Logger } from 'pino';
import { eventFrame, formatMessageTime, nickKey, protocolError, type ErrorCode, type LeaveReason, type MessageStamp, type ServerEvent } from '@parley/protocol';
import type { ChatHub, ClaimResult, HubMember, StoringHub } from '../hub.js';
import { sortNicks } from '../memory-hub.js';
import {
  openConnections,
  quit,
  withTimeout,
  type Connections,
  type HeartbeatReply,
  type StreamEntry,
  type StreamLimits,
  type SyncReply,
} from './connections.js';
import {
  initialLink,
  inCluster,
  isHealthy,
  isLinked,
  isOutage,
  isSyncing,
  LinkPhase,
  nextLink,
  shouldJoinNow,
  tickAction,
  type LinkEvent,
  type LinkState,
} from './link-state.js';
import { LocalMembers } from './local-members.js';
import { OnlineView, type Announcement } from './online-view.js';
import { checkedTiming, DELIVERY_WINDOW, INBOX_TTL_MS, INBOX_WINDOW, type RedisHubOptions } from './options.js';
import { keys } from './scripts.js';
import { field, StreamHistory } from './stream-history.js';
import { idTime, StreamReader, type Source } from './stream-reader.js';
import { encodeBroadcast, frameKind, parseBusMessage, type BusMessage } from './wire.js';

/** What a HubMember may also offer: a way for the hub to end it (see README: lost leases). */
type Evictable = HubMember & { evict?: (code: ErrorCode, text: string) => void };

type Presence = Extract<BusMessage, { seq: number }>;

/**
 * The Redis-backed hub: one of several nodes that are one chat. See
 * README.md beside this file for the design and its bounds. Its link to the
 * cluster is the state machine of `link-state.ts`; its members are
 * `LocalMembers`, its copy of the online list an `OnlineView`.
 */
export class RedisHub implements ChatHub, StoringHub {
  readonly nodeId: string;
  /** Chat messages go through Redis Streams (the default), not pub/sub. */
  readonly streams: boolean;
  /** Set with stream delivery: the hub stores messages as it sends them. */
  readonly storing: StoringHub | undefined;
  /** The history over the streams, when history is on. */
  readonly history: StreamHistory | undefined;
  readonly #limits: StreamLimits;
  readonly #graceMs: number;
  /** A new member's live messages wait until its join history is out. */
  readonly #holdForJoin: boolean;
  readonly #reader: StreamReader | undefined;
  /** Messages this node stored. */
  #stored = 0;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly #onDelivered: (kind: string, count: number) => void;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #redis: Connections;
  readonly #locals: LocalMembers;
  readonly #view: OnlineView;
  #link: LinkState;
  /** The number of the last presence event in the view. */
  #seq = 0;
  /** Presence events that arrived while a SYNC was out; applied after its snapshot. */
  #presenceHeld: Presence[] = [];
  /** Releases Redis has not had yet (it was unreachable); sent by the next sync. */
  readonly #unsent = new Map<string, { nick: string; reason: LeaveReason }>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** The tick in progress (a heartbeat or sync); ticks do not overlap. */
  #ticking: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;
  #firstSync: (() => void) | undefined;
  readonly firstSync: Promise<void>;

  constructor(options: RedisHubOptions) {
    ({ nodeId: this.nodeId, leaseMs: this.leaseMs, heartbeatMs: this.heartbeatMs } = checkedTiming(options));
    this.#onDelivered = options.onDelivered ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    this.#locals = new LocalMembers(this.#onDelivered);
    this.#view = new OnlineView(options.announceLimit ?? Number.POSITIVE_INFINITY, this.leaseMs);
    this.#log = options.log.child({ component: 'cluster', node: this.nodeId });
    this.firstSync = new Promise((resolve) => (this.#firstSync = resolve));
    this.streams = (options.delivery ?? 'stream') === 'stream';
    this.#link = initialLink(this.streams);
    const h = this.streams ? options.history : undefined;
    this.#limits = h
      ? { maxLen: h.maxMessages, maxAgeMs: h.maxAgeMs, inboxLen: INBOX_WINDOW, inboxTtlMs: INBOX_TTL_MS, keepPrivates: true }
      : { maxLen: DELIVERY_WINDOW, maxAgeMs: 0, inboxLen: INBOX_WINDOW, inboxTtlMs: INBOX_TTL_MS, keepPrivates: false };
    this.#graceMs = h?.privateGraceMs ?? 0;
    this.#holdForJoin = h !== undefined && h.onJoin > 0;
    this.storing = this.streams ? this : undefined;

    this.#redis = openConnections(options.url, this.nodeId, this, this.streams);
    const { cmd, sub, reader } = this.#redis;
    const hub = this;
    this.history = h
      ? new StreamHistory({
          history: (key, tenure, form, id, count) => this.#redis.scripts.streamHistory(key, tenure, form, id, count),
          tenureOf: (key) => this.#locals.byKey(key)?.tenure,
          replayed: (key, newest) => {
            const local = this.#locals.byKey(key);
            if (local) this.#locals.flushHeld(local, newest);
          },
          get stored() {
            return hub.#stored;
          },
        })
      : undefined;
    if (reader) {
      reader.on('ready', () => this.#on({ type: 'read-up' }));
      reader.on('close', () => this.#on({ type: 'read-down' }, 'lost the stream reader connection'));
      reader.on('error', (err: Error) => this.#redisError(err));
      this.#reader = new StreamReader({
        redis: reader,
        nodeId: this.nodeId,
        blockMs: this.heartbeatMs,
        count: 1000,
        log: this.#log,
        onEntry: (source, entry) => this.#onEntry(source, entry),
      });
    }
    cmd.on('ready', () => this.#on({ type: 'cmd-up' }));
    cmd.on('close', () => this.#on({ type: 'cmd-down' }, 'lost the command connection'));
    cmd.on('error', (err: Error) => this.#redisError(err));
    sub.on('ready', () => {
      sub.subscribe(keys.bus, keys.nodeChannel(this.nodeId)).then(
        () => this.#on({ type: 'sub-up' }),
        (err: unknown) => this.#log.warn({ err }, 'could not subscribe; retrying on the next heartbeat'),
      );
    });
    sub.on('close', () => this.#on({ type: 'sub-down' }, 'lost the subscriber connection'));
    sub.on('error', (err: Error) => this.#redisError(err));
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.#onMessage(message));

    this.#timer = setInterval(() => void this.#tick(), this.heartbeatMs);
    this.#timer.unref();
  }

  /**
   * True while this node is in the cluster and admits new users: connected,
   * synced, its leases renewed, and (after it had been dropped or Redis lost
   * its data) one lease has passed so that every live node re-asserted its nicks.
   */
  get healthy(): boolean {
    return isHealthy(this.#link, this.#now(), this);
  }

  /** Where the link to the cluster stands (see `link-state.ts`): for logs, metrics and tests. */
  get phase(): LinkPhase {
    return this.#link.phase;
  }

  /** Connected and synced: messages go through Redis. */
  get #linked(): boolean {
    return isLinked(this.#link, this.#now(), this);
  }

  get localCount(): number {
    return this.#locals.liveCount;
  }

  async claim(member: HubMember): Promise<ClaimResult> {
    if (!this.healthy) throw unavailable();
    const key = nickKey(member.nick);
    const mine = this.#locals.byKey(key);
    if (mine) return { ok: false, holder: mine.member.nick, online: this.#onlineCount() };
    const local = this.#locals.add(member, key);
    let reply: { ok: boolean; seq: number; tenure: number };
    try {
      // A logged-in account owner keeps their tenure (and private history) however long they were away.
      const grace = (member as { account?: string }).account !== undefined ? Number.MAX_SAFE_INTEGER : this.#graceMs;
      reply = await this.#redis.scripts.claim(this.nodeId, member.id, key, member.nick, this.leaseMs, grace);
    } catch (err) {
      // The claim may or may not have happened: the next sync settles it.
      this.#log.warn({ err }, 'claim failed');
      this.#on({ type: 'stale' });
      this.#locals.forget(local);
      throw unavailable();
    }
    // Released meanwhile: Redis has the release after the claim, on the same connection.
    if (!this.#locals.isCurrent(local)) return reply.ok ? { ok: true } : { ok: false, online: this.#onlineCount() };
    if (!reply.ok) {
      this.#locals.forget(local);
      return { ok: false, holder: this.#view.get(key)?.nick, online: this.#onlineCount() };
    }
    this.#locals.markLive(local, reply.seq);
    local.tenure = reply.tenure;
    if (this.#holdForJoin) {
      // Its session sends `welcome` and the join history, then `replayed` lets the rest follow;
      // if that never comes (its session ended), held frames go after a lease at most.
      setTimeout(() => this.#locals.flushHeld(local), this.leaseMs).unref();
    } else {
      // The session sends `welcome` when this promise settles (in microtasks); what came meanwhile follows it.
      setImmediate(() => this.#locals.flushHeld(local));
    }
    return { ok: true };
  }

  release(member: HubMember, reason: LeaveReason, announce = true): Promise<void> | void {
    const local = this.#locals.byId(member.id);
    if (!local) return undefined;
    const wasLive = local.live;
    this.#locals.forget(local);
    if (!wasLive && this.#link.cmdUp) {
      // Its claim is still on its way; this release follows it on the same connection.
      return this.#track(this.#releaseInRedis(local.key, member.nick, reason));
    }
    if (!wasLive) return undefined;
    if (!announce) this.#view.delete(local.key);
    if (!this.#linked) {
      if (announce) this.#announce(this.#view.left(local.key, member.nick, reason));
      this.#unsent.set(local.key, { nick: member.nick, reason });
      this.#on({ type: 'stale' });
      return undefined;
    }
    return this.#track(this.#releaseInRedis(local.key, member.nick, reason));
  }

  /** How many are online, as `online()` would list them, without listing them. */
  #onlineCount(): number {
    const linked = this.#linked;
    let n = linked ? this.#view.size : 0;
    for (const l of this.#locals.values()) if (l.live && !(linked && this.#view.has(l.key))) n += 1;
    return n;
  }

  online(): string[] {
    const nicks = new Map<string, string>();
    if (this.#linked) for (const [key, seen] of this.#view.entries()) nicks.set(key, seen.nick);
    for (const l of this.#locals.values()) if (l.live) nicks.set(l.key, l.member.nick);
    return sortNicks(nicks.values());
  }

  broadcast(from: HubMember, event: ServerEvent): void {
    if (this.streams && event.type === 'broadcast') {
      this.sendBroadcast(from, event.text).catch((err: unknown) => this.#log.debug({ err }, 'broadcast may be lost: Redis did not confirm it'));
      return;
    }
    const local = this.#locals.byId(from.id);
    if (!local?.live) {
      this.#log.debug({ member: from.id }, 'broadcast from a member without a nick; dropped');
      return;
    }
    const frame = eventFrame(event);
    if (!this.#linked) {
      this.#locals.deliverAll(event.type, frame, local);
      return;
    }
    this.#redis.cmd.publish(keys.bus, encodeBroadcast(this.nodeId, from.id, frame)).catch((err: unknown) => {
      this.#log.debug({ err }, 'broadcast lost: Redis did not take it');
    });
  }

  async sendBroadcast(from: HubMember, text: string): Promise<MessageStamp | undefined> {
    const local = this.#locals.byId(from.id);
    if (!local?.live) {
      this.#log.debug({ member: from.id }, 'broadcast from a member without a nick; dropped');
      return undefined;
    }
    if (!this.#linked) {
      this.#locals.deliverAll('broadcast', eventFrame({ type: 'broadcast', from: from.nick, text }), local);
      return undefined;
    }
    // Delivered when it comes back from the room stream, on every node alike: stored before anyone sees it.
    const id = await this.#redis.scripts.streamBroadcast(this.nodeId, from.id, from.nick, text, this.#limits);
    this.#stored += 1;
    return stamp(id);
  }

  async sendPrivate(from: HubMember, to: string, text: string): Promise<{ delivered: boolean; stamp?: MessageStamp }> {
    const key = nickKey(to);
    if (!this.#linked) {
      const local = this.#locals.byKey(key);
      if (!local?.live) return { delivered: false };
      this.#locals.deliver(local, eventFrame({ type: 'private', from: from.nick, to: local.member.nick, text }));
      this.#onDelivered('private', 1);
      return { delivered: true };
    }
    const fromKey = this.#locals.byId(from.id)?.key ?? nickKey(from.nick);
    const reply = await this.#redis.scripts.streamPrivate(this.nodeId, from.id, fromKey, from.nick, key, text, this.#limits);
    if (!reply) return { delivered: false };
    this.#stored += 1;
    return { delivered: true, stamp: stamp(reply.id) };
  }

  privateMessage(from: HubMember, to: string, text: string): boolean | Promise<boolean> {
    if (this.streams) {
      return this.sendPrivate(from, to, text).then(
        (r) => r.delivered,
        (err: unknown) => {
          this.#log.warn({ err }, 'private message may not have been sent through Redis');
          return false;
        },
      );
    }
    const key = nickKey(to);
    const local = this.#locals.byKey(key);
    if (local?.live) {
      this.#locals.deliver(local, eventFrame({ type: 'private', from: from.nick, to: local.member.nick, text }));
      this.#onDelivered('private', 1);
      return true;
    }
    if (!this.#linked) return false;
    return this.#redis.scripts.private(key, from.nick, text).then(
      (receivers) => receivers > 0,
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
    this.#on({ type: 'close' });
    this.#reader?.close();
    await withTimeout(Promise.allSettled([...this.#inflight]), this.leaseMs);
    if (this.#link.cmdUp) {
      try {
        await withTimeout(this.#redis.scripts.goodbye(this.nodeId), this.leaseMs);
      } catch (err) {
        this.#log.warn({ err }, 'could not say goodbye to the cluster; its leases will time out');
      }
    }
    this.#locals.clear();
    const { reader } = this.#redis;
    // A blocked XREAD would hold QUIT for a heartbeat: that connection is just dropped.
    reader?.disconnect();
    await Promise.allSettled([quit(this.#redis.cmd), quit(this.#redis.sub), this.#reader?.done]);
    this.#firstSync?.();
  }

  // ---- the link to the cluster -------------------------------------------

  /** Applies one event to the link state; logs the outage once, and joins as soon as both connections are up. */
  #on(event: LinkEvent, why?: string): void {
    const before = this.#link;
    this.#link = nextLink(before, event, this);
    if (why !== undefined && !isOutage(before) && isOutage(this.#link)) {
      this.#log.warn({ why }, 'cluster unavailable: Redis cannot be reached; refusing new logins, local users chat locally');
    }
    if (shouldJoinNow(this.#link)) void this.#sync();
  }

  #redisError(err: Error): void {
    if (this.#link.phase === LinkPhase.Closed) return;
    // ioredis reports every failed reconnection; one line per outage is enough.
    this.#log[isOutage(this.#link) ? 'debug' : 'warn']({ err: err.message }, 'redis error');
  }

  #tick(): Promise<void> {
    if (this.#ticking || this.#link.phase === LinkPhase.Closed) return Promise.resolve();
    if (this.#linked) this.#announce(...this.#view.expireSuspects(this.#now()));
    const now = this.#now();
    switch (tickAction(this.#link, now, this)) {
      case 'none':
        return Promise.resolve();
      case 'reconnect-subscriber':
        this.#log.warn('the subscriber connection hears nothing; reconnecting it');
        this.#on({ type: 'echo', now });
        this.#on({ type: 'sub-down' }, 'subscriber connection silent');
        this.#redis.sub.disconnect(true);
        return Promise.resolve();
      case 'sync':
        return this.#runTick(this.#sync());
      case 'heartbeat':
        return this.#runTick(this.#heartbeat());
    }
  }

  async #runTick(work: Promise<void>): Promise<void> {
    this.#ticking = work;
    try {
      await work;
    } finally {
      this.#ticking = undefined;
    }
  }

  async #heartbeat(): Promise<void> {
    let reply: HeartbeatReply;
    try {
      reply = await this.#redis.scripts.heartbeat(this.nodeId, this.leaseMs);
    } catch (err) {
      this.#log.warn({ err }, 'heartbeat failed');
      this.#on({ type: 'beat-failed', now: this.#now() }, 'no heartbeat for a lease');
      return;
    }
    this.#on({ type: 'beat', now: this.#now() });
    if (reply.reaped > 0) this.#log.info({ users: reply.reaped }, 'reaped the users of nodes that stopped heartbeating');
    for (const key of reply.lost) this.#lost(key, 'heartbeat');
    if (reply.registered) {
      this.#log.warn('this node had been dropped from the cluster (missed heartbeats, or Redis lost its data); re-asserting its leases');
      // This heartbeat put the node back in the node set, so the SYNC will not find it missing: say so.
      await this.#sync(true);
    }
  }

  /** `dropped`: a heartbeat found Redis did not know this node (the SYNC then waits one lease before admitting, as when it finds that itself). */
  async #sync(dropped = false): Promise<void> {
    if (isSyncing(this.#link) || this.#link.phase === LinkPhase.Closed) return;
    this.#on({ type: 'sync-sent' });
    this.#presenceHeld = [];
    const releases = [...this.#unsent];
    const members = [...this.#locals.values()].map((m) => ({ key: m.key, nick: m.member.nick, live: m.live, tenure: m.tenure }));
    let reply: SyncReply;
    try {
      reply = await this.#redis.scripts.sync(this.nodeId, this.leaseMs, releases, members);
    } catch (err) {
      this.#presenceHeld = [];
      this.#on({ type: 'sync-failed' });
      this.#log.warn({ err }, 'sync with the cluster failed; retrying on the next heartbeat');
      return;
    }
    for (const [key, r] of releases) if (this.#unsent.get(key) === r) this.#unsent.delete(key);
    const { seq, lost, online } = reply;
    const registered = reply.registered || dropped;
    const before = this.#link;
    const now = this.#now();
    this.#seq = seq;
    const joins = this.#view.adoptSnapshot(online, now);
    for (const m of this.#locals.values()) {
      if (!m.live) continue;
      m.receiving = true;
      m.seq = seq;
    }
    // Releases made while this sync was on its way go with the next one.
    this.#on({ type: 'synced', now, registered, stale: this.#unsent.size > 0 });
    this.#announce(...joins);
    if (registered && before.joinedOnce) {
      // This node had been dropped, or Redis lost its data: other nodes may not have re-asserted yet.
      this.#log.info({ ms: this.leaseMs }, 'rejoined the cluster; admitting new users after one lease, once every node re-asserted its nicknames');
    }
    const held = this.#presenceHeld;
    this.#presenceHeld = [];
    for (const ev of held) this.#presence(ev);
    for (const key of lost) this.#lost(key, 'sync');
    if (!before.joinedOnce && inCluster(this.#link)) {
      this.#log.info({ online: this.#view.size, leaseMs: this.leaseMs, heartbeatMs: this.heartbeatMs }, 'joined the cluster');
      this.#firstSync?.();
    } else if (before.phase === LinkPhase.Syncing && inCluster(this.#link)) {
      this.#log.info({ online: this.#view.size, resent: releases.length }, 'cluster available again: leases re-asserted');
    }
  }

  // ---- messages from Redis ----------------------------------------------

  /** A message from the room stream or this node's inbox, in id order, once. */
  #onEntry(source: Source, [id, fields]: StreamEntry): void {
    const from = field(fields, 'f');
    const text = field(fields, 'x');
    if (from === undefined || text === undefined) {
      this.#log.warn({ id, source }, 'malformed stream entry dropped');
      return;
    }
    const time = formatMessageTime(idTime(id));
    if (source === 'room') {
      const sender = field(fields, 'n') === this.nodeId ? this.#locals.byId(field(fields, 'm') ?? '') : undefined;
      const event = { type: 'broadcast', from, text } as const;
      let stamped: Buffer | undefined;
      this.#locals.deliverMessage('broadcast', id, eventFrame(event), () => (stamped ??= eventFrame({ ...event, id, time })), sender);
      return;
    }
    const local = this.#locals.byKey(field(fields, 'tk') ?? '');
    if (!local?.live) return;
    const event = { type: 'private', from, to: local.member.nick, text } as const;
    this.#locals.deliver(local, eventFrame(local.member.ids ? { ...event, id, time } : event), false, id);
    this.#onDelivered('private', 1);
  }

  #onMessage(message: Buffer): void {
    const msg = parseBusMessage(message);
    if (!msg) {
      this.#log.warn({ bytes: message.length }, 'malformed cluster message dropped');
      return;
    }
    switch (msg.kind) {
      case 'broadcast': {
        const from = msg.node === this.nodeId ? this.#locals.byId(msg.member) : undefined;
        this.#locals.deliverAll(frameKind(msg.frame), msg.frame, from);
        return;
      }
      case 'echo':
        this.#on({ type: 'echo', now: this.#now() });
        return;
      case 'private': {
        const local = this.#locals.byKey(msg.key);
        if (!local?.live) return;
        this.#locals.deliver(local, eventFrame({ type: 'private', from: msg.from, to: local.member.nick, text: msg.text }));
        this.#onDelivered('private', 1);
        return;
      }
      default:
        this.#presence(msg);
    }
  }

  #presence(ev: Presence): void {
    if (isSyncing(this.#link)) {
      this.#presenceHeld.push(ev);
      return;
    }
    if (!this.#linked) {
      // Late news from before an outage: the next sync brings the whole list.
      this.#on({ type: 'stale' });
      return;
    }
    if (ev.seq <= this.#seq) return; // already in the snapshot
    if (ev.seq !== this.#seq + 1) {
      this.#log.warn({ expected: this.#seq + 1, got: ev.seq }, 'missed presence events; resyncing');
      this.#on({ type: 'stale' });
    }
    this.#seq = ev.seq;
    const local = ev.node === this.nodeId ? this.#locals.byKey(ev.key) : undefined;
    if (ev.kind === 'joined') {
      // Another node has a nick this node thinks it holds: it was lost while this node was cut off.
      const mine = this.#locals.byKey(ev.key);
      if (ev.node !== this.nodeId && mine?.live) this.#lost(ev.key, 'joined elsewhere');
      if (local && (local.member.id === ev.member || local.live)) local.receiving = true;
      this.#announce(this.#view.joined(ev.key, ev.nick, ev.node));
      return;
    }
    // A nick of this node left that this node did not give up: the node was reaped; re-assert.
    if (local?.live && ev.seq > local.seq) this.#on({ type: 'stale' });
    this.#announce(this.#view.left(ev.key, ev.nick, ev.reason));
  }

  // ---- local delivery ---------------------------------------------------

  /** Tells this node's users; a join is not sent to the member who joined (its session sends its own welcome). */
  #announce(...announcements: (Announcement | undefined)[]): void {
    for (const a of announcements) {
      if (!a) continue;
      if (a.type === 'joined') {
        const subject = a.node === this.nodeId ? this.#locals.byKey(a.key) : undefined;
        this.#locals.deliverAll('joined', eventFrame({ type: 'joined', nick: a.nick }), subject);
      } else {
        this.#locals.deliverAll('left', eventFrame({ type: 'left', nick: a.nick, reason: a.reason }), undefined);
      }
    }
  }

  /** This node no longer holds `key` (another node has it now): its member is ended. */
  #lost(key: string, how: string): void {
    const local = this.#locals.byKey(key);
    if (!local?.live) return;
    this.#log.warn({ nick: local.member.nick, how }, 'lost a nickname lease to another node; ending that session');
    this.#locals.forget(local);
    const text = `your nickname "${local.member.nick}" was taken on another node while this server was cut off from the cluster`;
    const m = local.member as Evictable;
    if (typeof m.evict === 'function') m.evict('NICK_TAKEN', text);
    else m.deliver(eventFrame({ type: 'bye', code: 'NICK_TAKEN', text }));
  }

  async #releaseInRedis(key: string, nick: string, reason: LeaveReason): Promise<void> {
    try {
      await this.#redis.scripts.release(this.nodeId, key, nick, reason);
    } catch (err) {
      this.#log.warn({ err, nick }, 'release failed; the next sync sends it');
      this.#unsent.set(key, { nick, reason });
      this.#on({ type: 'stale' });
    }
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
    return p;
  }
}

function stamp(id: string): MessageStamp {
  return { id, time: formatMessageTime(idTime(id)) };
}

function unavailable(): Error {
  return protocolError('CLUSTER_UNAVAILABLE', 'this server cannot reach the rest of the chat right now; try again shortly');
}
