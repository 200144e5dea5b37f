import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npmPackagesOf, RECORD_MODULES_PRELOAD, type LoadedModules } from '@parley/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './helpers.js';
import { killServers, SERVER_BIN, startServerIn } from './server-process.js';

// What keeps a server start short (bench/startup/RESULTS.md has the times):
// yargs, pino and the workspace packages come from the bundle (no npm
// package's files are read for them), and a server without a TLS port does
// not load node:tls (≈ 16 ms). Checked by what
// the process really loaded (@parley/test-support's record-modules), never by
// a time.

let dir: string;
let runs = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-server-startup-'));
});
afterEach(() => killServers());
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts a server with the recorder preloaded, checks a client can join, stops it; what it loaded. */
async function loadedByServer(extra: string[]): Promise<LoadedModules> {
  const out = join(dir, `loaded-${runs}.json`);
  const runDir = join(dir, `run-${runs++}`);
  await mkdir(runDir);
  const { run, ready } = await startServerIn(runDir, ['--udp-port', '0', '--history', 'on', ...extra], {
    nodeArgs: ['--import', RECORD_MODULES_PRELOAD],
    env: { PARLEY_TEST_MODULES_OUT: out },
  });
  const c = await RawClient.join(ready.port, 'startup_probe');
  c.socket.destroy();
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
  return JSON.parse(await readFile(out, 'utf8')) as LoadedModules;
}

describe('what a parley-server start loads', () => {
  it('a plain server (history, accounts, downloads on) does not load TLS, and reads yargs and pino from its bundle', async () => {
    const l = await loadedByServer([]);
    expect(l.builtins).toContain('dgram'); // the recorder works: downloads are on
    expect(l.builtins).not.toContain('tls');
    const packages = npmPackagesOf(l);
    expect(packages).toContain('libsql'); // native, so never bundled: CommonJS files are recorded
    expect(packages).not.toContain('pino');
    expect(packages).not.toContain('yargs');
  });

  it('a server with a TLS port does load node:tls (so the absence above means something)', async () => {
    const cert = join(dir, 'startup.crt');
    const key = join(dir, 'startup.key');
    const made = spawnSync(process.execPath, [SERVER_BIN, 'self-signed', '--cert', cert, '--key', key, '--name', 'localhost'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const l = await loadedByServer(['--tls-port', '0', '--tls-cert', cert, '--tls-key', key]);
    expect(l.builtins).toContain('tls');
  });
});
