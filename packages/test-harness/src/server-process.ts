import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How long a spawned server has to print its ready line. */
export const SERVER_READY_TIMEOUT_MS = 10_000;
/** How long a stopped server has to exit. */
export const SERVER_EXIT_TIMEOUT_MS = 10_000;

export interface SpawnServerOptions {
  /** Path of parley-server's bin.js; default: the built @parley/server. */
  readonly bin?: string;
  /** Folder of files to offer. */
  readonly filesDir: string;
  /** Extra flags, e.g. ['--rate', '1000']. */
  readonly args?: readonly string[];
  /** -1 switches downloads off; default 0 (any free port). */
  readonly udpPort?: number;
  /** Extra Node flags (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
  readonly cwd?: string;
  /**
   * A fixed TCP port. Readiness is then also a successful connection, for a
   * server whose --log-level hides its ready line. Default 0 (any free port,
   * read from the ready line).
   */
  readonly port?: number;
}

export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Thrown when the server did not become ready; carries what it printed. */
export class ServerStartError extends Error {
  override readonly name = 'ServerStartError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- server output ---\n${output.trimEnd() || '(nothing)'}\n--- end of server output ---`);
  }
}

/** Finds the built parley-server: PARLEY_SERVER_BIN, the @parley/server dependency, or the monorepo folder. */
export function defaultServerBin(): string {
  const fromEnv = process.env.PARLEY_SERVER_BIN;
  if (fromEnv) return fromEnv;
  try {
    const entry = fileURLToPath(import.meta.resolve('@parley/server'));
    const bin = join(dirname(entry), 'bin.js');
    if (existsSync(bin)) return bin;
  } catch {
    // not installed as a dependency: fall through to the monorepo layout
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'dist', 'bin.js');
}

/**
 * A parley-server child process on ephemeral ports. `start()` resolves once
 * the JSON ready line is printed, and rejects with the child's output when it
 * exits first or when SERVER_READY_TIMEOUT_MS passes.
 */
export class ServerProcess {
  port = 0;
  udpPort: number | undefined;
  readonly host = '127.0.0.1';
  #child: ChildProcess | undefined;
  #output = '';
  #exit: Promise<ServerExit> | undefined;
  #exited: ServerExit | undefined;

  constructor(readonly options: SpawnServerOptions) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Everything the server wrote to stdout and stderr so far. */
  get output(): string {
    return this.#output;
  }

  get exited(): ServerExit | undefined {
    return this.#exited;
  }

  start(): Promise<this> {
    const bin = this.options.bin ?? defaultServerBin();
    if (!existsSync(bin)) {
      return Promise.reject(new ServerStartError(`parley-server not found at ${bin}; build it: node scripts/pnpm.mjs --filter @parley/server... build`, ''));
    }
    const args = [
      ...(this.options.nodeArgs ?? []),
      bin,
      '--host',
      this.host,
      '--port',
      String(this.options.port ?? 0),
      '--udp-port',
      String(this.options.udpPort ?? 0),
      '--files-dir',
      this.options.filesDir,
      '--log-format',
      'json',
      // No history database in the working folder unless a caller asks for one (`args` come later and win).
      '--history',
      'off',
      ...(this.options.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.options.cwd });
    this.#child = child;
    this.#exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exited = { code, signal };
        resolve(this.#exited);
      });
    });
    const timeoutMs = this.options.readyTimeoutMs ?? SERVER_READY_TIMEOUT_MS;
    return new Promise<this>((resolve, reject) => {
      let lineBuf = '';
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          child.kill('SIGKILL');
          reject(err);
        } else resolve(this);
      };
      const timer = setTimeout(
        () => settle(new ServerStartError(`parley-server was not ready within SERVER_READY_TIMEOUT_MS (${timeoutMs} ms)`, this.#output)),
        timeoutMs,
      );
      child.stdout?.setEncoding('utf8');
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (s: string) => (this.#output += s));
      child.stdout?.on('data', (s: string) => {
        this.#output += s;
        if (settled) return;
        lineBuf += s;
        let nl: number;
        while ((nl = lineBuf.indexOf('\n')) !== -1) {
          const line = lineBuf.slice(0, nl);
          lineBuf = lineBuf.slice(nl + 1);
          const ready = parseReady(line);
          if (ready) {
            this.port = ready.port;
            this.udpPort = ready.udpPort;
            settle();
            return;
          }
        }
      });
      if (this.options.port) {
        const port = this.options.port;
        const probe = (): void => {
          if (settled) return;
          const sock = connect({ host: this.host, port }, () => {
            sock.destroy();
            this.port = port;
            this.udpPort = undefined;
            settle();
          });
          sock.once('error', () => setTimeout(probe, 50));
        };
        setTimeout(probe, 100);
      }
      child.once('error', (err) => settle(new ServerStartError(`cannot spawn parley-server: ${err.message}`, this.#output)));
      child.once('exit', (code, signal) => {
        // Let the last output arrive before reporting.
        setImmediate(() => settle(new ServerStartError(`parley-server exited before it was ready (code ${code}, signal ${signal})`, this.#output)));
      });
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.#child && !this.#exited) this.#child.kill(sig);
  }

  /** Waits for the process to exit; rejects after `timeoutMs`. */
  async waitExit(timeoutMs = SERVER_EXIT_TIMEOUT_MS): Promise<ServerExit> {
    if (!this.#exit) throw new Error('server was never started');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`parley-server did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.#exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL if it is still there after the timeout. */
  async stop(timeoutMs = SERVER_EXIT_TIMEOUT_MS): Promise<ServerExit | undefined> {
    if (!this.#child) return undefined;
    if (this.#exited) return this.#exited;
    this.signal('SIGTERM');
    try {
      return await this.waitExit(timeoutMs);
    } catch {
      this.signal('SIGKILL');
      return this.waitExit(2000);
    }
  }
}

interface ReadyLine {
  readonly port: number;
  readonly udpPort: number | undefined;
}

/** Reads the server's JSON ready line: `{"msg":"parley-server ready…","port":…,"udpPort":…}`. */
export function parseReady(line: string): ReadyLine | undefined {
  if (!line.includes('parley-server ready')) return undefined;
  try {
    const o = JSON.parse(line) as { port?: unknown; udpPort?: unknown };
    if (typeof o.port !== 'number') return undefined;
    return { port: o.port, udpPort: typeof o.udpPort === 'number' ? o.udpPort : undefined };
  } catch {
    return undefined;
  }
}
