import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './helpers.js';
import { killServers, SERVER_BIN, startServerIn } from './server-process.js';

let work: string;
const opened: RawClient[] = [];
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-accounts-'));
});
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
  killServers();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const PASSWORD = 'correct horse battery';

const start = (dir: string, extra: string[] = []) => startServerIn(dir, extra);

async function connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
  const c = await RawClient.connect(port, host);
  opened.push(c);
  return c;
}

async function joinAs(port: number, nick: string, host = '127.0.0.1'): Promise<RawClient> {
  const c = await connect(port, host);
  c.send(nick);
  await c.waitFor((l) => l.startsWith('online '));
  return c;
}

/** A local address that is not loopback (the machine's own), to be a "remote" client; undefined when there is none. */
function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('accounts (the built parley-server, real database files)', () => {
  it('register makes a nickname need its password; a wrong one is refused, the right one joins; it survives kill -9', async () => {
    const dir = await mkdtemp(join(work, 'a-'));
    const { run, ready } = await start(dir);
    const alice = await joinAs(ready.port, 'alice');
    expect(await alice.ask('register,short', (l) => l.startsWith('error '))).toMatch(/^error PASSWORD_REJECTED :a password needs at least 8 characters/u);
    expect(await alice.ask(`register,${PASSWORD}`, (l) => l.startsWith('account ') || l.startsWith('error '))).toMatch(/^account registered alice :/u);
    alice.send('exit');
    await alice.waitClosed();

    const again = await connect(ready.port);
    again.send('Alice');
    await again.waitFor((l) => l.startsWith('error NICK_REGISTERED :"alice" is a registered nickname'));
    expect(await again.ask('login,not the password', (l) => l.startsWith('error '))).toMatch(/^error LOGIN_FAILED :wrong password for "alice"/u);
    again.send(`login,${PASSWORD}`);
    await again.waitFor((l) => l === 'account identified alice :you are logged in to your account "alice"');
    expect(again.lines.some((l) => l.startsWith('welcome 2 alice '))).toBe(true);

    // A look-alike is the same account.
    const mallory = await connect(ready.port);
    mallory.send('\u0430lice');
    await mallory.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    // Another nickname is still free to take, without a password.
    mallory.send('mallory');
    await mallory.waitFor((l) => l.startsWith('online '));

    // The password is in no log line and no database file, in any form we wrote.
    const files = await readdir(join(dir, 'data'));
    for (const f of files) expect((await readFile(join(dir, 'data', f))).includes(PASSWORD)).toBe(false);
    expect(run.out.join('').includes(PASSWORD) || run.err.join('').includes(PASSWORD)).toBe(false);

    run.child.kill('SIGKILL');
    await run.exit;
    const restarted = await start(dir);
    const back = await connect(restarted.ready.port);
    back.send('alice');
    await back.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    back.send(`login,${PASSWORD}`);
    await back.waitFor((l) => l.startsWith('account identified alice'));
  });

  it('a login takes the nickname over from a stale connection, which is told why', async () => {
    const dir = await mkdtemp(join(work, 'b-'));
    const { ready } = await start(dir);
    const first = await joinAs(ready.port, 'bob');
    await first.ask(`register,${PASSWORD}`, (l) => l.startsWith('account registered'));
    const watcher = await joinAs(ready.port, 'watcher');
    const second = await connect(ready.port);
    second.send('bob');
    await second.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    second.send(`login,${PASSWORD}`);
    await first.waitFor((l) => l.startsWith('bye LOGGED_IN_ELSEWHERE :'));
    await second.waitFor((l) => l.startsWith('account identified bob'));
    await watcher.waitFor((l) => l === 'joined bob');
    second.send('broadcast,it is me');
    await watcher.waitFor((l) => l === 'broadcast bob :it is me');
  });

  const remote = nonLoopbackAddress();
  it.skipIf(remote === undefined)('slows a guesser down after 5 wrong passwords, while the owner still gets in from an address they used before', async () => {
    const dir = await mkdtemp(join(work, 'c-'));
    const { run, ready } = await start(dir, ['--allow-plaintext-passwords', '--ops-port', '0']);
    // The owner registers from the machine's own address; the guesser comes from loopback.
    const owner = await joinAs(ready.port, 'carol', remote);
    await owner.ask(`register,${PASSWORD}`, (l) => l.startsWith('account registered'));
    owner.send('exit');
    await owner.waitClosed();
    const guesser = await connect(ready.port);
    guesser.send('carol');
    await guesser.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    for (let i = 0; i < 5; i++) {
      expect(await guesser.ask(`login,guess number ${i}`, (l) => l.startsWith('error '))).toMatch(/^error LOGIN_FAILED/u);
    }
    // Even the right password waits now, from the guesser's address.
    expect(await guesser.ask(`login,${PASSWORD}`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(
      /^error LOGIN_THROTTLED :too many wrong passwords for "carol": try again in \d+ s$/u,
    );
    // The owner, from where they logged in before, is not kept out.
    const back = await connect(ready.port, remote);
    back.send('carol');
    await back.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    expect(await back.ask(`login,${PASSWORD}`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(/^account identified carol/u);
    const metrics = await (await fetch(`http://127.0.0.1:${ready.opsPort}/metrics`)).text();
    expect(metrics).toContain('parley_logins_total{outcome="wrong"} 5');
    expect(metrics).toContain('parley_logins_total{outcome="throttled"} 1');
    expect(metrics).toContain('parley_logins_total{outcome="ok"} 1');
    expect(metrics).not.toContain(PASSWORD);
    expect(run.out.join('')).not.toContain('guess number');
  });

  it('changes and gives back a password; after unregister the nickname is first come, first served again', async () => {
    const dir = await mkdtemp(join(work, 'd-'));
    const { ready } = await start(dir);
    const dan = await joinAs(ready.port, 'dan');
    expect(await dan.ask('password,a,b', (l) => l.startsWith('error '))).toMatch(/^error NOT_LOGGED_IN/u);
    await dan.ask(`register,${PASSWORD}`, (l) => l.startsWith('account registered'));
    expect(await dan.ask('password,wrong old one,new password 2', (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(
      /^error LOGIN_FAILED :wrong password; nothing was changed/u,
    );
    expect(await dan.ask(`password,${PASSWORD},new password 2`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(
      /^account password-changed dan/u,
    );
    expect(await dan.ask(`unregister,${PASSWORD}`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(/^error LOGIN_FAILED/u);
    expect(await dan.ask('unregister,new password 2', (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(/^account unregistered dan/u);
    dan.send('exit');
    await dan.waitClosed();
    await joinAs(ready.port, 'dan');
  });

  it('gives a person the join timeout again to type the password, once; a connection that never sends it is closed saying so', async () => {
    const dir = await mkdtemp(join(work, 'h-'));
    const { ready } = await start(dir, ['--join-timeout', '4']);
    const hana = await joinAs(ready.port, 'hana');
    await hana.ask(`register,${PASSWORD}`, (l) => l.startsWith('account registered'));
    hana.send('exit');
    await hana.waitClosed();
    const slow = await connect(ready.port);
    const silent = await connect(ready.port);
    await new Promise((r) => setTimeout(r, 3000));
    slow.send('hana');
    silent.send('hana');
    await slow.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    await silent.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    // 3 s later: 6 s after connecting, past the 4 s join timeout, but 3 s into the new wait.
    await new Promise((r) => setTimeout(r, 3000));
    expect(slow.closed).toBe(false);
    slow.send(`login,${PASSWORD}`);
    await slow.waitFor((l) => l.startsWith('account identified hana'));
    await silent.waitFor((l) => l === 'bye JOIN_TIMEOUT :no password was sent within 4 s', 8000);
  }, 30_000);

  it('with --accounts off, register says so and nicknames work as before', async () => {
    const dir = await mkdtemp(join(work, 'e-'));
    const { ready } = await start(dir, ['--accounts', 'off']);
    const erin = await joinAs(ready.port, 'erin');
    expect(await erin.ask(`register,${PASSWORD}`, (l) => l.startsWith('error '))).toMatch(/^error ACCOUNTS_OFF/u);
  });

  it.skipIf(remote === undefined)('takes passwords only over TLS from a non-loopback address, unless --allow-plaintext-passwords', async () => {
    const dir = await mkdtemp(join(work, 'f-'));
    const cert = join(dir, 'c.pem');
    const key = join(dir, 'k.pem');
    const made = spawnSync(process.execPath, [SERVER_BIN, 'self-signed', '--cert', cert, '--key', key, '--name', 'localhost', '--name', remote as string], {
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    const { ready } = await start(dir, ['--tls-port', '0', '--tls-cert', cert, '--tls-key', key]);
    const plain = await joinAs(ready.port, 'frank', remote);
    expect(await plain.ask(`register,${PASSWORD}`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(
      /^error PASSWORD_NEEDS_TLS :passwords are accepted only over TLS/u,
    );
    plain.send('exit');
    await plain.waitClosed();

    const ca = await readFile(cert);
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ host: remote, port: ready.tlsPort as number, ca, servername: 'localhost' }, () => resolve(s));
      s.once('error', reject);
    });
    const secure = RawClient.wrap(socket);
    opened.push(secure);
    secure.send('frank');
    await secure.waitFor((l) => l.startsWith('online '));
    expect(await secure.ask(`register,${PASSWORD}`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(/^account registered frank/u);

    // A login in plain text from that address is refused the same way, before any password is checked.
    const again = await connect(ready.port, remote);
    again.send('frank');
    await again.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    expect(await again.ask(`login,${PASSWORD}`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(/^error PASSWORD_NEEDS_TLS/u);

    const lax = await start(await mkdtemp(join(work, 'g-')), ['--allow-plaintext-passwords']);
    const gina = await joinAs(lax.ready.port, 'gina', remote);
    expect(await gina.ask(`register,${PASSWORD}`, (l) => l.startsWith('error ') || l.startsWith('account '))).toMatch(/^account registered gina/u);
  });
});
