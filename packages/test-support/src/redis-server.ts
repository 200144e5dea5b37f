import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * Launches a real `redis-server` for tests, benchmarks and the harness (never for production: protected mode is off): on 127.0.0.1, on
 * a free port (or the one given, to restart on the same address), nothing
 * saved to disk. Waits until it accepts connections; fails loudly (with its
 * output) if it is not installed or exits first.
 */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** Stops it (SIGTERM, or SIGKILL) and waits until it has exited. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export const REDIS_READY_TIMEOUT_MS = 10_000;

/** `args`: more redis-server arguments, after (and so over) the defaults, e.g. `['--appendonly', 'yes', '--dir', dir]` to persist. */
export async function startRedisServer(options: { port?: number; binary?: string; args?: readonly string[] } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? 'redis-server';
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    ...(options.args ?? []),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not get ready within ${REDIS_READY_TIMEOUT_MS} ms`)), REDIS_READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      }
    };
    function fail(err: Error): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- redis-server output ---\n${output}`));
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'ENOENT' ? new Error(`${binary} is not installed (Debian: apt-get install redis-server)`) : err),
    );
    function onExit(code: number | null, signal: NodeJS.Signals | null): void {
      fail(new Error(`redis-server exited before it was ready (code ${code}, signal ${signal})`));
    }
    child.once('exit', onExit);
  });
  await ready;
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (isRunning(child)) process.kill(child.pid as number, signal);
      await exited;
    },
  };
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
