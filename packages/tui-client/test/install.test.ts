import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { basename, delimiter, join, sep } from 'node:path';
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

/** What a C/C++ build (node-gyp, or a package's own install script) would need; none may be on the install's PATH. */
const BUILD_TOOLS = ['cc', 'gcc', 'g++', 'c++', 'clang', 'make', 'python3', 'python'];
/** npm lifecycle scripts that run when a package is installed from the registry or a tarball (`prepare` runs only for git and folder installs). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

/** Where `name` is on the current PATH (an absolute path, symlinks resolved). */
function onPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return realpathSync(join(dir, name));
  }
  throw new Error(`${name} is not on the PATH`);
}

/**
 * A folder holding only what installing and running the client needs (node,
 * npm, sh), to be the whole PATH: a machine without a compiler, make or Python.
 */
async function compilerFreePath(dir: string): Promise<string> {
  await mkdir(dir);
  await symlink(process.execPath, join(dir, 'node'));
  await symlink(onPath('npm'), join(dir, 'npm'));
  await symlink(onPath('sh'), join(dir, 'sh'));
  return dir;
}

/** What in an installed tree could only work on some platforms, or needs a build: addons, gyp files, install scripts, os/cpu/libc limits. */
function platformSpecific(root: string): string[] {
  const found: string[] = [];
  for (const f of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (f.endsWith('.node') || f.endsWith('binding.gyp')) found.push(f);
    if (!f.endsWith('package.json') || !existsSync(join(root, f))) continue;
    let pkg: { scripts?: Record<string, string>; gypfile?: boolean; os?: unknown; cpu?: unknown; libc?: unknown };
    try {
      pkg = JSON.parse(readFileSync(join(root, f), 'utf8')) as typeof pkg;
    } catch {
      continue; // a fixture or template named package.json inside some dependency, not a manifest
    }
    for (const script of INSTALL_SCRIPTS) if (pkg.scripts?.[script] !== undefined) found.push(`${f}: scripts.${script}`);
    if (pkg.gypfile) found.push(`${f}: gypfile`);
    for (const field of ['os', 'cpu', 'libc'] as const) if (pkg[field] !== undefined) found.push(`${f}: ${field}`);
  }
  return found;
}

/**
 * What a user does: `npm run pack:client` (the same script, without its build
 * step), then the README's `npm i -g` line from the repository root, into an
 * empty prefix whose path has a space (so nothing from this workspace can be
 * found, and a path lookup that breaks on spaces would show), and run
 * `parley` from there. The install and every `parley` run have a PATH of
 * only node, npm and sh: no compiler, make or Python, so a dependency that
 * needed a native build would fail the install instead of building here.
 */
