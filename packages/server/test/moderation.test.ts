import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RawClient } from './helpers.js';
import { ClientPool } from './client-pool.js';
import { killServers, startServerIn } from './server-process.js';

/**
 * Moderation and waiting messages against the built parley-server, with real
 * database files: operators from the config file, kicks, bans by nickname and
 * by address (the machine's second address, 192.0.2.2, is the "remote" user),
 * bans that outlive a restart, and private messages that wait for an offline
 * account and are delivered once.
 */
let work: string;
const clients = new ClientPool();
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-moderation-'));
});
afterEach(() => {
  clients.closeAll();
  killServers();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const PASSWORD = 'operator password 1';
const REMOTE = '192.0.2.2';

/** Registers `nick` (from loopback, where a password may cross in plain text). */
async function register(port: number, nick: string, password = PASSWORD): Promise<RawClient> {
  const c = await clients.joinAs(port, nick);
  expect(await c.ask(`register,${password}`, (l) => l.startsWith('account ') || l.startsWith('error '))).toMatch(/^account registered /u);
  return c;
}

async function startWithOperators(dir: string, operators: string[]) {
  const config = join(dir, 'server.json');
  await writeFile(config, JSON.stringify({ operators }));
  return startServerIn(dir, ['--config', config]);
}

describe('moderation (operators named in the config file)', () => {
  it('only a logged-in operator may kick; everyone sees the kick, the user is told why and may come back', async () => {
    const dir = await mkdtemp(join(work, 'k-'));
    const { ready } = await startWithOperators(dir, ['alice']);
    const alice = await register(ready.port, 'alice');
    const bob = await clients.joinAs(ready.port, 'bob');
    const carol = await clients.joinAs(ready.port, 'carol');

    // Not an operator: refused, nothing happens.
    expect(await bob.ask('kick,carol', (l) => l.startsWith('error '))).toMatch(/^error NOT_OPERATOR :kick is for operators/u);
    expect(await alice.ask('kick,nobody', (l) => l.startsWith('error '))).toMatch(/^error UNKNOWN_USER /u);
    expect(await alice.ask('kick,alice', (l) => l.startsWith('error '))).toMatch(/^error BAD_ARGUMENTS :you cannot kick yourself/u);

    alice.send('kick,Bob,stop shouting');
    await carol.waitFor((l) => l === 'kicked bob alice :stop shouting');
    await carol.waitFor((l) => l === 'left bob kicked');
    await alice.waitFor((l) => l === 'kicked bob alice :stop shouting');
    await bob.waitFor((l) => l.startsWith('bye KICKED :alice removed you from the chat: stop shouting'));
    await bob.waitClosed();
    // A kick is not a ban.
    const back = await clients.joinAs(ready.port, 'bob');
    expect(back.lines.some((l) => l.startsWith('welcome 2 bob '))).toBe(true);
  });

  it('a nickname ban keeps the nickname (and look-alikes) out and outlives a restart; unban lets it back', async () => {
    const dir = await mkdtemp(join(work, 'n-'));
    const first = await startWithOperators(dir, ['alice']);
    const alice = await register(first.ready.port, 'alice');
    const mallory = await clients.joinAs(first.ready.port, 'mallory');
    const carol = await clients.joinAs(first.ready.port, 'carol');

    expect(await carol.ask('ban,mallory', (l) => l.startsWith('error '))).toMatch(/^error NOT_OPERATOR /u);
    expect(await alice.ask('ban,mallory,soon,spam', (l) => l.startsWith('banned ') || l.startsWith('error '))).toMatch(
      /^banned nick mallory alice never :soon,spam$/u,
    );
    await mallory.waitFor((l) => l.startsWith('bye BANNED :you are banned from this server by alice: soon,spam'));
    await carol.waitFor((l) => l === 'banned nick mallory alice never :soon,spam');
    await carol.waitFor((l) => l === 'left mallory kicked');
    expect(await alice.ask('ban,mallory,5x', (l) => l.startsWith('error '))).toMatch(/^error BAD_ARGUMENTS :"5x" is not a duration/u);
    expect(await alice.ask('ban,alice', (l) => l.startsWith('error '))).toMatch(/^error BAD_ARGUMENTS :you cannot ban yourself/u);

    const again = await clients.connect(first.ready.port);
    again.send('MALLORY');
    await again.waitFor((l) => /^error BANNED :"MALLORY" is banned from this server: soon,spam\. Send another nickname\.$/u.test(l));
    // A Cyrillic a: the same key.
    expect(await again.ask('m\u0430llory', (l) => l.startsWith('error '))).toMatch(/^error BANNED :"m\u0430llory" is banned/u);

    // Restart (kill -9): the ban is still there, and listed.
    first.run.child.kill('SIGKILL');
    await first.run.exit;
    const second = await startWithOperators(dir, ['alice']);
    const op = await clients.login(second.ready.port, 'alice', PASSWORD);
    op.send('bans');
    await op.waitFor((l) => l === 'bans 1');
    expect(op.lines.find((l) => l.startsWith('ban '))).toMatch(/^ban nick mallory alice \d{4}-\d\d-\d\dT[\d:.]+Z never :soon,spam$/u);
    const refused = await clients.joinAs(second.ready.port, 'mallory');
    expect(refused.lines.at(-1)).toMatch(/^error BANNED /u);

    const watcher = await clients.joinAs(second.ready.port, 'dave');
    expect(await op.ask('unban,mallory', (l) => l.startsWith('unbanned ') || l.startsWith('error '))).toBe('unbanned nick mallory alice');
    await watcher.waitFor((l) => l === 'unbanned nick mallory alice');
    expect(await op.ask('unban,mallory', (l) => l.startsWith('error '))).toMatch(/^error BAD_ARGUMENTS :there is no ban on mallory/u);
    const free = await clients.joinAs(second.ready.port, 'mallory');
    expect(free.lines.some((l) => l.startsWith('welcome 2 mallory '))).toBe(true);
  });

  it('an address ban turns away new connections and closes current ones; everyone sees a ban, not the address', async () => {
    const dir = await mkdtemp(join(work, 'a-'));
    const { ready } = await startWithOperators(dir, ['alice']);
    const alice = await register(ready.port, 'alice');
    const remote = await clients.joinAs(ready.port, 'remote1', REMOTE);
    const waiting = await clients.connect(ready.port, REMOTE); // no nickname yet
    const carol = await clients.joinAs(ready.port, 'carol');

    expect(await alice.ask('ban,127.0.0.0/8', (l) => l.startsWith('error '))).toMatch(/^error BAD_ARGUMENTS :127\.0\.0\.0\/8 covers your own address/u);
    expect(await alice.ask('ban,not an address!', (l) => l.startsWith('error '))).toMatch(
      /^error BAD_ARGUMENTS :"not an address!" is neither a nickname nor an address/u,
    );

    alice.send('ban,192.0.2.0/24,1h,bots');
    await carol.waitFor((l) => /^banned address - alice \d{4}-[\d-]+T[\d:.]+Z :bots$/u.test(l));
    await alice.waitFor((l) => l.startsWith('info :banned 192.0.2.0/24 until ') && l.includes('disconnected remote1'));
    await remote.waitFor((l) => l.startsWith('bye BANNED :you are banned from this server until '));
    await waiting.waitFor((l) => l.startsWith('bye BANNED '));
    await carol.waitFor((l) => l === 'left remote1 kicked');
    // The address itself is for operators only.
    expect(carol.lines.some((l) => l.includes('192.0.2'))).toBe(false);

    const refused = await clients.connect(ready.port, REMOTE);
    await refused.waitFor((l) => l.startsWith('bye BANNED :your address is banned from this server until '));
    await refused.waitClosed();

    alice.send('unban,192.0.2.0/24');
    await carol.waitFor((l) => l === 'unbanned address - alice');
    const welcome = await clients.joinAs(ready.port, 'remote2', REMOTE);
    expect(welcome.lines.some((l) => l.startsWith('welcome 2 remote2 '))).toBe(true);
  });

  it('banning a nickname held from a non-loopback address bans that address too, for the operator to lift', async () => {
    const dir = await mkdtemp(join(work, 'b-'));
    const { ready } = await startWithOperators(dir, ['alice']);
    const alice = await register(ready.port, 'alice');
    const mallory = await clients.joinAs(ready.port, 'mallory', REMOTE);
    alice.send('ban,mallory,1d');
    await alice.waitFor((l) => l.startsWith('info :banned mallory until ') && l.includes(`also banned their address ${REMOTE}`));
    await mallory.waitFor((l) => l.startsWith('bye BANNED '));
    // Another nickname from the same address is kept out too.
    const sock = await clients.connect(ready.port, REMOTE);
    await sock.waitFor((l) => l.startsWith('bye BANNED :your address is banned'));
    alice.send('bans');
    await alice.waitFor((l) => l === 'bans 2');
  });
});

describe('messages that wait for an offline account', () => {
  it('a private message to an offline registered user waits, survives a restart, and is delivered once at login', async () => {
    const dir = await mkdtemp(join(work, 'w-'));
    const first = await startServerIn(dir);
    const bob = await register(first.ready.port, 'bob');
    bob.send('exit');
    await bob.waitClosed();

    const alice = await clients.joinAs(first.ready.port, 'alice');
    expect(await alice.ask('bob,are you there?', (l) => l.startsWith('waiting ') || l.startsWith('error '))).toMatch(
      /^waiting bob 1 :"bob" is offline; your message waits for them/u,
    );
    expect(await alice.ask('Bob,second one', (l) => l.startsWith('waiting ') || l.startsWith('error '))).toMatch(/^waiting bob 2 /u);
    // An unregistered nickname is still UNKNOWN_USER.
    expect(await alice.ask('zed,hello', (l) => l.startsWith('error ') || l.startsWith('waiting '))).toMatch(/^error UNKNOWN_USER /u);

    first.run.child.kill('SIGKILL');
    await first.run.exit;
    const second = await startServerIn(dir);
    const back = await clients.login(second.ready.port, 'bob', PASSWORD);
    await back.waitFor((l) => l.startsWith('waited alice ') && l.endsWith(':second one'));
    const waited = back.lines.filter((l) => l.startsWith('waited '));
    expect(waited).toHaveLength(2);
    expect(waited[0]).toMatch(/^waited alice \d{4}-\d\d-\d\dT[\d:.]+Z :are you there\?$/u);
    // They come after the login, and only once.
    const identified = back.lines.findIndex((l) => l.startsWith('account identified '));
    expect(back.lines.findIndex((l) => l.startsWith('waited '))).toBeGreaterThan(identified);
    back.send('exit');
    await back.waitClosed();
    const third = await clients.login(second.ready.port, 'bob', PASSWORD);
    await third.ask('online', (l) => l.startsWith('online '));
    expect(third.lines.some((l) => l.startsWith('waited '))).toBe(false);
  });

  it('a sender can leave only so many for one account; the refusal says so and keeps nothing', async () => {
    const dir = await mkdtemp(join(work, 'c-'));
    const { ready } = await startServerIn(dir, ['--max-waiting-messages', '10']);
    const bob = await register(ready.port, 'bob');
    bob.send('exit');
    await bob.waitClosed();
    const alice = await clients.joinAs(ready.port, 'alice');
    for (let i = 1; i <= 2; i++) expect(await alice.ask(`bob,m${i}`, (l) => l.startsWith('waiting ') || l.startsWith('error '))).toMatch(/^waiting bob /u);
    expect(await alice.ask('bob,m3', (l) => l.startsWith('waiting ') || l.startsWith('error '))).toMatch(
      /^error WAITING_FULL :you have 2 messages waiting for "bob" already; this one was not kept$/u,
    );
    alice.send('exit');
    await alice.waitClosed();
    const back = await clients.login(ready.port, 'bob', PASSWORD);
    await back.waitFor((l) => l.endsWith(':m2'));
    await back.ask('online', (l) => l.startsWith('online '));
    expect(back.lines.filter((l) => l.startsWith('waited '))).toHaveLength(2);
  });
});

describe('resume tokens', () => {
  it('a login gives a one-time token that logs in again without the password; a password change voids it', async () => {
    const dir = await mkdtemp(join(work, 'r-'));
    const { ready } = await startServerIn(dir);
    const first = await register(ready.port, 'dana');
    const issued = await first.waitFor((l) => l.startsWith('resume '));
    const [, token = '', expires = ''] = issued.split(' ');
    expect(token).toMatch(/^[0-9a-f]{64}$/u);
    expect(Date.parse(expires)).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    first.send('exit');
    await first.waitClosed();

    // The token logs in, once; the answer carries the next token.
    const again = await clients.connect(ready.port);
    again.send('dana');
    await again.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    again.send(`login,token,${token}`);
    await again.waitFor((l) => l.startsWith('account identified dana'));
    const next = (await again.waitFor((l) => l.startsWith('resume '))).split(' ')[1] ?? '';
    expect(next).not.toBe(token);
    again.send('exit');
    await again.waitClosed();

    const replay = await clients.connect(ready.port);
    replay.send('dana');
    await replay.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    expect(await replay.ask(`login,token,${token}`, (l) => l.startsWith('error LOGIN') || l.startsWith('account '))).toMatch(
      /^error LOGIN_FAILED :that resume token is unknown, used or expired/u,
    );
    // The password still works, and changing it voids the token issued before.
    replay.send(`login,${PASSWORD}`);
    await replay.waitFor((l) => l.startsWith('account identified dana'));
    expect(await replay.ask(`password,${PASSWORD},a brand new password`, (l) => l.startsWith('account ') || l.startsWith('error '))).toMatch(
      /^account password-changed /u,
    );
    replay.send('exit');
    await replay.waitClosed();
    const stale = await clients.connect(ready.port);
    stale.send('dana');
    await stale.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    expect(await stale.ask(`login,token,${next}`, (l) => l.startsWith('error LOGIN') || l.startsWith('account '))).toMatch(/^error LOGIN_FAILED /u);
    // Nothing of a token is in the database but its SHA-256.
    for (const f of await readdir(join(dir, 'data'))) {
      const bytes = await readFile(join(dir, 'data', f));
      expect(bytes.includes(token) || bytes.includes(next)).toBe(false);
    }
  });
});
