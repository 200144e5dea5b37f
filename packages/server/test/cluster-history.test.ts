import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeEvent } from '@parley/protocol';
import { startRedisServer, type RedisProcess } from '@parley/test-support';
import { RawClient } from './helpers.js';
import { killServers, runServer, waitForReady } from './server-process.js';

/**
 * History and delivery through Redis Streams, with real `parley-server`
 * processes (`--cluster`) on a real redis-server: ids and order the same on
 * every node, privates for their two parties only, nothing that Redis
 * acknowledged lost when it is killed and restarted, and a node whose link
 * was cut delivering what was said meanwhile, once.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  killServers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function redisServer(options: { port?: number; args?: string[] } = {}): Promise<RedisProcess> {
  const r = await startRedisServer(options);
  cleanups.push(() => r.stop('SIGKILL'));
  return r;
}

/** Starts a node; resolves with its chat port once it printed its ready line. */
async function node(url: string, nodeId: string, extra: string[] = []): Promise<number> {
  const files = await tempDir('parley-files-');
  const data = await tempDir('parley-data-');
  const run = runServer([
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--udp-port',
    '-1',
    '--files-dir',
    files,
    '--data-dir',
    data,
    '--accounts',
    'off',
    '--log-format',
    'json',
    '--rate',
    '1000',
    '--burst',
    '1000',
    '--cluster',
    url,
    '--node-id',
    nodeId,
    '--cluster-lease',
    '1',
    '--cluster-heartbeat',
    '0.2',
    ...extra,
  ]);
  const { port, history } = await waitForReady<{ port: number; history: string }>(run, `parley-server ${nodeId}`);
  expect(history).toBe('redis streams');
  return port;
}

async function join_(port: number, nick: string, ids = true): Promise<RawClient> {
  const c = await RawClient.join(port, nick);
  cleanups.push(() => c.close());
  await c.waitFor((l) => l.startsWith('history end join '));
  if (ids) await c.ask('ids,on', (l) => l === 'ids on');
  return c;
}

/** Sends `line` and resolves with the id the cluster stored it under. */
async function send(c: RawClient, line: string): Promise<string> {
  const answer = await c.ask(line, (l) => l.startsWith('sent ') || l.startsWith('error '));
  const event = decodeEvent(answer);
  if (event.type !== 'sent') throw new Error(`"${line}" was not stored: ${answer}`);
  return event.id;
}

/** The whole answer to a history question: [id, line without id and time] in order. */
async function history(c: RawClient, question = 'history,500'): Promise<Array<[string, string]>> {
  const from = c.lines.length;
  c.send(question);
  await c.waitFor((l) => l.startsWith('history end '), 5000, from);
  const out: Array<[string, string]> = [];
  for (const l of c.lines.slice(from)) {
    if (l.startsWith('history end ')) break;
    const e = decodeEvent(l);
    if (e.type !== 'history') continue;
    const m = e.message;
    out.push([m.id, m.type === 'private' ? `private ${m.from} ${m.to} :${m.text}` : `broadcast ${m.from} :${m.text}`]);
  }
  return out;
}

