import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisProcess } from '@parley/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool } from './client-pool.js';
import { killServers, startServerIn } from './server-process.js';

/**
 * Accounts, moderation and waiting messages across two real parley-server
 * processes joined by a real redis-server (`--cluster`): what one node is told
 * holds on the other.
 */
let work: string;
let redis: RedisProcess;
const clients = new ClientPool();
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-cluster-accounts-'));
});
afterEach(async () => {
  clients.closeAll();
  killServers();
  await redis?.stop('SIGKILL');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const PASSWORD = 'cluster password 1';
const REMOTE = '192.0.2.2';

async function twoNodes(extra: string[] = []): Promise<[number, number]> {
  redis = await startRedisServer();
  const config = join(work, `server-${redis.port}.json`);
  await writeFile(config, JSON.stringify({ operators: ['alice'], cluster: redis.url, 'cluster-lease': 2, 'cluster-heartbeat': 0.5 }));
  const a = await startServerIn(await mkdtemp(join(work, 'a-')), ['--config', config, '--node-id', 'a', ...extra]);
  const b = await startServerIn(await mkdtemp(join(work, 'b-')), ['--config', config, '--node-id', 'b', ...extra]);
  return [a.ready.port, b.ready.port];
}

describe('accounts in a cluster (two processes, one Redis)', () => {
  it('registered on one node, the nickname needs its password on the other; a login there takes over the stale holder', async () => {
    const [a, b] = await twoNodes();
    const alice = await clients.joinAs(a, 'alice');
    expect(await alice.ask(`register,${PASSWORD}`, (l) => l.startsWith('account ') || l.startsWith('error '))).toMatch(/^account registered alice /u);
    // Node b knows at once (its copy is kept by the channel); wait for it rather than assume a delay.
    let answer = '';
    for (let i = 0; i < 50 && !answer.startsWith('error NICK_REGISTERED'); i++) {
      const probe = await clients.joinAs(b, 'alice');
      answer = probe.lines.at(-1) ?? '';
      probe.close();
    }
    expect(answer).toMatch(/^error NICK_REGISTERED /u);
    // alice is still connected on node a: logging in on node b takes the nickname over.
    const again = await clients.login(b, 'alice', PASSWORD);
    await alice.waitFor((l) => l.startsWith('bye LOGGED_IN_ELSEWHERE '));
    expect(again.lines.some((l) => l.startsWith('welcome 2 alice '))).toBe(true);
  });

  it('a message to an offline account left on one node is delivered once at login on the other', async () => {
    const [a, b] = await twoNodes();
    const bob = await clients.joinAs(a, 'bob');
    await bob.ask(`register,${PASSWORD}`, (l) => l.startsWith('account '));
    bob.send('exit');
    await bob.waitClosed();
    const carol = await clients.joinAs(a, 'carol');
    expect(await carol.ask('bob,see you later', (l) => l.startsWith('waiting ') || l.startsWith('error '))).toMatch(/^waiting bob 1 /u);
    const back = await clients.login(b, 'bob', PASSWORD);
    await back.waitFor((l) => /^waited carol \S+ :see you later$/u.test(l));
    back.send('exit');
    await back.waitClosed();
    const third = await clients.login(a, 'bob', PASSWORD);
    await third.ask('online', (l) => l.startsWith('online '));
    expect(third.lines.some((l) => l.startsWith('waited '))).toBe(false);
  });

  it('an operator on one node kicks and bans a user on the other; the ban holds on both nodes', async () => {
    const [a, b] = await twoNodes();
    const alice = await clients.joinAs(a, 'alice');
    await alice.ask(`register,${PASSWORD}`, (l) => l.startsWith('account '));
    const mallory = await clients.joinAs(b, 'mallory', REMOTE);
    const watcher = await clients.joinAs(a, 'watcher');

    alice.send('kick,mallory,calm down');
    await mallory.waitFor((l) => l.startsWith('bye KICKED :alice removed you from the chat: calm down'));
    await watcher.waitFor((l) => l === 'kicked mallory alice :calm down');

    const again = await clients.joinAs(b, 'mallory', REMOTE);
    alice.send('ban,mallory,1h,spam');
    await again.waitFor((l) => l.startsWith('bye BANNED :you are banned from this server until '));
    await watcher.waitFor((l) => /^banned nick mallory alice \S+ :spam$/u.test(l));
    // Both nodes turn the nickname away.
    expect((await clients.joinAs(a, 'mallory')).lines.at(-1)).toMatch(/^error BANNED /u);
    expect((await clients.joinAs(b, 'mallory')).lines.at(-1)).toMatch(/^error BANNED /u);

    alice.send('unban,mallory');
    await watcher.waitFor((l) => l === 'unbanned nick mallory alice');
    let answer = '';
    for (let i = 0; i < 50 && !answer.startsWith('online '); i++) {
      const probe = await clients.joinAs(b, 'mallory');
      answer = probe.lines.at(-1) ?? '';
      probe.close();
    }
    expect(answer).toMatch(/^online /u);
  });

  it('a logged-in account keeps its private history across an absence longer than the grace time; a guest does not', async () => {
    const [a, b] = await twoNodes(['--history', 'on', '--history-private-grace', '1']);
    const bob = await clients.joinAs(a, 'bob');
    await bob.ask(`register,${PASSWORD}`, (l) => l.startsWith('account '));
    const carol = await clients.joinAs(a, 'carol');
    const alice = await clients.joinAs(b, 'alice');
    alice.send('bob,for bob only');
    alice.send('carol,for carol only');
    await bob.waitFor((l) => l.endsWith(':for bob only'));
    await carol.waitFor((l) => l.endsWith(':for carol only'));
    bob.send('exit');
    carol.send('exit');
    await bob.waitClosed();
    await carol.waitClosed();
    // Away longer than --history-private-grace (1 s).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const back = await clients.login(b, 'bob', PASSWORD);
    expect(await back.ask('history', (l) => l.startsWith('history end '))).toMatch(/^history end last \d+ all$/u);
    expect(back.lines.some((l) => l.startsWith('history private alice bob ') && l.endsWith(':for bob only'))).toBe(true);
    const guest = await clients.joinAs(b, 'carol');
    await guest.ask('history', (l) => l.startsWith('history end '));
    expect(guest.lines.some((l) => l.includes('for carol only'))).toBe(false);
  });
});
