import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RawClient } from './helpers.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly opsPort: number | string;
  readonly exit: Promise<number | null>;
}

/** Starts the built parley-server on `dataDir`; resolves with its port once it prints its ready line. */
async function server(dataDir: string, extra: string[] = []): Promise<Running> {
  const files = await mkdtemp(join(tmpdir(), 'parley-files-'));
  cleanups.push(() => rm(files, { recursive: true, force: true }));
  const child = spawn(
    process.execPath,
    [
      BIN,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--udp-port',
      '-1',
      '--files-dir',
      files,
      '--data-dir',
      dataDir,
      '--log-format',
      'json',
      '--rate',
      '1000',
      '--burst',
      '1000',
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cleanups.push(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const exitedEarly = exit.then((code) => {
    throw new Error(`parley-server exited (${code}) before it was ready:\n${out}`);
  });
  const ready = vi.waitFor(
    () => {
      const line = out.split('\n').find((l) => l.includes('parley-server ready'));
      if (!line) throw new Error(`not ready: ${out}`);
      return JSON.parse(line) as { port: number; opsPort: number | string };
    },
    { timeout: 10_000, interval: 25 },
  );
  exitedEarly.catch(() => undefined);
  const { port, opsPort } = await Promise.race([ready, exitedEarly]);
  return { child, port, opsPort, exit };
}

async function join_(port: number, nick: string): Promise<RawClient> {
  const c = await RawClient.join(port, nick);
  cleanups.push(() => c.close());
  return c;
}

describe('history in the real parley-server process', () => {
  it('keeps every message anyone saw through kill -9 and a restart, privates for their parties only', async () => {
    const data = await mkdtemp(join(tmpdir(), 'parley-data-'));
    cleanups.push(() => rm(data, { recursive: true, force: true }));
    const first = await server(data, ['--ops-port', '0']);
    const alice = await join_(first.port, 'alice');
    const bob = await join_(first.port, 'bob');
    for (let i = 1; i <= 30; i++) alice.send(`broadcast,line ${i}`);
    alice.send('bob,just between us');
    await bob.waitFor((l) => l === 'private alice bob :just between us');
    expect(bob.lines.filter((l) => l.startsWith('broadcast alice :line '))).toHaveLength(30);
    const metrics = await (await fetch(`http://127.0.0.1:${first.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/^parley_history_stored_total 31$/mu);
    expect(metrics).toMatch(/^parley_history_commit_failures_total 0$/mu);
    first.child.kill('SIGKILL');
    expect(await first.exit).toBe(null);

    const second = await server(data);
    const carol = await join_(second.port, 'carol');
    await carol.waitFor((l) => l.startsWith('history end join '));
    const replay = carol.lines.filter((l) => l.startsWith('history broadcast ')).map((l) => l.slice(l.indexOf(' :') + 2));
    expect(replay).toEqual(Array.from({ length: 30 }, (_, i) => `line ${i + 1}`));
    expect(carol.lines.some((l) => l.includes('just between us'))).toBe(false);
    // bob is back within the grace time: his private message is there too.
    const bobAgain = await join_(second.port, 'bob');
    await bobAgain.waitFor((l) => l.startsWith('history end join '));
    expect(bobAgain.lines.filter((l) => l.startsWith('history private '))).toEqual([
      expect.stringMatching(/^history private alice bob [0-9]+ \S+ :just between us$/u),
    ]);
    // Ids are distinct and in order, and a new message after the restart goes on after them.
    const ids = bobAgain.events().flatMap((e) => (e.type === 'history' ? [Number(e.message.id)] : []));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(31);
    expect(await bobAgain.ask('ids,on', (l) => l.startsWith('ids '))).toBe('ids on');
    bobAgain.send('broadcast,after the crash');
    const sent = await bobAgain.waitFor((l) => l.startsWith('sent '));
    expect(Number(sent.split(' ')[1])).toBeGreaterThan(Math.max(...ids));
  });

  it('trims to --history-max-messages, and keeps nothing with --history off', async () => {
    const data = await mkdtemp(join(tmpdir(), 'parley-data-'));
    cleanups.push(() => rm(data, { recursive: true, force: true }));
    const first = await server(data);
    const alice = await join_(first.port, 'alice');
    const bob = await join_(first.port, 'bob');
    for (let i = 1; i <= 10; i++) alice.send(`broadcast,m${i}`);
    await bob.waitFor((l) => l === 'broadcast alice :m10');
    first.child.kill('SIGTERM');
    await first.exit;

    const trimmed = await server(data, ['--history-max-messages', '4']);
    const carol = await join_(trimmed.port, 'carol');
    await carol.waitFor((l) => l.startsWith('history end join '));
    expect(carol.lines.filter((l) => l.startsWith('history broadcast')).map((l) => l.split(' :')[1])).toEqual(['m7', 'm8', 'm9', 'm10']);
    trimmed.child.kill('SIGTERM');
    await trimmed.exit;

    const off = await server(data, ['--history', 'off']);
    const dave = await join_(off.port, 'dave');
    expect(await dave.ask('history', (l) => l.startsWith('error'))).toMatch(/^error HISTORY_OFF /u);
    expect(dave.lines.some((l) => l.startsWith('history '))).toBe(false);
  });

  it('refuses to start on a data folder another running server uses', async () => {
    const data = await mkdtemp(join(tmpdir(), 'parley-data-'));
    cleanups.push(() => rm(data, { recursive: true, force: true }));
    await server(data);
    await expect(server(data)).rejects.toThrow(/in use by another process \(pid [0-9]+/u);
  });
});
