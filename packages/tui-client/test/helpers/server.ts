import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVER_BIN = join(PACKAGE_DIR, '..', 'server', 'dist', 'bin.js');
export const CLIENT_BIN = join(PACKAGE_DIR, 'dist', 'parley.js');
const READY_TIMEOUT_MS = 10_000;

export interface RunningServer {
  readonly port: number;
  /** undefined when this server build has downloads off. */
  readonly udpPort: number | undefined;
  /** The TLS chat port, when started with --tls-port. */
  readonly tlsPort: number | undefined;
  readonly filesDir: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

function launch(
  args: string[],
): Promise<{ child: ChildProcess; port: number; udpPort: number | undefined; tlsPort: number | undefined; output: () => string }> {
  if (!existsSync(SERVER_BIN)) throw new Error(`${SERVER_BIN} is missing: build the server first (node scripts/pnpm.mjs --filter @parley/server... build)`);
  const child = spawn(process.execPath, [SERVER_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server not ready within ${READY_TIMEOUT_MS} ms:\n${out}`));
    }, READY_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      for (const line of out.split('\n')) {
        if (!line.includes('parley-server ready')) continue;
        try {
          const j = JSON.parse(line) as { port: number; udpPort: number | string; tlsPort?: number | string };
          clearTimeout(timer);
          resolve({
            child,
            port: j.port,
            udpPort: typeof j.udpPort === 'number' ? j.udpPort : undefined,
            tlsPort: typeof j.tlsPort === 'number' ? j.tlsPort : undefined,
            output: () => out,
          });
          return;
        } catch {
          /* not a whole JSON line yet */
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}):\n${out}`));
    });
  });
}

/**
 * Starts the real server binary on a free port with a files folder. Downloads
 * are on when this server build supports them (else it is started with
 * --udp-port -1 and `udpPort` is undefined).
 */
export async function startServer(filesDir: string, opts: { port?: number; extra?: string[] } = {}): Promise<RunningServer> {
  const base = [
    '--host',
    '127.0.0.1',
    '--port',
    String(opts.port ?? 0),
    '--files-dir',
    filesDir,
    '--log-format',
    'json',
    '--history',
    'off',
    ...(opts.extra ?? []),
  ];
  let started;
  try {
    started = await launch([...base, '--udp-port', '0']);
  } catch (err) {
    if (!/udp pending/u.test((err as Error).message)) throw err;
    started = await launch([...base, '--udp-port', '-1']);
  }
  const { child, port, udpPort, tlsPort, output } = started;
  return {
    port,
    udpPort,
    tlsPort,
    filesDir,
    output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built client (or `bin`) to completion. */
export function runClient(args: string[], opts: { env?: NodeJS.ProcessEnv; bin?: string; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const child = spawn(opts.bin ?? process.execPath, opts.bin ? args : [CLIENT_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`parley ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
