import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { nickKey, type HistoryQuery } from '@parley/protocol';
import type { HubMember } from '../src/hub.js';
import type { StoredMessage } from '../src/history/message-store.js';
import { createRedisHub, type ClusterHub } from '../src/cluster/index.js';
import { startRedisServer, type RedisProcess } from '@parley/test-support';

/** The Redis hub's streams on their own (fake members, a real redis-server): tenures and history through the hub. */

const silent = pino({ level: 'silent' });
/** Nick keys (UTS #39 skeletons), as Redis holds them. */
const A = nickKey('alice');
const B = nickKey('bob');
const HISTORY = { maxMessages: 1000, maxAgeMs: 0, privateGraceMs: 60_000, onJoin: 0 };

class Member implements HubMember {
  readonly lines: string[] = [];
  constructor(
    readonly id: string,
    readonly nick: string,
  ) {}
  deliver(frame: Buffer): void {
    this.lines.push(frame.toString('utf8').trimEnd());
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ redis: RedisProcess; hub: ClusterHub; admin: Redis }> {
  const redis = await startRedisServer();
  cleanups.push(() => redis.stop('SIGKILL'));
  const hub = await createRedisHub({ url: redis.url, log: silent, nodeId: 'n1', leaseMs: 1000, heartbeatMs: 200, history: HISTORY });
  cleanups.push(async () => void (await hub.close()));
  const admin = new Redis(redis.url);
  cleanups.push(async () => void admin.disconnect());
  return { redis, hub, admin };
}

async function texts(hub: ClusterHub, m: Member, query: HistoryQuery = { form: 'last', count: 50 }): Promise<string[]> {
  const store = hub.history;
  if (!store) throw new Error('no history');
  const key = nickKey(m.nick);
  const page = await store.query({ key, tenure: store.tenureOf(key) ?? 0 }, query, 1 << 20, () => 1);
  return page.messages.map((s: StoredMessage) => `${s.kind} ${s.from}${s.to ? ` ${s.to}` : ''} :${s.text}`);
}

describe('Redis hub on streams', () => {
  it('gives a new holder of a nickname a new tenure once the grace has passed, and an old holder coming back within it the same', async () => {
    const { hub, admin } = await setup();
    const alice = new Member('c1', 'alice');
    const bob = new Member('c2', 'bob');
    expect(await hub.claim(alice)).toEqual({ ok: true });
    expect(await hub.claim(bob)).toEqual({ ok: true });
    const first = hub.history?.tenureOf(A);
    expect(await hub.storing?.sendPrivate(alice, 'bob', 'psst')).toMatchObject({ delivered: true });
    await hub.release(alice, 'quit');
    // Back within the grace: the same tenure, and her private is still hers.
    const again = new Member('c3', 'alice');
    expect(await hub.claim(again)).toEqual({ ok: true });
    expect(hub.history?.tenureOf(A)).toBe(first);
    expect(await texts(hub, again)).toEqual(['private alice bob :psst']);
    // Gone for longer than the grace (her release moved back in Redis' record): a stranger does not see it.
    await hub.release(again, 'quit');
    const [tenure] = ((await admin.hget('{parley}:tenures', A)) ?? '').split(' ');
    await admin.hset('{parley}:tenures', A, `${tenure} 1`);
    const stranger = new Member('c4', 'alice');
    expect(await hub.claim(stranger)).toEqual({ ok: true });
    expect(hub.history?.tenureOf(A)).not.toBe(first);
    expect(await texts(hub, stranger)).toEqual([]);
    expect(await texts(hub, bob)).toEqual(['private alice bob :psst']);
  });

  it('after Redis lost its data, writes back the tenures of the users it re-asserts, so their new privates stay theirs and no tenure repeats', async () => {
    const { hub, admin } = await setup();
    const alice = new Member('c1', 'alice');
    const bob = new Member('c2', 'bob');
    expect(await hub.claim(alice)).toEqual({ ok: true });
    expect(await hub.claim(bob)).toEqual({ ok: true });
    const tenures = [hub.history?.tenureOf(A), hub.history?.tenureOf(B)];
    await admin.flushall();
    await expect.poll(async () => admin.hget('{parley}:online', A), { message: 'the node re-asserts its users', timeout: 8000 }).toBe('n1 alice');
    expect(await admin.hget('{parley}:tenures', A)).toBe(`${tenures[0]} -1`);
    expect(Number(await admin.get('{parley}:tenure-seq'))).toBeGreaterThanOrEqual(Math.max(...(tenures as number[])));
    await expect.poll(() => hub.healthy, { timeout: 8000 }).toBe(true);
    expect(await hub.storing?.sendPrivate(alice, 'bob', 'after the loss')).toMatchObject({ delivered: true });
    expect(await texts(hub, alice)).toEqual(['private alice bob :after the loss']);
    expect(await texts(hub, bob)).toEqual(['private alice bob :after the loss']);
  });

  it('after a silent partition longer than a lease, delivers what was said meanwhile once, in order', async () => {
    const { redis, hub: a } = await setup();
    const relay = await pausableRelay(redis.port);
    const b = await createRedisHub({ url: relay.url, log: silent, nodeId: 'n2', leaseMs: 1000, heartbeatMs: 200 });
    cleanups.push(async () => void (await b.close()));
    const alice = new Member('c1', 'alice');
    const bob = new Member('c2', 'bob');
    expect(await a.claim(alice)).toEqual({ ok: true });
    expect(await b.claim(bob)).toEqual({ ok: true });
    await a.storing?.sendBroadcast(alice, 'before');
    await expect.poll(() => bob.lines.includes('broadcast alice :before'), { timeout: 5000 }).toBe(true);

    relay.pause();
    const said: string[] = [];
    for (let i = 1; i <= 10; i++) {
      await a.storing?.sendBroadcast(alice, `during ${i}`);
      said.push(`broadcast alice :during ${i}`);
    }
    // The partition is real and long: node b gave up on its silent connections and is trying new ones.
    const opened = relay.connections;
    await expect.poll(() => relay.connections, { message: 'b reconnects through the relay', timeout: 8000 }).toBeGreaterThan(opened);
    expect(b.healthy).toBe(false);
    relay.resume();
    await expect.poll(() => b.healthy, { message: 'b is back', timeout: 10_000 }).toBe(true);
    await a.storing?.sendBroadcast(alice, 'marker');
    await expect.poll(() => bob.lines.includes('broadcast alice :marker'), { timeout: 10_000 }).toBe(true);
    expect(bob.lines.filter((l) => l.includes(':during '))).toEqual(said);
    expect(bob.lines.filter((l) => l === 'broadcast alice :before')).toHaveLength(1);
  });

  it('answers before and after by stream id, and refuses an id it cannot have made', async () => {
    const { hub } = await setup();
    const alice = new Member('c1', 'alice');
    expect(await hub.claim(alice)).toEqual({ ok: true });
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await hub.storing?.sendBroadcast(alice, `m${i}`))?.id ?? '');
    expect(await texts(hub, alice, { form: 'before', id: ids[3] as string, count: 2 })).toEqual(['broadcast alice :m2', 'broadcast alice :m3']);
    expect(await texts(hub, alice, { form: 'after', id: ids[1] as string, count: 2 })).toEqual(['broadcast alice :m3', 'broadcast alice :m4']);
    await expect(texts(hub, alice, { form: 'after', id: '42', count: 2 })).rejects.toMatchObject({ code: 'PARLEY_ERR_BAD_ARGUMENTS' });
  });
});

/** A TCP relay to Redis that can stop forwarding without closing anything (a silent partition), and forward again. */
async function pausableRelay(target: number): Promise<{ url: string; readonly connections: number; pause(): void; resume(): void }> {
  const sockets: Socket[] = [];
  let paused = false;
  let connections = 0;
  const server: Server = createServer((client) => {
    connections += 1;
    const upstream = connect({ port: target, host: '127.0.0.1' });
    sockets.push(client, upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    if (paused) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`,
    get connections() {
      return connections;
    },
    pause() {
      paused = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      paused = false;
      for (const s of sockets) s.resume();
    },
  };
}
