import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatServer, FileLibrary, type ChatOptions } from '../src/index.js';
import { createRedisHub, type ClusterHub } from '../src/cluster/index.js';
import { startRedisServer, type RedisProcess } from '@parley/test-support';
import { RawClient, silent } from './helpers.js';

/**
 * Several real chat servers, each with its own Redis hub, on one real
 * redis-server (started per test on a free port, killed by PID after).
 * Short leases so that a dead node is noticed quickly.
 */
const LEASE_MS = 1000;
const HEARTBEAT_MS = 200;
/** The documented bound for a dead node's users to leave, plus slack for a loaded 2-core machine. */
const DEAD_NODE_BOUND_MS = LEASE_MS + HEARTBEAT_MS + 1500;

interface Node {
  readonly hub: ClusterHub;
  readonly port: number;
  join(nick: string): Promise<RawClient>;
  /** Connects and sends `nick`; resolves with the client and the first line after the prompt. */
  tryJoin(nick: string): Promise<{ client: RawClient; answer: string }>;
  stop(): Promise<void>;
}

let redis: RedisProcess;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await redis.stop('SIGKILL');
});

async function startNode(nodeId: string, options: Partial<ChatOptions> = {}): Promise<Node> {
  const filesDir = await mkdtemp(join(tmpdir(), 'parley-cluster-'));
  const files = new FileLibrary(filesDir);
  await files.ensure();
  const hub = await createRedisHub({ url: redis.url, log: silent, nodeId, leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS });
  expect(hub.healthy).toBe(true);
  const server = new ChatServer({ files, log: silent, hub, options });
  const { port } = await server.listen(0, '127.0.0.1');
  const clients: RawClient[] = [];
  let stopped = false;
  const node: Node = {
    hub,
    port,
    async join(nick) {
      const c = await RawClient.join(port, nick);
      clients.push(c);
      expect(c.lines.some((l) => l.startsWith(`welcome 2 ${nick} `))).toBe(true);
      return c;
    },
    async tryJoin(nick) {
      const client = await RawClient.connect(port);
      clients.push(client);
      client.send(nick);
      const answer = await client.waitFor((l) => !l.startsWith('info '));
      return { client, answer };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of clients) c.close();
      await server.close(500);
      await rm(filesDir, { recursive: true, force: true });
    },
  };
  cleanups.push(() => node.stop());
  return node;
}

function onlineLine(nicks: string[]): string {
  return `online ${nicks.length} ${nicks.join(' ')}`;
}

