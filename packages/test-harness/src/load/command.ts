import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseTarget } from '../target.js';
import type { Dialect } from './pool.js';
import { formatIdle, formatTraffic, machineLine, resultsMarkdown, serverRevision, type SuiteRow } from './report.js';
import { runIdle, runTraffic, type IdleResult, type TrafficResult } from './runs.js';
import { overTls, startNgircd, startParley, type LoadTarget } from './servers.js';
import { runTlsComparison } from './tls-compare.js';
import { tlsResultsMarkdown } from './tls-report.js';
import { formatTransfer, runTransfer } from './transfer.js';

export interface LoadArgs {
  readonly mode: 'fanout' | 'private' | 'idle' | 'transfer' | 'suite' | 'tls';
  readonly clients: number;
  readonly rate: number;
  readonly senders: number | undefined;
  readonly duration: number;
  readonly warmup: number;
  readonly size: number;
  readonly dialect: Dialect | 'both';
  readonly target: string | undefined;
  readonly serverPid: number | undefined;
  readonly server: string | undefined;
  readonly serverArg: readonly string[];
  readonly cpuProf: string | undefined;
  readonly connectConcurrency: number;
  readonly json: boolean;
  readonly out: string | undefined;
  readonly quick: boolean;
  readonly nick: boolean;
  readonly fileMb: number;
  /** Connect over TLS (a spawned server gets a self-signed certificate; with --target, --ca is the certificate to trust). */
  readonly tls: boolean;
  readonly ca: string | undefined;
  /** tls mode: pairs of runs (plain and TLS) of each kind. */
  readonly runs: number;
}

async function withTarget<T>(dialect: Dialect, a: LoadArgs, fn: (t: LoadTarget) => Promise<T>): Promise<T> {
  let target: LoadTarget;
  if (a.tls && dialect === 'irc') throw new Error('--tls: the load generator speaks TLS to Parley only');
  if (a.target) {
    const { host, port } = parseTarget(a.target);
    if (a.tls && !a.ca) throw new Error('--tls with --target needs --ca FILE: the certificate (or CA) the server is verified against');
    const tls = a.tls ? { tls: { ca: readFileSync(a.ca as string) } } : {};
    target = {
      name: `${dialect}${a.tls ? ' TLS' : ''} at ${a.target}`,
      dialect,
      host,
      port,
      pid: a.serverPid,
      command: `--target ${a.target}`,
      ...tls,
      stop: async () => undefined,
    };
  } else if (dialect === 'irc') target = await startNgircd();
  else if (a.tls) {
    const server = await startParley({ bin: a.server, extraArgs: a.serverArg, cpuProfDir: a.cpuProf, tls: true });
    target = { ...overTls(server), stop: () => server.stop() };
  } else target = await startParley({ bin: a.server, extraArgs: a.serverArg, cpuProfDir: a.cpuProf });
  try {
    return await fn(target);
  } finally {
    await target.stop();
  }
}

function dialects(a: LoadArgs): Dialect[] {
  return a.dialect === 'both' ? ['parley', 'irc'] : [a.dialect];
}

/** Everything after this line in the results file is kept when the tables are regenerated. */
export const FINDINGS_MARKER = '<!-- findings: written by hand, kept when the tables above are regenerated -->';

/** How long a suite's idle run may take to connect everyone before it is reported as failed. */
const IDLE_DEADLINE_MS = 240_000;

/** The side-by-side matrix of issue 5, Parley then ngIRCd for each row, written as Markdown. */
async function suite(a: LoadArgs, say: (s: string) => void): Promise<SuiteRow[]> {
  const d = a.quick ? 3 : a.duration;
  const w = a.quick ? 1 : a.warmup;
  // At 100 messages/s a fresh Node server runs its chat path unoptimised for its
  // first ≈ 30 s (p99 3–4 ms, then 1.7–1.9 ms on the same process): that row
  // warms up for 30 s, so that it measures the server as it runs for days.
  const traffic: Array<{ label: string; mode: 'fanout' | 'private'; clients: number; rate: number; minWarmup?: number }> = [
    { label: 'fan-out 10 × 10 msg/s (30 s warm-up)', mode: 'fanout', clients: 10, rate: 10, minWarmup: 30 },
    { label: 'fan-out 100 × 10 msg/s', mode: 'fanout', clients: 100, rate: 10 },
    { label: 'fan-out 200 × 2 msg/s', mode: 'fanout', clients: 200, rate: 2 },
    { label: 'fan-out 200 × 8 msg/s', mode: 'fanout', clients: 200, rate: 8 },
    { label: 'fan-out 1000 × 0.1 msg/s', mode: 'fanout', clients: 1000, rate: 0.1 },
    { label: 'private 200 × 25 msg/s', mode: 'private', clients: 200, rate: 25 },
  ];
  const rows: SuiteRow[] = [];
  const attempt = async (label: string, dialect: Dialect, fn: () => Promise<SuiteRow>): Promise<void> => {
    try {
      rows.push(await fn());
    } catch (err) {
      const error = (err as Error).message.split('\n')[0] ?? 'failed';
      say(`${dialect} ${label}: FAILED: ${error}`);
      rows.push({ label, failed: { target: dialect === 'irc' ? 'ngIRCd' : 'Parley', error } });
    }
  };
  for (const t of traffic) {
    for (const dialect of dialects(a)) {
      await attempt(t.label, dialect, async () => {
        const r = await withTarget(dialect, a, (target) =>
          runTraffic(target, {
            mode: t.mode,
            clients: t.clients,
            senders: t.clients,
            rate: t.rate,
            duration: d,
            warmup: a.quick ? w : Math.max(w, t.minWarmup ?? 0),
            size: a.size,
            connectConcurrency: a.connectConcurrency,
          }),
        );
        say(formatTraffic(r));
        return { label: t.label, traffic: r };
      });
    }
  }
  // Idle: registered users on both (IRC: NICK/USER), then Parley's bare TCP cost without join announcements.
  const idle: Array<{ n: number; dialect: Dialect; nick: boolean }> = [];
  for (const n of a.quick ? [1000] : [1000, 10_000]) for (const dialect of dialects(a)) idle.push({ n, dialect, nick: true });
  if (!a.quick && dialects(a).includes('parley')) idle.push({ n: 10_000, dialect: 'parley', nick: false });
  for (const i of idle) {
    const label = `idle ${i.n}${i.nick ? '' : ' (TCP only)'}`;
    await attempt(label, i.dialect, async () => {
      const r = await withTarget(i.dialect, a, (target) => runIdle(target, i.n, a.connectConcurrency, i.nick, IDLE_DEADLINE_MS));
      say(formatIdle(r));
      return { label, idle: r };
    });
  }
  if (dialects(a).includes('parley')) {
    for (const k of a.quick ? [4] : [1, 8]) {
      const label = `transfer ${k} × 20 MB`;
      await attempt(label, 'parley', async () => {
        const r = await runTransfer({ downloads: k, fileBytes: 20e6, bin: a.server });
        say(formatTransfer(r));
        return { label, transfer: r };
      });
    }
  }
  return rows;
}

