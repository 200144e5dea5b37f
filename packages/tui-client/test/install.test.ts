import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Connection } from '../src/net/connection.js';
import { PACKAGE_DIR, runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { WAIT } from './helpers/wait.js';

const run = promisify(execFile);
const ROOT = join(PACKAGE_DIR, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;

/** The install command of the root README's "The terminal client" section, exactly as a user copies it. */
function readmeInstallCommand(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /^## The terminal client\n([\s\S]*?)^## /mu.exec(readme)?.[1] ?? '';
  const line = section.split('\n').find((l) => l.startsWith('npm i -g '));
  if (!line) throw new Error('README.md "The terminal client" has no `npm i -g` line');
  return line.replace(/\s+#.*$/u, '').trim();
}

/**
 * What a user does: `npm run pack:client` (the same script, without its build
 * step), then the README's `npm i -g` line from the repository root, into an
 * empty prefix whose path has a space (so nothing from this workspace can be
 * found, and a path lookup that breaks on spaces would show), and run
 * `parley` from there.
 */
describe('the packed client installs with the README command and works', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let files: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let parley: string;
  let installed: string;
  const payload = Buffer.alloc(300_000).map((_, i) => (i * 131) % 253);

  beforeAll(async () => {
    work = await tempDir('parley install ');
    files = await tempDir('parley-install-files-');
    await writeFile(join(files.path, 'data.bin'), payload);
    const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    await run(process.execPath, [join(ROOT, 'scripts', 'pack-client.mjs'), '--skip-build', '--out', join(work.path, 'dist')], { env, timeout: 120_000 });
    const prefix = join(work.path, 'global prefix');
    await mkdir(prefix);
    // The README's exact command, run where the README says (the folder holding dist/); the prefix comes from npm's config, not from the command.
    await run('sh', ['-c', readmeInstallCommand()], { cwd: work.path, env: { ...env, npm_config_prefix: prefix }, timeout: 120_000 });
    parley = join(prefix, 'bin', 'parley');
    installed = join(prefix, 'lib', 'node_modules', '@parley', 'tui-client');
    server = await startServer(files.path);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await work?.remove();
    await files?.remove();
  });

  it('the README names the tarball pack:client makes, as a path npm cannot read as a GitHub repository', () => {
    expect(readmeInstallCommand()).toBe(`npm i -g ./dist/parley-tui-client-${VERSION}.tgz`);
    expect(readdirSync(join(work.path, 'dist'))).toEqual([`parley-tui-client-${VERSION}.tgz`]);
  });

  it('puts parley on the PATH of the prefix, with --help and --version', async () => {
    expect(existsSync(parley)).toBe(true);
    const help = await runClient(['--help'], { bin: parley, cwd: work.path });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/parley download <file>/u);
    const version = await runClient(['--version'], { bin: parley, cwd: work.path });
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('carries the licence and its repository links, and no native code', () => {
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({ license: 'MIT', homepage: expect.stringContaining('github.com/parley-chat/parley'), bugs: expect.anything(), repository: expect.anything() });
    const shipped = readdirSync(installed, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('node_modules'));
    expect(shipped.filter((f) => f.endsWith('.node'))).toEqual([]);
    expect(shipped.sort()).toEqual(['LICENSE', 'README.md', 'dist', join('dist', 'parley.js'), join('dist', 'parley.js.map'), 'package.json']);
  });

  it('runs scripted sessions against a running server, a download included', async () => {
    const bob = new Connection({ host: '127.0.0.1', port: server.port, nick: 'bob', reconnect: false });
    bob.start();
    await vi.waitFor(() => expect(bob.state).toBe('online'), WAIT);
    const at = ['--host', '127.0.0.1', '--port', String(server.port)];
    try {
      const online = await runClient(['online', ...at, '--nick', 'x'], { bin: parley, cwd: work.path });
      expect(online).toMatchObject({ code: 0, stdout: 'bob\n' });
      const sent = await runClient(['send', '--all', 'installed fine', ...at], { bin: parley, cwd: work.path });
      expect(sent.code, sent.stderr).toBe(0);
      if (server.udpPort === undefined) return;
      const dl = join(work.path, 'down loads');
      const got = await runClient(['download', 'data.bin', ...at, '--download-dir', dl], { bin: parley, cwd: work.path });
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe(`${join(dl, 'data.bin')}\t${createHash('sha256').update(payload).digest('hex')}\n`);
    } finally {
      bob.close();
    }
  });
});
