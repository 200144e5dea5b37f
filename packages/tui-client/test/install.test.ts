import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../src/net/connection.js';
import { PACKAGE_DIR, runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { waitFor } from './helpers/fake-server.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * What a user does: pack the client, `npm i -g` it into an empty prefix (so
 * nothing from this workspace can be found), and run `parley` from there.
 */
describe('the packed client installs with npm i -g and works', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let files: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let parley: string;

  beforeAll(async () => {
    work = await tempDir('parley-install-');
    files = await tempDir('parley-install-files-');
    const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    await run(npm, ['pack', '--pack-destination', work.path], { cwd: PACKAGE_DIR, env });
    const tarball = readdirSync(work.path).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack made no tarball');
    const prefix = join(work.path, 'prefix');
    // Run from the temp folder so no workspace node_modules is on the resolution path.
    await run(npm, ['install', '--global', '--prefix', prefix, join(work.path, tarball)], { cwd: work.path, env, timeout: 120_000 });
    parley = join(prefix, 'bin', 'parley');
    server = await startServer(files.path);
  }, 150_000);

  afterAll(async () => {
    await server?.stop();
    await work?.remove();
    await files?.remove();
  });

  it('puts parley on the PATH of the prefix, with --help', async () => {
    expect(existsSync(parley)).toBe(true);
    const r = await runClient(['--help'], { bin: parley, cwd: work.path });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parley download <file>/u);
  });

  // CI builds the transfer's native addon (PARLEY_NATIVE=require); the packed
  // client must carry it next to its bundle, where the bundle looks for it.
  it.skipIf(process.env.CI !== 'true' && process.env.PARLEY_NATIVE !== 'require')('carries the batched-UDP addon next to its bundle, and it loads', async () => {
    const addon = join(parley, '..', '..', 'lib', 'node_modules', '@parley', 'tui-client', 'dist', 'udp_batch.node');
    expect(existsSync(addon)).toBe(true);
    const r = await run(process.execPath, ['-e', `console.log(Object.keys(require(${JSON.stringify(addon)})).sort().join(' '))`], { cwd: work.path });
    // crc32 is there too on x86-64 CPUs with PCLMULQDQ.
    expect(r.stdout.trim().split(' ')).toEqual(expect.arrayContaining(['recvBatch', 'sendBatch', 'sockaddr']));
  });

  it('runs a scripted session against a running server', async () => {
    const bob = new Connection({ host: '127.0.0.1', port: server.port, nick: 'bob', reconnect: false });
    bob.start();
    await waitFor(() => bob.state === 'online', 'bob online');
    try {
      const online = await runClient(['online', '--host', '127.0.0.1', '--port', String(server.port), '--nick', 'x'], { bin: parley, cwd: work.path });
      expect(online).toMatchObject({ code: 0, stdout: 'bob\n' });
      const sent = await runClient(['send', '--all', 'installed fine', '--host', '127.0.0.1', '--port', String(server.port)], { bin: parley, cwd: work.path });
      expect(sent.code, sent.stderr).toBe(0);
    } finally {
      bob.close();
    }
  });
});