/** Writes generated Markdown to `out`, keeping the hand-written notes below FINDINGS_MARKER of the file it replaces. */
function writeResults(out: string, markdown: string): void {
  let notes = '';
  try {
    const old = readFileSync(out, 'utf8');
    const at = old.indexOf(FINDINGS_MARKER);
    if (at !== -1) notes = old.slice(at);
  } catch {
    // first run
  }
  writeFileSync(out, markdown + (notes ? `\n${notes}` : ''));
}

export async function loadCommand(a: LoadArgs): Promise<number> {
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  const results: Array<TrafficResult | IdleResult> = [];
  if (a.tls && (a.mode === 'suite' || a.mode === 'transfer' || a.mode === 'tls'))
    throw new Error(`--tls is for fanout, private and idle (load ${a.mode} ${a.mode === 'tls' ? 'runs both transports itself' : 'does not use it'})`);
  say(`# ${machineLine()}`);
  if (a.mode === 'suite') {
    const started = new Date();
    const revision = serverRevision();
    const rows = await suite(a, say);
    if (a.out) {
      writeResults(a.out, resultsMarkdown(rows, { started, args: process.argv.slice(2), duration: a.quick ? 3 : a.duration, size: a.size, revision }));
      say(`wrote ${a.out}`);
    }
    return 0;
  }
  if (a.mode === 'tls') {
    // Issue 14's matrix: fan-out 200 × 8 and 10 000 joins, plain beside TLS (--quick: a short version).
    const revision = serverRevision();
    say(
      `# load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' / ')}`,
    );
    const c = await runTlsComparison(
      {
        clients: a.quick ? 20 : 200,
        rate: 8,
        duration: a.quick ? 3 : a.duration,
        warmup: a.quick ? 1 : a.warmup,
        size: a.size,
        joins: a.quick ? 500 : 10_000,
        runs: a.runs,
        connectConcurrency: a.connectConcurrency,
        bin: a.server,
      },
      say,
    );
    say(`# load average ${c.loadEnd.map((x) => x.toFixed(2)).join(' / ')}`);
    if (a.out) {
      writeResults(a.out, tlsResultsMarkdown(c, { args: process.argv.slice(2), revision }));
      say(`wrote ${a.out}`);
    }
    return c.failed.length > 0 ? 1 : 0;
  }
  if (a.mode === 'transfer') {
    const r = await runTransfer({ downloads: a.clients, fileBytes: a.fileMb * 1e6, bin: a.server });
    say(a.json ? JSON.stringify(r) : formatTransfer(r));
    return r.verified === r.downloads ? 0 : 1;
  }
  for (const dialect of dialects(a)) {
    if (a.mode === 'idle') {
      const r = await withTarget(dialect, a, (t) => runIdle(t, a.clients, a.connectConcurrency, a.nick));
      say(a.json ? JSON.stringify(r) : formatIdle(r));
      results.push(r);
    } else {
      const r = await withTarget(dialect, a, (t) =>
        runTraffic(t, {
          mode: a.mode as 'fanout' | 'private',
          clients: a.clients,
          senders: a.senders ?? a.clients,
          rate: a.rate,
          duration: a.duration,
          warmup: a.warmup,
          size: a.size,
          connectConcurrency: a.connectConcurrency,
        }),
      );
      say(a.json ? JSON.stringify(r) : formatTraffic(r));
      results.push(r);
    }
  }
  return 0;
}
