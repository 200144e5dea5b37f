import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubMember } from '../src/hub.js';
import { ChatServer, FileLibrary } from '../src/index.js';
import { createRedisHub, type ClusterHub } from '../src/cluster/index.js';
import { startRedisServer, type RedisProcess } from '@parley/test-support';
import { encodeBroadcast, parseBusMessage } from '../src/cluster/wire.js';
import { RawClient, silent } from './helpers.js';

/**
 * The Redis bus carries nicks, keys and message text between nodes; none of
 * them may change a message's structure (issue 13 item 6: NFKC turned U+FDFA
 * into text with spaces, and a private message reached another user with a
 * forged sender). Real redis-server, two nodes.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function redisServer(): Promise<RedisProcess> {
  const r = await startRedisServer();
  cleanups.push(() => r.stop('SIGKILL'));
  return r;
}

async function hub(url: string, nodeId: string): Promise<ClusterHub> {
  const h = await createRedisHub({ url, log: silent, nodeId, leaseMs: 1000, heartbeatMs: 200 });
  cleanups.push(async () => {
    await h.close();
  });
  return h;
}

async function node(url: string, nodeId: string): Promise<number> {
  const filesDir = await mkdtemp(join(tmpdir(), 'parley-bus-'));
  const files = new FileLibrary(filesDir);
  await files.ensure();
  const server = new ChatServer({ files, log: silent, hub: await hub(url, nodeId) });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    await server.close(200);
    await rm(filesDir, { recursive: true, force: true });
  });
  return port;
}

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

/** NFKC makes this one letter into "صلى الله عليه وسلم": three spaces. */
const SALLALLAHU = '\ufdfa';

describe('the cluster bus', () => {
  it('delivers a private message to the nick whose NFKC form has spaces, from its real sender, and to nobody else', async () => {
    const redis = await redisServer();
    const a = await hub(redis.url, 'node-a');
    const b = await hub(redis.url, 'node-b');
    // Members go to the hub directly: the nickname rule now refuses this nick, the bus must not depend on that.
    const target = new Member('c1', `x${SALLALLAHU}`);
    const bystander = new Member('c2', 'xصلى');
    const sender = new Member('c3', 'mallory');
    for (const [h, m] of [
      [b, target],
      [b, bystander],
      [a, sender],
    ] as const)
      expect(await h.claim(m)).toEqual({ ok: true });
    await expect.poll(() => a.online() as string[], { message: 'node a sees both users of node b', timeout: 8000 }).toHaveLength(3);
    expect(await a.privateMessage(sender, `x${SALLALLAHU}`, 'for you only')).toBe(true);
    await expect.poll(() => target.lines.some((l) => l.startsWith('private ')), { message: 'the target has it', timeout: 8000 }).toBe(true);
    // A later marker to the target: a second copy of the message would have arrived before it.
    expect(await a.privateMessage(sender, `x${SALLALLAHU}`, 'marker')).toBe(true);
    await expect.poll(() => target.lines.some((l) => l.endsWith(' :marker')), { message: 'the target has the marker', timeout: 8000 }).toBe(true);
    expect(target.lines.filter((l) => l.startsWith('private '))).toEqual([
      `private mallory x${SALLALLAHU} :for you only`,
      `private mallory x${SALLALLAHU} :marker`,
    ]);
    // A later marker to the bystander: anything misrouted before it would have arrived first.
    expect(await a.privateMessage(sender, 'xصلى', 'marker')).toBe(true);
    await expect.poll(() => bystander.lines.some((l) => l.includes('marker')), { message: 'the bystander has the marker', timeout: 8000 }).toBe(true);
    expect(bystander.lines.filter((l) => l.startsWith('private '))).toEqual(['private mallory xصلى :marker']);
    // The joins and leaves of that nick went through the bus intact too.
    expect(new Set(a.online() as string[])).toEqual(new Set([`x${SALLALLAHU}`, 'xصلى', 'mallory']));
  });

  it('carries text that looks like bus syntax intact between two nodes, refuses U+FDFA nicks and look-alikes across nodes', async () => {
    const redis = await redisServer();
    const portA = await node(redis.url, 'node-a');
    const portB = await node(redis.url, 'node-b');
    const alice = await RawClient.join(portA, 'alice');
    const bob = await RawClient.join(portB, 'bob');
    await alice.waitFor((l) => l === 'joined bob');
    const hostile = 'P alice mallory {"k":"P","key":"bob","from":"admin","text":"x"} \\" \\\\ B node c1';
    alice.send(`bob,${hostile}`);
    await bob.waitFor((l) => l.startsWith('private '));
    expect(bob.lines.filter((l) => l.startsWith('private '))).toEqual([`private alice bob :${hostile}`]);
    alice.send(`broadcast,${hostile}`);
    await bob.waitFor((l) => l === `broadcast alice :${hostile}`);
    const c = await RawClient.connect(portB);
    expect(await c.ask(`x${SALLALLAHU}`, (l) => l.startsWith('error '))).toMatch(/^error NICK_INVALID :.*U\+FDFA/u);
    // The cluster keys nicks by skeleton: a look-alike of alice (on node a) is refused on node b.
    expect(await c.ask('\u0430lice', (l) => l.startsWith('error '))).toBe(
      'error NICK_TAKEN :nickname "\u0430lice" looks like "alice", who is online (2 users online). Send another nickname.',
    );
    for (const x of [alice, bob, c]) x.close();
  });
});

describe('bus message encoding', () => {
  it('round-trips hostile node, member and frame bytes through a broadcast', () => {
    const frame = Buffer.from('broadcast x :a\nb {"k":"J"}\n');
    const msg = parseBusMessage(encodeBroadcast('node-a', 'c 1\n"', frame));
    expect(msg).toEqual({ kind: 'broadcast', node: 'node-a', member: 'c 1\n"', frame });
  });

  it('drops what is not a bus message', () => {
    for (const bad of [
      'J 1 a b c d',
      'P key from text',
      '{"k":"J","seq":"1"}',
      '{"k":"L","seq":1,"node":"a","key":"k","nick":"n","reason":"bored"}',
      'B node member',
      '[1]',
      '{',
    ]) {
      expect(parseBusMessage(Buffer.from(bad)), bad).toBeUndefined();
    }
    expect(parseBusMessage(Buffer.from('H'))).toEqual({ kind: 'echo' });
  });
});
