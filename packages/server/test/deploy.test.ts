import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeEvent, type ServerEvent } from '@parley/protocol';
import { downloadFile } from '@parley/udp-transfer';
import { RawClient } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let work: string;
let bundle: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // A folder outside the repository, as on a VM.
  work = await mkdtemp(join(tmpdir(), 'parley-deploy-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle-server.mjs'), '--out', work, '--skip-build'], { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) throw new Error(`bundle failed:\n${r.stderr}${r.stdout}`);
  bundle = join(work, 'parley-server');
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(work, { recursive: true, force: true });
});

function start(args: string[]): { child: ChildProcess; out: string[]; err: string[]; exit: Promise<number | null> } {
  // Only the bundle: no repository on the module path, no workspace env.
  const child = spawn(join(bundle, 'bin', 'parley-server'), args, { cwd: work, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const out: string[] = [];
  const err: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => out.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => err.push(d));
  return { child, out, err, exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

async function ready(out: string[], child: ChildProcess, err: string[]): Promise<{ port: number; udpPort: number; opsPort: number }> {
  const exited = new Promise<never>((_, reject) => {
    const fail = (): void => reject(new Error(`exited early: ${err.join('')}`));
    if (child.exitCode !== null) fail();
    else child.once('exit', fail);
  });
  const isReady = vi.waitFor(
    () => {
      const line = out
        .join('')
        .split('\n')
        .find((l) => l.includes('parley-server ready'));
      if (line === undefined) throw new Error(`not ready: ${err.join('')}`);
      return JSON.parse(line) as { port: number; udpPort: number; opsPort: number };
    },
    { timeout: 15_000, interval: 25 },
  );
  return Promise.race([isReady, exited]);
}

describe('the deployable bundle', () => {
  it('contains the systemd unit, which systemd-analyze accepts', () => {
    const unit = join(bundle, 'deploy', 'parley-server.service');
    expect(existsSync(unit)).toBe(true);
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(r.error, 'systemd-analyze must be installed (Debian package systemd)').toBeUndefined();
    // The unit names /opt/parley-server, which this machine need not have: only complaints about that path are allowed.
    const complaints = `${r.stderr}${r.stdout}`.split('\n').filter((l) => l.trim() && !l.includes('/opt/parley-server'));
    expect(complaints).toEqual([]);
  });

  it('runs from its own folder with a config file: health, metrics, chat, a download, and a clean SIGTERM', async () => {
    const files = join(work, 'files');
    const config = join(work, 'server.json');
    await writeFile(
      config,
      JSON.stringify({ host: '127.0.0.1', port: 0, 'udp-port': 0, 'ops-port': 0, 'files-dir': files, 'log-format': 'json', 'shutdown-timeout': 2 }),
    );
    const s = start(['--config', config]);
    const info = await ready(s.out, s.child, s.err);
    if (process.env.CI === 'true' || process.env.PARLEY_NATIVE === 'require') {
      // CI builds the native addon; the bundle carries it and sends DATA in batches.
      const listening = s.out
        .join('')
        .split('\n')
        .find((l) => l.includes('"msg":"transfer server listening"'));
      expect(listening).toContain('"io":"batched"');
    }
    const health = await fetch(`http://127.0.0.1:${info.opsPort}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${info.opsPort}/readyz`)).status).toBe(200);

    const content = randomBytes(200_000);
    await writeFile(join(files, 'report.pdf'), content);
    const alice = await RawClient.join(info.port, 'alice');
    const bob = await RawClient.join(info.port, 'bob');
    alice.send('broadcast,deployed!');
    await bob.waitFor((l) => l === 'broadcast alice :deployed!');
    const offer = decodeEvent(await bob.ask('download,report.pdf', (l) => l.startsWith('offer '))) as Extract<ServerEvent, { type: 'offer' }>;
    const dest = join(work, 'got.pdf');
    await downloadFile({ host: '127.0.0.1', offer, destPath: dest });
    expect(
      createHash('sha256')
        .update(await readFile(dest))
        .digest('hex'),
    ).toBe(offer.sha256);

    const metrics = await (await fetch(`http://127.0.0.1:${info.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/^parley_users 2$/mu);
    expect(metrics).toMatch(/^parley_commands_total\{command="broadcast"\} 1$/mu);
    expect(metrics).toMatch(/^parley_events_sent_total\{kind="broadcast"\} 1$/mu);
    expect(metrics).toMatch(/^parley_transfer_sent_bytes_total \d+/mu);
    if (process.env.CI === 'true' || process.env.PARLEY_NATIVE === 'require') expect(metrics).toMatch(/^parley_transfer_batched_io 1$/mu);
    expect(metrics).toContain('nodejs_eventloop_lag_seconds');

    s.child.kill('SIGTERM');
    await alice.waitFor((l) => l === 'bye SHUTDOWN :server is shutting down');
    await bob.waitFor((l) => l === 'bye SHUTDOWN :server is shutting down');
    expect(await s.exit).toBe(0);
  });

  it('listens on IPv6 and IPv4 by default: chat and a download over ::1 and 127.0.0.1 on the same ports', async () => {
    const files = join(work, 'files-dual');
    const s = start(['--port', '0', '--udp-port', '0', '--files-dir', files, '--log-format', 'json', '--shutdown-timeout', '1']);
    const info = await ready(s.out, s.child, s.err);
    expect(info).toMatchObject({ host: '::' });
    const content = randomBytes(300_000);
    await writeFile(join(files, 'both.bin'), content);
    const v6 = await RawClient.join(info.port, 'ann', '::1');
    const v4 = await RawClient.join(info.port, 'ben', '127.0.0.1');
    v6.send('broadcast,over six');
    await v4.waitFor((l) => l === 'broadcast ann :over six');
    v4.send('ann,over four');
    await v6.waitFor((l) => l === 'private ben ann :over four');
    for (const [client, host] of [
      [v6, '::1'],
      [v4, '127.0.0.1'],
    ] as const) {
      const offer = decodeEvent(await client.ask('download,both.bin', (l) => l.startsWith('offer '))) as Extract<ServerEvent, { type: 'offer' }>;
      const dest = join(work, `both-${host.replace(/[:.]/gu, '_')}.bin`);
      await downloadFile({ host, offer, destPath: dest });
      expect((await readFile(dest)).equals(content)).toBe(true);
    }
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('refuses a config file with a bad value in one clear line', async () => {
    const config = join(work, 'bad.json');
    await writeFile(config, JSON.stringify({ port: 0, 'max-clients': 'lots' }));
    const s = start(['--config', config]);
    expect(await s.exit).toBe(2);
    const err = s.err.join('');
    expect(err.split('\n')[0]).toBe('parley-server: --max-clients must be a positive number (got NaN)');
    expect(err).not.toMatch(/\n\s+at /u);
  });
});