describe('several nodes are one chat', () => {
  it('delivers a broadcast to users on every node, in one order everywhere', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    const alice = await a.join('alice');
    const bob = await b.join('bob');
    const carol = await c.join('carol');
    const dave = await a.join('dave');
    for (let i = 0; i < 10; i++) {
      alice.send(`broadcast,a${i}`);
      bob.send(`broadcast,b${i}`);
    }
    const said = (l: string): boolean => /^broadcast (alice|bob) :[ab]\d$/u.test(l);
    for (const [who, last] of [
      [carol, 'broadcast alice :a9'],
      [dave, 'broadcast alice :a9'],
      [carol, 'broadcast bob :b9'],
      [dave, 'broadcast bob :b9'],
    ] as const) {
      await who.waitFor((l) => l === last);
    }
    expect(carol.lines.filter(said)).toHaveLength(20);
    expect(dave.lines.filter(said)).toEqual(carol.lines.filter(said));
    await alice.waitFor((l) => l === 'broadcast bob :b9');
    await bob.waitFor((l) => l === 'broadcast alice :a9');
    expect(alice.lines.filter(said)).toEqual(carol.lines.filter((l) => said(l) && l.startsWith('broadcast bob ')));
  });

  it('delivers a private message to the node of its recipient, by any case of the nickname', async () => {
    const [a, b] = [await startNode('a'), await startNode('b')];
    const alice = await a.join('alice');
    const bob = await b.join('Bob');
    alice.send('BOB,over here');
    await bob.waitFor((l) => l === 'private alice Bob :over here');
    const answer = await alice.ask('nobody,hello?', (l) => l.startsWith('error '));
    expect(answer).toMatch(/^error UNKNOWN_USER /u);
  });

  it('lists the users of every node in online and tells every node who joins and leaves', async () => {
    const [a, b] = [await startNode('a'), await startNode('b')];
    const alice = await a.join('alice');
    const bob = await b.join('bob');
    expect(bob.lines).toContain(onlineLine(['alice', 'bob']));
    await alice.waitFor((l) => l === 'joined bob');
    expect(await alice.ask('online', (l) => l.startsWith('online '))).toBe(onlineLine(['alice', 'bob']));
    bob.send('exit');
    await alice.waitFor((l) => l === 'left bob quit');
    expect(await alice.ask('online', (l) => l.startsWith('online '))).toBe(onlineLine(['alice']));
  });

  it('refuses a nickname held on another node, in any case', async () => {
    const [a, b] = [await startNode('a'), await startNode('b')];
    await a.join('alice');
    const { answer } = await b.tryJoin('ALICE');
    expect(answer).toBe('error NICK_TAKEN :nickname "ALICE" is taken (1 user online). Send another nickname.');
  });

  it('greets a user who joins while others talk before any of their messages', async () => {
    const unlimited = { rate: 1e6, burst: 1e6 };
    const [a, b] = [await startNode('a', unlimited), await startNode('b', unlimited)];
    const bob = await b.join('bob');
    const talk = setInterval(() => bob.send('broadcast,chatter'), 1);
    try {
      for (const nick of ['carol', 'dave', 'erin']) {
        const c = await a.join(nick);
        await c.waitFor((l) => l === 'broadcast bob :chatter');
        expect(bob.closed).toBe(false);
        const first = c.lines.findIndex((l) => !l.startsWith('info '));
        expect(c.lines[first]).toMatch(new RegExp(`^welcome 2 ${nick} `, 'u'));
        expect(c.lines[first + 1]).toMatch(/^online /u);
      }
    } finally {
      clearInterval(talk);
    }
  });

  it('admits a nickname once on a race between two nodes', async () => {
    const [a, b] = [await startNode('a'), await startNode('b')];
    const tries = await Promise.all([a.tryJoin('zed'), b.tryJoin('Zed')]);
    const answers = tries.map((t) => t.answer.split(' ')[0]);
    expect(answers.sort()).toEqual(['error', 'welcome']);
  });
});

describe('a node that stops', () => {
  it('tells the other nodes its users left when it shuts down cleanly', async () => {
    const [a, b] = [await startNode('a'), await startNode('b')];
    const alice = await a.join('alice');
    await b.join('bob');
    await alice.waitFor((l) => l === 'joined bob');
    await b.stop();
    await alice.waitFor((l) => l === 'left bob shutdown');
    expect(await alice.ask('online', (l) => l.startsWith('online '))).toBe(onlineLine(['alice']));
  });
});

describe('a node that dies', () => {
  it('is gone with its users from every other node within the lease bound after SIGKILL', async () => {
    const a = await startNode('a');
    const child = await spawnNode('doomed');
    const alice = await a.join('alice');
    const bob = await RawClient.join(child.port, 'bob');
    const carol = await RawClient.join(child.port, 'carol');
    await alice.waitFor((l) => l === 'joined carol');
    child.process.kill('SIGKILL');
    await alice.waitFor((l) => l === 'left bob timeout', DEAD_NODE_BOUND_MS);
    await alice.waitFor((l) => l === 'left carol timeout', DEAD_NODE_BOUND_MS);
    expect(await alice.ask('online', (l) => l.startsWith('online '))).toBe(onlineLine(['alice']));
    // Their nicknames are free again, on any node.
    await a.join('Bob');
    bob.close();
    carol.close();
  });
});

