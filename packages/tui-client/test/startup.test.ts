import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmPackagesOf as packagesOf, RECORD_MODULES_PRELOAD as RECORDER, type LoadedModules as Loaded } from '@parley/test-support';
import { CLIENT_BIN, PACKAGE_DIR, runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';

// What keeps a scripted command fast (bench/startup/RESULTS.md has the
// times): it never loads the chat screen's stack (blessed, pino), loads the
// UDP transfer only to download, and --help
// loads neither the protocol nor a socket module. Checked by what the process
// really loaded (@parley/test-support's record-modules), never by a time.

const SCREEN_PACKAGES = ['blessed', 'pino'];

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: RunningServer;
let runs = 0;

/** Runs `node --import RECORDER …args` in the package folder; what it loaded, with its exit code. */
async function loaded(nodeArgs: string[]): Promise<Loaded & { code: number | null; stderr: string }> {
  const out = join(dir.path, `loaded-${runs++}.json`);
  const r = await runClient(['--import', RECORDER, ...nodeArgs], { bin: process.execPath, cwd: PACKAGE_DIR, env: { PARLEY_TEST_MODULES_OUT: out } });
  return { ...(JSON.parse(await readFile(out, 'utf8')) as Loaded), code: r.code, stderr: r.stderr };
}

beforeAll(async () => {
  dir = await tempDir('parley-startup-');
  await writeFile(join(dir.path, 'tiny.bin'), 'tiny file');
  server = await startServer(dir.path);
});

afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

const at = (): string[] => ['--host', '127.0.0.1', '--port', String(server.port)];

describe('what a parley command loads', () => {
  it('the recorder sees an npm package imported from ESM, and Node built-ins (so the absences below mean something)', async () => {
    const l = await loaded(['--input-type=module', '-e', "import 'pino'; import 'node:dgram';"]);
    expect(l.code).toBe(0);
    expect(packagesOf(l)).toContain('pino');
    expect(l.builtins).toContain('dgram');
  });

  it('--help loads no npm package and neither TLS nor UDP', async () => {
    const l = await loaded([CLIENT_BIN, '--help']);
    expect(l.code).toBe(0);
    expect(packagesOf(l)).toEqual([]);
    // (node:net is Node's own: stdout on a pipe is a net.Socket.)
    expect(l.builtins).not.toContain('tls');
    expect(l.builtins).not.toContain('dgram');
  });

  it('online over plain TCP loads neither the screen, nor the UDP transfer, nor TLS, nor node:crypto', async () => {
    const l = await loaded([CLIENT_BIN, 'online', ...at()]);
    expect(l.code).toBe(0);
    expect(packagesOf(l).filter((p) => SCREEN_PACKAGES.includes(p))).toEqual([]);
    expect(l.builtins).not.toContain('dgram');
    expect(l.builtins).not.toContain('tls');
    expect(l.builtins).not.toContain('crypto');
  });

  it('download loads the UDP transfer but not the screen', async () => {
    const out = await tempDir('parley-startup-dl-');
    try {
      const l = await loaded([CLIENT_BIN, 'download', 'tiny.bin', ...at(), '--download-dir', out.path]);
      expect(l.code, l.stderr).toBe(0);
      expect(await readFile(join(out.path, 'tiny.bin'), 'utf8')).toBe('tiny file');
      expect(l.builtins).toContain('dgram');
      expect(packagesOf(l).filter((p) => SCREEN_PACKAGES.includes(p))).toEqual([]);
    } finally {
      await out.remove();
    }
  });
});
