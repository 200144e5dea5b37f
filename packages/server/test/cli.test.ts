import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV_OPTIONS, envName, parseArgs } from '../src/cli.js';
import { RawClient } from './helpers.js';
import { killServers, runServer, waitForReady, type ServerRun } from './server-process.js';

afterEach(killServers);

type Run = ServerRun;

function run(args: string[], env: Record<string, string> = {}): Run {
  // History off unless a test turns it on: no database in the working folder, no lock shared by two servers.
  return runServer(['--history', 'off', ...args], { env: { ...process.env, ...env } });
}

/** Waits for the JSON log line that says the server is ready; returns it. */
const ready = (r: Run) => waitForReady<{ port: number; udpPort: number | string; filesDir: string }>(r);

describe('parley-server (the built binary)', () => {
  it('prints help and exits 0', async () => {
    const r = run(['--help']);
    expect(await r.exit).toBe(0);
    const text = r.out.join('');
    for (const opt of ['--host', '--port', '--udp-port', '--files-dir', '--max-clients', '--log-level', 'PARLEY_UDP_PORT']) expect(text).toContain(opt);
  });

  it('refuses a bad option value with one clear line and exit code 2', async () => {
    const r = run(['--port', 'banana']);
    expect(await r.exit).toBe(2);
    expect(r.err.join('')).toMatch(/^parley-server: --port must be/u);
    const env = run([], { PARLEY_MAX_CLIENTS: '-3' });
    expect(await env.exit).toBe(2);
    expect(env.err.join('')).toContain('--max-clients must be a positive number (got -3)');
  });

  it('starts with defaults from env, creates its files folder, serves chat, and exits 0 on SIGTERM after telling clients', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-cli-'));
    const filesDir = join(dir, 'files');
    // PARLEY_NICK is the client's: the server must not trip over it.
    const r = run(['--log-format', 'json'], { PARLEY_PORT: '0', PARLEY_UDP_PORT: '0', PARLEY_HOST: '127.0.0.1', PARLEY_FILES_DIR: filesDir, PARLEY_NICK: 'x' });
    const info = await ready(r);
    expect(await readdir(filesDir)).toEqual(['welcome.txt']);
    const alice = await RawClient.join(info.port, 'alice');
    const bob = await RawClient.join(info.port, 'bob');
    alice.send('broadcast,hi bob');
    await bob.waitFor((l) => l === 'broadcast alice :hi bob');
    expect(await bob.ask('files', (l) => l.startsWith('files '))).toMatch(/^files 1 welcome\.txt \d+$/u);
    r.child.kill('SIGTERM');
    await alice.waitFor((l) => l === 'bye SHUTDOWN :server is shutting down');
    await bob.waitClosed();
    expect(await r.exit).toBe(0);
  });

  it('takes options from a config file, overridden by env, overridden by flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-cfg-'));
    const config = join(dir, 'server.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      config,
      JSON.stringify({ host: '127.0.0.1', port: 0, 'udp-port': -1, 'files-dir': join(dir, 'from-file'), 'max-clients': 1, 'announce-limit': 7 }),
    );
    const r = run(['--config', config, '--log-format', 'json', '--max-clients', '2'], { PARLEY_FILES_DIR: join(dir, 'from-env'), PARLEY_MAX_CLIENTS: '5' });
    const info = await ready(r);
    expect(info.filesDir).toBe(join(dir, 'from-env'));
    await RawClient.join(info.port, 'one');
    await RawClient.join(info.port, 'two');
    const third = await RawClient.connect(info.port);
    await third.waitFor((l) => l.startsWith('bye SERVER_FULL :server is full (2 users)'));
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('caps downloads per user as --downloads-per-user says (PARLEY_DOWNLOADS_PER_USER), with TRANSFER_LIMIT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-dl-cap-'));
    const r = run(['--log-format', 'json', '--host', '127.0.0.1', '--port', '0', '--udp-port', '0', '--files-dir', join(dir, 'files')], {
      PARLEY_DOWNLOADS_PER_USER: '1',
    });
    const info = await ready(r);
    const ann = await RawClient.join(info.port, 'ann');
    expect(await ann.ask('download,welcome.txt', (l) => l.startsWith('offer ') || l.startsWith('error '))).toMatch(/^offer /u);
    expect(await ann.ask('download,welcome.txt', (l) => l.startsWith('offer ') || l.startsWith('error '))).toMatch(
      /^error TRANSFER_LIMIT :at most 1 download/u,
    );
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it("starts with a variable named exactly PARLEY, an empty one, and the client's PARLEY_* variables in its environment, and says which it ignored", async () => {
    const r = run(
      ['--log-format', 'json', '--port', '0', '--udp-port', '-1', '--host', '127.0.0.1', '--files-dir', await mkdtemp(join(tmpdir(), 'parley-f-'))],
      {
        PARLEY: 'x',
        PARLEY_: '',
        PARLEY_NICK: 'carol',
        PARLEY_SERVER: 'chat.example:55000',
      },
    );
    const info = await ready(r);
    const alice = await RawClient.join(info.port, 'alice');
    expect(alice.lines[0]).toMatch(/^welcome 2 alice /u);
    const ignored = r.out
      .join('')
      .split('\n')
      .find((l) => l.includes('not server options'));
    // (The test runner may add PARLEY_* variables of its own.)
    expect(JSON.parse(ignored ?? '{}').ignored).toEqual(expect.arrayContaining(['PARLEY', 'PARLEY_', 'PARLEY_NICK', 'PARLEY_SERVER']));
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
  });

  it('reads every option from its own PARLEY_* variable without changing the environment', () => {
    const options = Object.keys((parseArgs([]) as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key).filter(
      (k) => /^[a-z-]+$/u.test(k) && k !== 'help',
    );
    const env: NodeJS.ProcessEnv = { PARLEY: '', PARLEY_NICK: 'x', PARLEY_PORT: '1234', PARLEY_JOIN_TIMEOUT: '7' };
    const before = { ...env };
    const args = parseArgs(['--port', '99'], env).parseSync();
    expect(args.port).toBe(99);
    expect(args['join-timeout']).toBe(7);
    expect(env).toEqual(before);
    expect([...ENV_OPTIONS].sort()).toEqual(options.sort());
    expect(envName('udp-port')).toBe('PARLEY_UDP_PORT');
  });

  it('exits 1 with a clear line when the port is taken', async () => {
    const first = run([
      '--log-format',
      'json',
      '--port',
      '0',
      '--udp-port',
      '-1',
      '--host',
      '127.0.0.1',
      '--files-dir',
      await mkdtemp(join(tmpdir(), 'parley-f-')),
    ]);
    const info = await ready(first);
    const second = run([
      '--log-format',
      'json',
      '--port',
      String(info.port),
      '--udp-port',
      '-1',
      '--host',
      '127.0.0.1',
      '--files-dir',
      await mkdtemp(join(tmpdir(), 'parley-f-')),
    ]);
    expect(await second.exit).toBe(1);
    expect(second.err.join('')).toContain('parley-server: cannot start: port already in use');
  });
});
