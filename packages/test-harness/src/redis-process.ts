import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** How long a throw-away redis-server has to accept connections. */
export const REDIS_READY_TIMEOUT_MS = 10_000;

/**
 * A throw-away `redis-server` for a cluster scenario: on 127.0.0.1, a free
 * port, nothing saved to disk. `start()` resolves once it accepts
 * connections and rejects (with its output) when it is missing or exits first.
 */
export class RedisProcess {
  port = 0;
  #child: ChildProcess | undefined;
  #output = '';
  #exit: Promise<void> | undefined;

  constructor(readonly binary = process.env.PARLEY_REDIS_SERVER ?? 'redis-server') {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get output(): string {
    return this.#output;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no'];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exit = new Promise((resolve) => child.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          child.kill('SIGKILL');
          reject(new Error(`${err.message}\n--- redis-server output ---\n${this.#output.trimEnd() || '(nothing)'}\n--- end of redis-server output ---`));
        } else resolve();
      };
      const timer = setTimeout(() => settle(new Error(`redis-server was not ready within ${REDIS_READY_TIMEOUT_MS} ms`)), REDIS_READY_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        this.#output += chunk.toString('utf8');
        if (this.#output.includes('Ready to accept connections')) settle();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err: NodeJS.ErrnoException) =>
        settle(err.code === 'ENOENT' ? new Error(`${this.binary} is not installed (Debian: apt-get install redis-server)`) : err),
      );
      child.once('exit', (code, signal) => setImmediate(() => settle(new Error(`redis-server exited before it was ready (code ${code}, signal ${signal})`))));
    });
    return this;
  }

  /** Stops it (SIGTERM by PID) and waits until it has exited. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await this.#exit;
  }
}

/** A port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
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