describe('Redis stopped and started again', () => {
  it('keeps local users chatting, refuses new logins, then rejoins with its leases by itself', async () => {
    const [a, b] = [await startNode('a'), await startNode('b')];
    const alice = await a.join('alice');
    const carol = await a.join('carol');
    const bob = await b.join('bob');
    await alice.waitFor((l) => l === 'joined bob');

    await redis.stop('SIGKILL');
    await expect.poll(() => [a.hub.healthy, b.hub.healthy], { message: 'both nodes see Redis is gone', timeout: 5000 }).toEqual([false, false]);

    alice.send('broadcast,still here?');
    await carol.waitFor((l) => l === 'broadcast alice :still here?');
    const refused = await a.tryJoin('dave');
    // The session reports the hub's refusal; SERVER_FULL until it passes CLUSTER_UNAVAILABLE through.
    expect(refused.answer).toMatch(/^error (CLUSTER_UNAVAILABLE|SERVER_FULL) /u);
    expect(await alice.ask('online', (l) => l.startsWith('online '))).toBe(onlineLine(['alice', 'carol']));

    redis = await startRedisServer({ port: redis.port });
    await expect.poll(() => [a.hub.healthy, b.hub.healthy], { message: 'both nodes are back in the cluster', timeout: 10_000 }).toEqual([true, true]);

    // bob's lease was re-asserted by node b: nobody can take his nickname on node a.
    const dup = await a.tryJoin('Bob');
    expect(dup.answer).toMatch(/^error NICK_TAKEN /u);
    alice.send('broadcast,back');
    await bob.waitFor((l) => l === 'broadcast alice :back');
    expect(await bob.ask('online', (l) => l.startsWith('online '))).toBe(onlineLine(['alice', 'bob', 'carol']));
    // A later marker from node b: a stray leave or join of bob's would have reached alice before it.
    bob.send('broadcast,marker');
    await alice.waitFor((l) => l === 'broadcast bob :marker');
    // Nobody was told that anyone left or joined again across the gap.
    expect(alice.lines.filter((l) => l.startsWith('left ') || l === 'joined bob')).toEqual(['joined bob']);
  });
});

// ---- a node in its own process, for SIGKILL ---------------------------------

const serverDir = fileURLToPath(new URL('..', import.meta.url));

async function spawnNode(nodeId: string): Promise<{ process: ChildProcess; port: number }> {
  const dist = join(serverDir, 'dist');
  for (const f of ['index.js', 'cluster/index.js']) {
    if (!existsSync(join(dist, f)))
      throw new Error(`${join(dist, f)} is missing: build the server first (node scripts/pnpm.mjs --filter @parley/server... build)`);
  }
  const filesDir = await mkdtemp(join(tmpdir(), 'parley-cluster-child-'));
  const script = `
    import { pino } from 'pino';
    import { ChatServer, FileLibrary } from ${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)};
    import { createRedisHub } from ${JSON.stringify(pathToFileURL(join(dist, 'cluster/index.js')).href)};
    const log = pino({ level: 'warn' }, process.stderr);
    const hub = await createRedisHub({ url: process.env.REDIS_URL, log, nodeId: process.env.NODE_ID, leaseMs: ${LEASE_MS}, heartbeatMs: ${HEARTBEAT_MS} });
    const files = new FileLibrary(process.env.FILES_DIR);
    await files.ensure();
    const chat = new ChatServer({ files, log, hub });
    const { port } = await chat.listen(0, '127.0.0.1');
    process.stdout.write(JSON.stringify({ port, healthy: hub.healthy }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: serverDir,
    env: { ...process.env, REDIS_URL: redis.url, NODE_ID: nodeId, FILES_DIR: filesDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(filesDir, { recursive: true, force: true });
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`node ${nodeId} did not start in 10 s; stderr:\n${stderr}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const started = JSON.parse(out.slice(0, nl)) as { port: number; healthy: boolean };
      if (!started.healthy) reject(new Error(`node ${nodeId} started outside the cluster; stderr:\n${stderr}`));
      else resolve(started.port);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node ${nodeId} exited (code ${code}, signal ${signal}) before it was ready; stderr:\n${stderr}`));
    });
  });
  return { process: child, port };
}
