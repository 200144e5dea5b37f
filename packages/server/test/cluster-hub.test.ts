import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { ParleyProtocolError, type ErrorCode } from '@parley/protocol';
import type { HubMember } from '../src/hub.js';
import { Redis } from 'ioredis';
import { createRedisHub, LinkPhase, RedisHub, type ClusterHub } from '../src/cluster/index.js';
import { freePort, startRedisServer, type RedisProcess } from '@parley/test-support';

/** The Redis hub on its own: outages, partitions and lost leases, with fake members. */

const silent = pino({ level: 'silent' });
const LEASE_MS = 1000;
const HEARTBEAT_MS = 200;

class Member implements HubMember {
  readonly lines: string[] = [];
  evicted: { code: ErrorCode; text: string } | undefined;
  constructor(
    readonly id: string,
    readonly nick: string,
  ) {}
  deliver(frame: Buffer): void {
    this.lines.push(frame.toString('utf8').trimEnd());
  }
  evict(code: ErrorCode, text: string): void {
    this.evicted = { code, text };
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function redisServer(port?: number): Promise<RedisProcess> {
  const r = await startRedisServer(port === undefined ? {} : { port });
  cleanups.push(() => r.stop('SIGKILL'));
  return r;
}

async function hub(url: string, nodeId: string): Promise<ClusterHub> {
  const h = await createRedisHub({ url, log: silent, nodeId, leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS });
  cleanups.push(async () => {
    await h.close();
  });
  return h;
}

/** A TCP relay to Redis that can stop forwarding without closing anything: a network partition. */
async function partitionableRelay(target: number): Promise<{ url: string; cut(): void; heal(): void }> {
  const pairs: Array<[Socket, Socket]> = [];
  let cut = false;
  const server: Server = createServer((client) => {
    const upstream = connect({ port: target, host: '127.0.0.1' });
    pairs.push([client, upstream]);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    if (cut) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  cleanups.push(async () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const each = (f: (s: Socket) => void): void => {
    for (const [a, b] of pairs) {
      f(a);
      f(b);
    }
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      cut = true;
      each((s) => s.pause());
    },
    heal() {
      cut = false;
      each((s) => s.resume());
    },
  };
}

describe('Redis hub', () => {
  it('starts unavailable when Redis is not there, refuses claims with CLUSTER_UNAVAILABLE, and joins when Redis comes', async () => {
    const port = await freePort();
    const h = await hub(`redis://127.0.0.1:${port}`, 'early');
    expect(h.healthy).toBe(false);
    const err: unknown = await Promise.resolve(h.claim(new Member('m1', 'alice'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParleyProtocolError);
    expect((err as ParleyProtocolError).code).toBe('PARLEY_ERR_CLUSTER_UNAVAILABLE');
    await redisServer(port);
    await expect.poll(() => h.healthy, { message: 'the hub is in the cluster', timeout: 8000 }).toBe(true);
    expect(await h.claim(new Member('m2', 'alice'))).toEqual({ ok: true });
  });

  it('announces joins and leaves only while the room is under its announce limit, and counts deliveries', async () => {
    const redis = await redisServer();
    const counted = new Map<string, number>();
    const h = await createRedisHub({
      url: redis.url,
      log: silent,
      nodeId: 'quiet',
      leaseMs: LEASE_MS,
      heartbeatMs: HEARTBEAT_MS,
      announceLimit: 2,
      onDelivered: (kind, n) => counted.set(kind, (counted.get(kind) ?? 0) + n),
    });
    cleanups.push(async () => {
      await h.close();
    });
    const [alice, bob, carol] = [new Member('1', 'alice'), new Member('2', 'bob'), new Member('3', 'carol')];
    for (const m of [alice, bob]) expect(await h.claim(m)).toEqual({ ok: true });
    // bob's join comes on the subscriber connection, not with his claim's answer: had carol been in
    // by then, she would have heard it too (a second delivery counted).
    await expect.poll(() => alice.lines, { message: 'alice hears bob join', timeout: 8000 }).toContain('joined bob');
    expect(await h.claim(carol)).toEqual({ ok: true });
    await h.release(carol, 'quit');
    await h.release(bob, 'quit');
    h.broadcast(alice, { type: 'broadcast', from: 'alice', text: 'anyone?' });
    await expect.poll(() => alice.lines, { message: 'alice hears bob leave', timeout: 8000 }).toContain('left bob quit');
    expect(alice.lines).toEqual(['joined bob', 'left bob quit']);
    expect(counted.get('joined')).toBe(1);
    expect(counted.get('left')).toBe(1);
    expect(counted.get('broadcast')).toBeUndefined();
  });

  it('refuses node ids that could break its messages and leases shorter than two heartbeats', () => {
    expect(() => new RedisHub({ url: 'redis://127.0.0.1:1', log: silent, nodeId: 'a b' })).toThrow(RangeError);
    expect(() => new RedisHub({ url: 'redis://127.0.0.1:1', log: silent, leaseMs: 1000, heartbeatMs: 600 })).toThrow(RangeError);
  });

  it('ends a member whose nickname another node took while this node was cut off, and no nick is held twice', async () => {
    const redis = await redisServer();
    const relay = await partitionableRelay(redis.port);
    const a = await hub(relay.url, 'a');
    const b = await hub(redis.url, 'b');
    const bobOnA = new Member('a1', 'bob');
    expect(await a.claim(bobOnA)).toEqual({ ok: true });
    const watcher = new Member('b1', 'watcher');
    expect(await b.claim(watcher)).toEqual({ ok: true });
    expect(await b.claim(new Member('b2', 'BOB'))).toMatchObject({ ok: false });

    relay.cut();
    await expect.poll(() => watcher.lines, { message: 'node b reaps node a', timeout: 8000 }).toContain('left bob timeout');
    await expect.poll(() => a.healthy, { message: 'node a knows it is cut off', timeout: 8000 }).toBe(false);
    const bobOnB = new Member('b3', 'Bob');
    expect(await b.claim(bobOnB)).toEqual({ ok: true });

    relay.heal();
    await expect.poll(() => a.healthy, { message: 'node a is back in the cluster', timeout: 8000 }).toBe(true);
    await expect.poll(() => bobOnA.evicted, { message: 'node a ends its bob', timeout: 8000 }).toBeDefined();
    expect(bobOnA.evicted?.code).toBe('NICK_TAKEN');
    expect(a.localCount).toBe(0);
    expect(bobOnB.evicted).toBeUndefined();
    expect(await a.online()).toEqual(['Bob', 'watcher']);
  });

  it('after Redis lost its data, admits new users only once a lease has passed on its clock (no real waiting)', async () => {
    const redis = await redisServer();
    let offset = 0;
    // A lease of a minute: on the real clock the grace would outlast the test.
    const lease = 60_000;
    const h = await createRedisHub({
      url: redis.url,
      log: silent,
      nodeId: 'clocked',
      leaseMs: lease,
      heartbeatMs: HEARTBEAT_MS,
      now: () => Date.now() + offset,
    });
    cleanups.push(async () => {
      await h.close();
    });
    const alice = new Member('c1', 'alice');
    expect(await h.claim(alice)).toEqual({ ok: true });
    const admin = new Redis(redis.url);
    cleanups.push(async () => void admin.disconnect());
    await admin.flushall();
    await expect.poll(() => h.healthy, { message: 'the node notices it was dropped and waits', timeout: 8000 }).toBe(false);
    expect(h.phase).toBe(LinkPhase.Linked);
    expect(Object.values(await admin.hgetall('{parley}:online'))).toEqual(['clocked alice']);
    const err: unknown = await Promise.resolve(h.claim(new Member('c2', 'bob'))).catch((e: unknown) => e);
    expect((err as ParleyProtocolError).code).toBe('PARLEY_ERR_CLUSTER_UNAVAILABLE');
    offset += lease;
    await expect.poll(() => h.healthy, { message: 'one lease later on its clock, it admits again', timeout: 3000 }).toBe(true);
    expect(await h.claim(new Member('c3', 'bob'))).toEqual({ ok: true });
    expect(alice.evicted).toBeUndefined();
  });

  it('sends the releases it could not send during an outage once Redis is back', async () => {
    const redis = await redisServer();
    const relay = await partitionableRelay(redis.port);
    const a = await hub(relay.url, 'a');
    const b = await hub(redis.url, 'b');
    const alice = new Member('a1', 'alice');
    const carol = new Member('a2', 'carol');
    const watcher = new Member('b1', 'watcher');
    for (const [h, m] of [
      [a, alice],
      [a, carol],
      [b, watcher],
    ] as const)
      expect(await h.claim(m)).toEqual({ ok: true });
    await expect.poll(() => alice.lines, { message: 'a sees the watcher', timeout: 8000 }).toContain('joined watcher');

    relay.cut();
    await expect.poll(() => a.healthy, { message: 'node a knows it is cut off', timeout: 8000 }).toBe(false);
    await a.release(alice, 'quit');
    // Local users hear it at once; the rest of the chat when Redis is back (or by the lease, whichever first).
    expect(carol.lines).toContain('left alice quit');
    relay.heal();
    await expect.poll(() => watcher.lines.some((l) => l.startsWith('left alice ')), { message: 'the watcher hears alice left', timeout: 8000 }).toBe(true);
    await expect.poll(() => a.healthy, { message: 'node a is back', timeout: 8000 }).toBe(true);
    await vi.waitFor(
      async () => {
        const online = await b.online();
        if (online.join(' ') !== 'carol watcher') {
          const detail = { b: online, a: await a.online(), watcher: watcher.lines, carol: carol.lines };
          throw new Error(`b does not list just carol and the watcher: ${JSON.stringify(detail)}`);
        }
      },
      { timeout: 8000, interval: 20 },
    );
  });
});
