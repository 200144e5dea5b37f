import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { ChatHub, HubMember } from '../src/hub.js';
import { InMemoryHub } from '../src/memory-hub.js';
import { createRedisHub } from '../src/cluster/index.js';
import { startRedisServer, type RedisProcess } from '@parley/test-support';

/**
 * What every ChatHub promises, run against the in-memory hub and the Redis
 * hub (one node, a real redis-server per test). Deliveries may come later
 * with Redis, so every check waits for its condition; to show something did
 * NOT arrive, a later broadcast is used as a barrier (a hub delivers in order).
 */

const silent = pino({ level: 'silent' });

class Member implements HubMember {
  readonly frames: Buffer[] = [];
  #waiters: Array<() => void> = [];
  constructor(
    readonly id: string,
    readonly nick: string,
  ) {}

  deliver(frame: Buffer): void {
    this.frames.push(frame);
    for (const w of this.#waiters.splice(0)) w();
  }

  get lines(): string[] {
    return this.frames.map((f) => f.toString('utf8').replace(/\n$/u, ''));
  }

  async waitFor(line: string, timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.indexOf(line);
      if (i >= 0) return i;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.nick} never got "${line}"; got:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

interface Fixture {
  readonly hub: ChatHub;
  stop(): Promise<void>;
}

const implementations: Array<[string, () => Promise<Fixture>]> = [
  ['InMemoryHub', async () => ({ hub: new InMemoryHub(), stop: async () => undefined })],
  [
    'RedisHub',
    async () => {
      const redis: RedisProcess = await startRedisServer();
      const hub = await createRedisHub({ url: redis.url, log: silent, nodeId: 'contract', leaseMs: 2000, heartbeatMs: 200 });
      if (!hub.healthy) throw new Error('the Redis hub did not join its cluster');
      return {
        hub,
        async stop() {
          await hub.close();
          await redis.stop('SIGKILL');
        },
      };
    },
  ],
];

describe.each(implementations)('ChatHub contract: %s', (_name, make) => {
  let fx: Fixture;
  let hub: ChatHub;
  let n = 0;

  beforeEach(async () => {
    fx = await make();
    hub = fx.hub;
  });
  afterEach(async () => {
    await fx.stop();
  });

  async function join(nick: string): Promise<Member> {
    const m = new Member(`m${++n}`, nick);
    const result = await hub.claim(m);
    expect(result).toEqual({ ok: true });
    return m;
  }

  /** Every frame sent before this broadcast has reached `to` once it returns. */
  async function barrier(from: Member, to: Member): Promise<void> {
    const text = `barrier ${++n}`;
    hub.broadcast(from, { type: 'broadcast', from: from.nick, text });
    await to.waitFor(`broadcast ${from.nick} :${text}`);
  }

  it('admits a free nickname and tells everyone else that it joined', async () => {
    const alice = await join('alice');
    const bob = await join('Bob');
    await alice.waitFor('joined Bob');
    await barrier(alice, bob);
    expect(bob.lines.filter((l) => l.startsWith('joined'))).toEqual([]);
  });

  it('refuses a nickname that is taken, in any case or as a look-alike, and says who holds it and how many are online', async () => {
    await join('alice');
    await join('Bob');
    expect(await hub.claim(new Member('dup', 'BOB'))).toEqual({ ok: false, holder: 'Bob', online: 2 });
    expect(await hub.claim(new Member('dup2', '\u0430lice'))).toEqual({ ok: false, holder: 'alice', online: 2 });
  });

  it('lists everyone online, sorted case-insensitively', async () => {
    await join('carol');
    await join('Alice');
    await join('bob');
    expect(await hub.online()).toEqual(['Alice', 'bob', 'carol']);
    expect(hub.localCount).toBe(3);
  });

  it('delivers a broadcast to everyone but its sender, encoded once for all', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    const carol = await join('carol');
    hub.broadcast(alice, { type: 'broadcast', from: 'alice', text: 'hello all' });
    const ib = await bob.waitFor('broadcast alice :hello all');
    const ic = await carol.waitFor('broadcast alice :hello all');
    expect(bob.frames[ib]).toBe(carol.frames[ic]);
    await barrier(bob, alice);
    expect(alice.lines).not.toContain('broadcast alice :hello all');
  });

  it('delivers broadcasts from several senders in the same order to every member', async () => {
    const members = [await join('m0'), await join('m1'), await join('m2')];
    const watcher = await join('watcher');
    for (let i = 0; i < 30; i++) {
      const from = members[i % 3] as Member;
      hub.broadcast(from, { type: 'broadcast', from: from.nick, text: `n${i}` });
    }
    await watcher.waitFor('broadcast m2 :n29');
    const order = (m: Member): string[] => m.lines.filter((l) => / :n\d+$/u.test(l));
    expect(order(watcher)).toHaveLength(30);
    for (const m of members) await m.waitFor(m === members[2] ? 'broadcast m1 :n28' : 'broadcast m2 :n29');
    for (const m of members) expect(order(m)).toEqual(order(watcher).filter((l) => !l.startsWith(`broadcast ${m.nick} `)));
  });

  it('delivers a private message by any case of the nickname, naming the recipient as they chose', async () => {
    const alice = await join('alice');
    const bob = await join('Bob');
    expect(await hub.privateMessage(alice, 'bOB', 'psst')).toBe(true);
    await bob.waitFor('private alice Bob :psst');
  });

  it('reports that nobody got a private message to a nickname nobody has', async () => {
    const alice = await join('alice');
    expect(await hub.privateMessage(alice, 'nobody', 'hello?')).toBe(false);
  });

  it('announces a release as left with its reason and frees the nickname', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    await hub.release(bob, 'quit');
    await alice.waitFor('left bob quit');
    await expect.poll(() => hub.online(), { timeout: 5000 }).not.toContain('bob');
    expect(hub.localCount).toBe(1);
    await join('BOB');
  });

  it('releases without telling anyone when asked not to announce', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    const carol = await join('carol');
    await hub.release(bob, 'shutdown', false);
    await barrier(carol, alice);
    expect(alice.lines.filter((l) => l.startsWith('left'))).toEqual([]);
  });

  it('ignores a release by a member that does not hold the nickname', async () => {
    const alice = await join('alice');
    const impostor = new Member('impostor', 'alice');
    expect(await hub.claim(impostor)).toMatchObject({ ok: false });
    await hub.release(impostor, 'quit');
    expect(await hub.online()).toEqual(['alice']);
    const bob = await join('bob');
    await barrier(bob, alice);
    expect(alice.lines).not.toContain('left alice quit');
  });
});