describe('the packed client installs with the README command and works', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let files: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let parley: string;
  let installed: string;
  /** The environment of the user's machine: PATH without build tools. */
  let userEnv: NodeJS.ProcessEnv;
  const payload = Buffer.alloc(300_000).map((_, i) => (i * 131) % 253);

  beforeAll(async () => {
    work = await tempDir('parley install ');
    files = await tempDir('parley-install-files-');
    await writeFile(join(files.path, 'data.bin'), payload);
    const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    await run(process.execPath, [join(ROOT, 'scripts', 'pack-client.mjs'), '--skip-build', '--out', join(work.path, 'dist')], { env, timeout: 120_000 });
    const prefix = join(work.path, 'global prefix');
    await mkdir(prefix);
    userEnv = { PATH: await compilerFreePath(join(work.path, 'tools')), CC: '', CXX: '', PYTHON: '', npm_config_python: '' };
    // The README's exact command, run where the README says (the folder holding dist/); the prefix comes from npm's config, not from the command.
    await run('sh', ['-c', readmeInstallCommand()], { cwd: work.path, env: { ...env, ...userEnv, npm_config_prefix: prefix }, timeout: 120_000 });
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

  it('installs with no compiler, make or Python on the PATH', () => {
    const dirs = (userEnv.PATH ?? '').split(delimiter);
    expect(dirs).toHaveLength(1);
    expect(readdirSync(dirs[0]!).sort()).toEqual(['node', 'npm', 'sh']);
    expect(BUILD_TOOLS.filter((t) => existsSync(join(dirs[0]!, t)))).toEqual([]);
    expect(existsSync(parley)).toBe(true);
  });

  it('a package that needs a native build fails to install on that PATH (so the client installing there needs none)', async () => {
    // The control: the same PATH and npm, a one-file addon with a binding.gyp. npm runs node-gyp, which finds no Python.
    const addon = join(work.path, 'addon');
    await mkdir(addon);
    await writeFile(join(addon, 'package.json'), JSON.stringify({ name: 'needs-a-compiler', version: '1.0.0' }));
    await writeFile(join(addon, 'binding.gyp'), JSON.stringify({ targets: [{ target_name: 'addon', sources: ['addon.c'] }] }));
    await writeFile(join(addon, 'addon.c'), 'int addon;\n');
    const env = { ...process.env, ...userEnv, npm_config_prefix: join(work.path, 'addon prefix') };
    const install = run('npm', ['i', '-g', addon], { cwd: work.path, env, timeout: 120_000 });
    await expect(install).rejects.toThrow(/gyp ERR!/u);
  });

  it('leaves nothing platform-specific to chance: no addon, gyp file, install script or os/cpu limit in the tarball or anything it installs', async () => {
    const tgz = join(work.path, 'dist', `parley-tui-client-${VERSION}.tgz`);
    const manifest = JSON.parse((await run('tar', ['-xzOf', tgz, 'package/package.json'])).stdout) as Record<string, unknown>;
    expect(Object.keys((manifest.scripts ?? {}) as object).filter((s) => [...INSTALL_SCRIPTS, 'prepare'].includes(s))).toEqual([]);
    expect(manifest).not.toHaveProperty('gypfile');
    expect(manifest).not.toHaveProperty('optionalDependencies');
    expect(manifest).not.toHaveProperty('bundleDependencies');
    expect(manifest).not.toHaveProperty('bundledDependencies');
    const deps = readdirSync(join(installed, 'node_modules'));
    expect(deps.length).toBeGreaterThan(3); // blessed, pino, yargs, get-east-asian-width and theirs: the walk below saw them
    expect(platformSpecific(installed)).toEqual([]);
  });

  it('puts parley on the PATH of the prefix, with --help and --version', async () => {
    expect(existsSync(parley)).toBe(true);
    const help = await runClient(['--help'], { bin: parley, cwd: work.path, env: userEnv });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/parley download <file>/u);
    const version = await runClient(['--version'], { bin: parley, cwd: work.path, env: userEnv });
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('carries the licence and its repository links, and no native code', () => {
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      license: 'MIT',
      homepage: expect.stringContaining('github.com/parley-chat/parley'),
      bugs: expect.anything(),
      repository: expect.anything(),
    });
    const shipped = readdirSync(installed, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('node_modules'));
    expect(shipped.filter((f) => f.endsWith('.node'))).toEqual([]);
    // dist/parley.js and the chunks it imports when a command needs them (scripts/bundle.mjs), each with its source map.
    expect(shipped.filter((f) => !f.startsWith(`dist${sep}parley-`)).sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist',
      join('dist', 'parley.js'),
      join('dist', 'parley.js.map'),
      'package.json',
    ]);
    const chunks = shipped.filter((f) => f.startsWith(`dist${sep}parley-`));
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.filter((f) => !/^parley-[\w-]+\.js(\.map)?$/u.test(basename(f)))).toEqual([]);
  });

  it('runs scripted sessions against a running server, a download included', async () => {
    const bob = new Connection({ host: '127.0.0.1', port: server.port, nick: 'bob', reconnect: false });
    bob.start();
    await vi.waitFor(() => expect(bob.state).toBe('online'), WAIT);
    const at = ['--host', '127.0.0.1', '--port', String(server.port)];
    try {
      const online = await runClient(['online', ...at, '--nick', 'x'], { bin: parley, cwd: work.path, env: userEnv });
      expect(online).toMatchObject({ code: 0, stdout: 'bob\n' });
      const sent = await runClient(['send', '--all', 'installed fine', ...at], { bin: parley, cwd: work.path, env: userEnv });
      expect(sent.code, sent.stderr).toBe(0);
      expect(server.udpPort, 'the server must offer UDP downloads for this test').toBeDefined();
      const dl = join(work.path, 'down loads');
      const got = await runClient(['download', 'data.bin', ...at, '--download-dir', dl], { bin: parley, cwd: work.path, env: userEnv });
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe(`${join(dl, 'data.bin')}\t${createHash('sha256').update(payload).digest('hex')}\n`);
      expect(readFileSync(join(dl, 'data.bin')).equals(payload)).toBe(true);
    } finally {
      bob.close();
    }
  });
});
