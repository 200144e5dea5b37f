import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built `parley-server` entry point (tests run it as a user would). */
export const SERVER_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** A `parley-server` process started by a test, with what it printed so far. */
export interface ServerRun {
  readonly child: ChildProcess;
  readonly out: string[];
  readonly err: string[];
  readonly exit: Promise<number | null>;
}

/**
 * Starts the built server with `args`. `env` is its whole environment (pass
 * `{ ...process.env, … }` to inherit); every process started here is killed by
 * `killServers()` (call it in `afterEach`).
 */
export function runServer(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ServerRun {
  const child = spawn(process.execPath, [SERVER_BIN, ...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const out: string[] = [];
  const err: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => out.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => err.push(d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, err, exit };
}

const started: ChildProcess[] = [];

/** Kills every server `runServer` started and that is still running. */
export function killServers(): void {
  for (const c of started.splice(0)) c.kill('SIGKILL');
}
