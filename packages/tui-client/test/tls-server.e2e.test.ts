import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Connection } from '../src/net/connection.js';
import { CLIENT_BIN, runClient, SERVER_BIN, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';
import { WAIT } from './helpers/wait.js';

/**
 * The client against the real parley-server with TLS: a certificate from
 * `parley-server self-signed`, pinned with --fingerprint (scripted) or on
 * first use (chat screen), and a download whose offer carries a key (sealed).
 */
let server: RunningServer;
let files: Awaited<ReturnType<typeof tempDir>>;
let work: Awaited<ReturnType<typeof tempDir>>;
let fingerprint: string;
const payload = Buffer.alloc(3_000_000).map((_, i) => (i * 13 + (i >> 11)) % 256);
const sha = createHash('sha256').update(payload).digest('hex');

beforeAll(async () => {
  files = await tempDir('parley-tlsend-files-');
  work = await tempDir('parley-tlsend-');
  await writeFile(join(files.path, 'data.bin'), payload);
  const cert = join(work.path, 'cert.pem');
  const key = join(work.path, 'key.pem');
  const out = execFileSync(process.execPath, [SERVER_BIN, 'self-signed', '--cert', cert, '--key', key, '--name', 'localhost'], { encoding: 'utf8' });
  fingerprint = /SHA256 fingerprint: ([0-9A-F:]{95})/u.exec(out)?.[1] ?? '';
  expect(fingerprint, out).not.toBe('');
  server = await startServer(files.path, { extra: ['--tls-port', '0', '--tls-cert', cert, '--tls-key', key] });
  expect(server.tlsPort).toBeTypeOf('number');
});

afterAll(async () => {
  await server?.stop();
  await files?.remove();
  await work?.remove();
});

describe('parley --tls against parley-server --tls-port', () => {
  it('downloads a file over a TLS session with the fingerprint parley-server self-signed printed: sealed, verified, the same bytes', async () => {
    const dir = join(work.path, 'dl-tls');
    const env = { XDG_CONFIG_HOME: join(work.path, 'cfg-script') };
    const r = await runClient(
      ['download', 'data.bin', '--host', 'localhost', '--port', String(server.tlsPort), '--fingerprint', fingerprint, '--download-dir', dir],
      { env, timeoutMs: 60_000 },
    );
    expect(r.stderr).toMatch(/every packet sealed \(AEAD\)/u);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${join(dir, 'data.bin')}\t${sha}\n`);
    expect((await readFile(join(dir, 'data.bin'))).equals(payload)).toBe(true);
  });

  it('over the plain port the same download is not sealed (the key would cross in clear text)', async () => {
    const dir = join(work.path, 'dl-plain');
    const r = await runClient(['download', 'data.bin', '--host', '127.0.0.1', '--port', String(server.port), '--download-dir', dir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/sealed/u);
    expect((await readFile(join(dir, 'data.bin'))).equals(payload)).toBe(true);
  });

  it('refuses the real server unpinned in a script (exit 3) and names the fingerprint the server printed', async () => {
    const r = await runClient(['online', '--tls', '--host', 'localhost', '--port', String(server.tlsPort)], {
      env: { XDG_CONFIG_HOME: join(work.path, 'cfg-none') },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`SHA256:${fingerprint}`);
  });

  it('a plain client on the TLS port is told to use --tls, exit 1, and the chat connection does not retry', async () => {
    const r = await runClient(['online', '--host', '127.0.0.1', '--port', String(server.tlsPort)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[TLS_REQUIRED\]; connect with --tls \(or tls:\/\/127\.0\.0\.1:\d+\)/u);
    const states: string[] = [];
    const c = new Connection(
      { host: '127.0.0.1', port: server.tlsPort as number, nick: 'plainann', backoff: { initialMs: 20, maxMs: 50 } },
      { onState: (s) => states.push(s) },
    );
    c.start();
    try {
      await vi.waitFor(() => expect(c.state).toBe('closed'), WAIT);
      expect(states).toEqual(['connecting', 'naming', 'closed']);
    } finally {
      c.close();
    }
  });

  it.skipIf(!haveTmux())('on screen: pins on first use, says TLS 1.3 · pinned, and downloads sealed', async () => {
    const tmux = new Tmux();
    try {
      const dir = join(work.path, 'dl-screen');
      const cfg = join(work.path, 'cfg-screen');
      await tmux.start(
        'ann',
        `XDG_CONFIG_HOME=${cfg} ${process.execPath} ${CLIENT_BIN} --tls --host localhost --port ${server.tlsPort} --nick ann --download-dir ${dir}`,
        200,
        40,
      );
      const asked = await tmux.waitFor('ann', /Trust this certificate and pin it\? \(y\/N\)/u);
      expect(asked).toContain(`SHA256:${fingerprint}`);
      await tmux.type('ann', 'y');
      await tmux.waitFor('ann', /Welcome to Parley, ann!/u);
      await tmux.waitFor('ann', /● online │ TLS 1\.3 · pinned/u);
      await tmux.type('ann', '/download data.bin');
      await tmux.keys('ann', 'Enter');
      await tmux.waitFor('ann', /downloading data\.bin \(2\.9 MB\), sealed \(AEAD\)/u);
      await tmux.waitFor('ann', new RegExp(`SHA-256 ${sha} verified`, 'u'), 30_000);
      expect((await readFile(join(dir, 'data.bin'))).equals(payload)).toBe(true);
      expect(await readFile(join(cfg, 'parley', 'known-servers'), 'utf8')).toContain(`localhost:${server.tlsPort} SHA256:${fingerprint}\n`);
    } finally {
      await tmux.kill();
    }
  });
});