describe('cluster history in Redis Streams', () => {
  it('answers history with the same ids in the same order on every node, and replays it on join', async () => {
    const redis = await redisServer();
    const [a, b] = [await node(redis.url, 'a'), await node(redis.url, 'b')];
    const alice = await join_(a, 'alice');
    const bob = await join_(b, 'bob');
    await alice.waitFor((l) => l === 'joined bob');
    const sent: string[] = [];
    for (let i = 1; i <= 10; i++) {
      sent.push(await send(alice, `broadcast,from a ${i}`));
      sent.push(await send(bob, `broadcast,from b ${i}`));
    }
    // Every node delivered every message with the id its sender was given.
    await bob.waitFor((l) => l.startsWith(`broadcast alice ${sent[18]} `));
    await alice.waitFor((l) => l.startsWith(`broadcast bob ${sent[19]} `));

    const onA = await history(alice);
    const onB = await history(bob);
    expect(onA.map(([id]) => id)).toEqual(sent);
    expect(onB).toEqual(onA);
    expect(onA.slice(0, 2).map(([, l]) => l)).toEqual(['broadcast alice :from a 1', 'broadcast bob :from b 1']);
    // Paging by id gives the same slices on either node.
    expect(await history(bob, `history,before,${sent[10]},3`)).toEqual(onA.slice(7, 10));
    expect(await history(alice, `history,after,${sent[16]},50`)).toEqual(onA.slice(17));

    // A newcomer on either node sees the conversation it walked into, under the same ids.
    const carol = await join_(b, 'carol', false);
    const replay = carol.lines.filter((l) => l.startsWith('history broadcast ')).map((l) => decodeEvent(l));
    expect(replay.map((e) => (e.type === 'history' ? e.message.id : ''))).toEqual(sent);
  });

  it('gives a user who joins while others talk each message once, in its join history or live, in order', async () => {
    const redis = await redisServer();
    const [a, b] = [await node(redis.url, 'a'), await node(redis.url, 'b')];
    const alice = await join_(a, 'alice');
    for (let i = 1; i <= 150; i++) alice.send(`broadcast,n ${i}`);
    // carol joins on the other node while alice's lines are still being stored and delivered.
    await alice.waitFor((l) => l.startsWith('sent '));
    const carol = await join_(b, 'carol', false);
    alice.send('broadcast,marker');
    await carol.waitFor((l) => l === 'broadcast alice :marker');
    const seen = carol.lines
      .map((l) => (l.startsWith('history broadcast alice ') ? l.slice(l.indexOf(' :') + 2) : l.startsWith('broadcast alice :') ? l.slice(17) : undefined))
      .filter((t) => t !== undefined && t !== 'marker');
    // Some came in the join history (alice had been stored before carol joined), the rest live.
    expect(carol.lines.filter((l) => l.startsWith('history broadcast ')).length).toBeGreaterThan(0);
    const first = Number(seen[0]?.slice(2));
    expect(seen).toEqual(Array.from({ length: 150 - first + 1 }, (_, i) => `n ${first + i}`));
  });

  it('lets a client that reconnects to another node catch up with history,after from the last id it saw: exactly what it missed', async () => {
    const redis = await redisServer();
    const [a, b] = [await node(redis.url, 'a'), await node(redis.url, 'b')];
    const alice = await join_(a, 'alice');
    const bob = await join_(b, 'bob');
    const seen = await send(alice, 'broadcast,seen by bob');
    await bob.waitFor((l) => l.startsWith(`broadcast alice ${seen} `));
    bob.close();
    await alice.waitFor((l) => l === 'left bob disconnected');
    const missed: Array<[string, string]> = [];
    for (let i = 1; i <= 5; i++) missed.push([await send(alice, `broadcast,missed ${i}`), `broadcast alice :missed ${i}`]);

    const back = await join_(a, 'bob');
    expect(await history(back, `history,after,${seen}`)).toEqual(missed);
  });

  it('shows a private message in history only to its two parties, on every node', async () => {
    const redis = await redisServer();
    const [a, b] = [await node(redis.url, 'a'), await node(redis.url, 'b')];
    const alice = await join_(a, 'alice');
    const bob = await join_(b, 'bob');
    const carol = await join_(b, 'carol');
    const dave = await join_(a, 'dave');
    await alice.waitFor((l) => l === 'joined dave');
    const first = await send(alice, 'broadcast,hello all');
    const secret = await send(alice, 'bob,just between us');
    const reply = await send(bob, 'alice,agreed');
    const last = await send(carol, 'broadcast,what did I miss');
    await bob.waitFor((l) => l.startsWith(`private alice bob ${secret} `));
    await alice.waitFor((l) => l.startsWith(`private bob alice ${reply} `));
    await dave.waitFor((l) => l.startsWith(`broadcast carol ${last} `));

    const both = [
      [first, 'broadcast alice :hello all'],
      [secret, 'private alice bob :just between us'],
      [reply, 'private bob alice :agreed'],
      [last, 'broadcast carol :what did I miss'],
    ];
    const room = [both[0], both[3]];
    expect(await history(alice)).toEqual(both);
    expect(await history(bob)).toEqual(both);
    expect(await history(carol)).toEqual(room);
    expect(await history(dave)).toEqual(room);
    // Live, too, nobody else got them.
    expect([...carol.lines, ...dave.lines].filter((l) => l.startsWith('private '))).toEqual([]);

    // alice comes back on the other node within the grace: her tenure and her privates go on.
    alice.send('exit');
    await alice.waitClosed();
    await bob.waitFor((l) => l === 'left alice quit');
    const again = await join_(b, 'alice');
    expect(await history(again)).toEqual(both);
  });

  it('loses nothing Redis acknowledged when Redis is killed and restarted on its append-only file mid-conversation', async () => {
    const dir = await tempDir('parley-redis-');
    const persist = ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir];
    let redis = await redisServer({ args: persist });
    const [a, b] = [await node(redis.url, 'a'), await node(redis.url, 'b')];
    const alice = await join_(a, 'alice');
    const bob = await join_(b, 'bob');
    await alice.waitFor((l) => l === 'joined bob');

    // Both talk without waiting; each `sent` is Redis's acknowledgement of one message.
    const acknowledged = (c: RawClient): string[] => c.lines.filter((l) => l.startsWith('sent ')).map((l) => (decodeEvent(l) as { id: string }).id);
    for (let i = 1; i <= 40; i++) {
      alice.send(`broadcast,a ${i}`);
      bob.send(`broadcast,b ${i}`);
    }
    await vi.waitFor(() => expect(acknowledged(alice).length + acknowledged(bob).length).toBeGreaterThan(20), { timeout: 5000 });
    process.kill(redis.pid, 'SIGKILL');
    await redis.stop();
    for (let i = 41; i <= 60; i++) alice.send(`broadcast,a ${i}`);
    redis = await redisServer({ port: redis.port, args: persist });
    // Talk until both nodes store again (a line sent while a node is still out reaches its own users only: no answer).
    const storedAgain = async (c: RawClient): Promise<void> => {
      const from = c.lines.length;
      c.send('broadcast,after');
      await c.waitFor((l) => l.startsWith('sent '), 1000, from);
    };
    await vi.waitFor(() => storedAgain(alice), { timeout: 15_000, interval: 100 });
    await vi.waitFor(() => storedAgain(bob), { timeout: 15_000, interval: 100 });

    const acked = [...acknowledged(alice), ...acknowledged(bob)];
    expect(acked.length).toBeGreaterThan(22);
    const onA = (await history(alice)).map(([id]) => id);
    const onB = (await history(bob)).map(([id]) => id);
    expect(onB).toEqual(onA);
    const missing = acked.filter((id) => !onA.includes(id));
    expect(missing).toEqual([]);
  });

  it('delivers what was said while a node was cut off from Redis once it is back, in order, exactly once', async () => {
    const redis = await redisServer();
    const relay = await cuttableRelay(redis.port);
    const a = await node(redis.url, 'a');
    const b = await node(relay.url, 'b');
    const alice = await join_(a, 'alice');
    const bob = await join_(b, 'bob', false);
    await alice.waitFor((l) => l === 'joined bob');
    await send(alice, 'broadcast,before the cut');
    await bob.waitFor((l) => l === 'broadcast alice :before the cut');

    relay.cut();
    const said: string[] = [];
    for (let i = 1; i <= 20; i++) {
      said.push(`broadcast alice :while cut ${i}`);
      await send(alice, `broadcast,while cut ${i}`);
    }
    // The cut was real: node b tried to reconnect and was refused.
    await vi.waitFor(() => expect(relay.refused).toBeGreaterThan(0), { timeout: 5000 });
    expect(bob.lines.filter((l) => l.includes('while cut'))).toEqual([]);
    relay.heal();

    await send(alice, 'broadcast,marker');
    await bob.waitFor((l) => l === 'broadcast alice :marker', 15_000);
    const got = bob.lines.filter((l) => l.includes('while cut'));
    expect(got).toEqual(said);
    expect(bob.lines.filter((l) => l === 'broadcast alice :before the cut')).toHaveLength(1);
  });
});

/** A TCP relay to Redis that can cut every connection and refuse new ones until healed. */
async function cuttableRelay(target: number): Promise<{ url: string; refused: number; cut(): void; heal(): void }> {
  const open = new Set<Socket>();
  let cut = false;
  const state = { refused: 0 };
  const server: Server = createServer((client) => {
    if (cut) {
      state.refused += 1;
      client.destroy();
      return;
    }
    const upstream = connect({ port: target, host: '127.0.0.1' });
    open.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  cleanups.push(async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    get refused() {
      return state.refused;
    },
    cut() {
      cut = true;
      for (const s of open) s.destroy();
    },
    heal() {
      cut = false;
    },
  };
}
