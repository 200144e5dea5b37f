import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LossyRelay } from '@parley/test-support';
import type { Step } from './types.js';

type DownloadStep = Extract<Step, { action: 'download' }>;

const HERE = dirname(fileURLToPath(import.meta.url));
/** The built child script (tests run this file from src/, the child always runs from dist/). */
const CHILD =
  [join(HERE, '..', 'download-child.js'), join(HERE, '..', '..', 'dist', 'download-child.js')].find((p) => existsSync(p)) ??
  join(HERE, '..', 'download-child.js');

interface ChildEvent {
  readonly event: 'offer' | 'progress' | 'done' | 'error';
  readonly bytes?: number;
  readonly message?: string;
  readonly sha256?: string;
  readonly size?: number;
  readonly udpPort?: number;
}

/**
 * Runs one download in a child process (a whole client: chat join + UDP
 * transfer), through a lossy relay when asked, and checks the result:
 * the file matches the server's copy byte for byte, the relay really
 * dropped and reordered, or (kill-after-bytes) the child was killed mid-way.
 * Returns facts for the report.
 */
export async function runDownload(
  step: DownloadStep,
  ctx: { host: string; port: number; udpPort: number | undefined; filesDir: string | undefined; nick: string },
): Promise<string[]> {
  if (!ctx.filesDir || ctx.udpPort === undefined) throw new Error('downloads need a spawned server with UDP on');
  const tmp = await mkdtemp(join(tmpdir(), 'parley-dl-'));
  const destPath = join(tmp, step.file);
  const relay = step.relay ? await LossyRelay.start({ ...step.relay, targetHost: ctx.host, targetPort: ctx.udpPort }) : undefined;
  const facts: string[] = [];
  try {
    const args = { host: ctx.host, port: ctx.port, nick: ctx.nick, file: step.file, destPath, ...(relay ? { relayPort: relay.port } : {}) };
    const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const events: ChildEvent[] = [];
    let killed = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const ev = JSON.parse(buf.slice(0, nl)) as ChildEvent;
        buf = buf.slice(nl + 1);
        events.push(ev);
        if (step.killAfterBytes && ev.event === 'progress' && (ev.bytes ?? 0) >= step.killAfterBytes && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), step.timeoutMs);
    const exit = await exited;
    clearTimeout(timer);
    const fail = (why: string): never => {
      throw new Error(
        `${why}\n  child events: ${events
          .map((e) => JSON.stringify(e))
          .slice(-5)
          .join('\n  ')}\n  child stderr: ${stderr.trim() || '(none)'}`,
      );
    };
    if (step.killAfterBytes) {
      if (!killed) fail(`the download ended (code ${exit.code}) before ${step.killAfterBytes} bytes arrived, so it was never killed mid-way`);
      const got = events.filter((e) => e.event === 'progress').at(-1)?.bytes ?? 0;
      facts.push(`${ctx.nick} killed with SIGKILL after ${got} bytes`);
      return facts;
    }
    if (exit.code !== 0) fail(`download failed (exit ${exit.code}, signal ${exit.signal})`);
    const offer = events.find((e) => e.event === 'offer');
    const [got, want] = await Promise.all([readFile(destPath), readFile(join(ctx.filesDir, step.file))]);
    const sha = createHash('sha256').update(got).digest('hex');
    const wantSha = createHash('sha256').update(want).digest('hex');
    if (sha !== wantSha || !got.equals(want)) fail(`downloaded ${got.length} bytes with sha256 ${sha}; the server's file is ${want.length} bytes, ${wantSha}`);
    if (offer?.sha256 !== wantSha) fail(`the offer announced sha256 ${offer?.sha256}, the file is ${wantSha}`);
    facts.push(`${ctx.nick}: ${got.length} bytes, sha256 ${sha.slice(0, 16)}… matches`);
    if (relay && step.relay) {
      const s = relay.counts;
      facts.push(`relay: ${s.forwarded} forwarded, ${s.dropped} dropped, ${s.reordered} reordered, ${s.duplicated} duplicated`);
      // An impairment test must prove the impairment happened.
      if (step.relay.loss > 0 && s.dropped === 0) fail('the relay dropped nothing, so loss recovery was not exercised');
      if (step.relay.reorder > 0 && s.reordered === 0) fail('the relay reordered nothing');
      if (step.relay.duplicate > 0 && s.duplicated === 0) fail('the relay duplicated nothing');
    }
    return facts;
  } finally {
    await relay?.close();
    await rm(tmp, { recursive: true, force: true });
  }
}
