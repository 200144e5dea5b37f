import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';

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
export function runServer(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; nodeArgs?: string[] } = {}): ServerRun {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), SERVER_BIN, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/** The ready line's ports. */
export interface Ready {
  port: number;
  tlsPort: number | 'off';
  opsPort: number | 'off';
}

/** The JSON log lines a server printed so far. */
export function logLines(r: ServerRun): Array<Record<string, unknown>> {
  return r.out
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Starts the built server with its data and files folders in `dir` (history
 * off, no UDP, JSON logs, on `::` port 0) plus `extra`, and waits for its ready line.
 * `nodeArgs` go to node before the server's file; `env` is added to its environment (PATH only otherwise).
 */
export async function startServerIn(
  dir: string,
  extra: string[] = [],
  options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ run: ServerRun; ready: Ready }> {
  const run = runServer(
    [
      '--host',
      '::',
      '--port',
      '0',
      '--udp-port',
      '-1',
      '--history',
      'off',
      '--data-dir',
      join(dir, 'data'),
      '--files-dir',
      join(dir, 'files'),
      '--log-format',
      'json',
      ...extra,
    ],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      nodeArgs: options.nodeArgs,
    },
  );
  return { run, ready: await waitForReady<Ready>(run) };
}

/**
 * Waits for the server's JSON ready line and returns it parsed; fails at once
 * if the process exits first, or after 10 s, with what it printed.
 */
export async function waitForReady<T = Ready>(run: ServerRun, name = 'server'): Promise<T> {
  const exited = run.exit.then((code) => {
    throw new Error(`${name} exited early (${code}):\n${run.out.join('')}${run.err.join('')}`);
  });
  exited.catch(() => undefined);
  const ready = vi.waitFor(
    () => {
      const line = logLines(run).find((l) => String(l.msg).startsWith('parley-server ready'));
      if (!line) throw new Error(`${name} not ready:\n${run.out.join('')}${run.err.join('')}`);
      return line as unknown as T;
    },
    { timeout: 10_000, interval: 25 },
  );
  return Promise.race([ready, exited]);
}
