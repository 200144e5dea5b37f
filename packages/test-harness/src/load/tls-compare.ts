import { loadavg } from 'node:os';
import { formatIdle, formatTraffic } from './report.js';
import { runIdle, runTraffic, type IdleResult, type TrafficResult } from './runs.js';
import { overTls, startParley, type ParleyTarget } from './servers.js';

/** What `load tls` measures: the issue-14 matrix, or a short version of it (--quick). */
export interface TlsCompareOptions {
  /** Fan-out clients, every one a sender (issue 14: 200). */
  readonly clients: number;
  /** Messages per second per sender (issue 14: 8). */
  readonly rate: number;
  /** Seconds measured per fan-out run, after `warmup` seconds not measured. */
  readonly duration: number;
  readonly warmup: number;
  readonly size: number;
  /** Clients joining in each handshake run (issue 14: 10 000). */
  readonly joins: number;
  /** Pairs of runs (plain and TLS) of each kind; the order alternates from pair to pair. */
  readonly runs: number;
  readonly connectConcurrency: number;
  readonly bin: string | undefined;
}

export type Transport = 'plain' | 'tls';

export interface TlsFanoutRun {
  readonly pair: number;
  readonly transport: Transport;
  readonly result: TrafficResult;
  /** Load average (1 min) when the run ended. */
  readonly load1: number;
}

export interface TlsJoinRun {
  readonly pair: number;
  readonly transport: Transport;
  readonly result: IdleResult;
  readonly load1: number;
}

export interface TlsComparison {
  readonly options: TlsCompareOptions;
  readonly started: Date;
  readonly finished: Date;
  /** os.loadavg() at the start and at the end. */
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  readonly serverCommand: string;
  readonly fanout: readonly TlsFanoutRun[];
  readonly joins: readonly TlsJoinRun[];
  /** Runs that did not finish: what and why. */
  readonly failed: ReadonlyArray<{ readonly what: string; readonly error: string }>;
}

/** How long one handshake run may take to join everyone before it is reported as failed. */
const JOIN_DEADLINE_MS = 240_000;
/** Seconds of untimed fan-out over each transport before the measured pairs, so V8 has compiled both paths. */
export const WARM_UP_SECONDS = 5;

/** Pair i runs plain first when i is odd, TLS first when it is even: drift in the machine's load hits both sides alike. */
export function pairOrder(pair: number): Transport[] {
  return pair % 2 === 1 ? ['plain', 'tls'] : ['tls', 'plain'];
}

/**
 * Issue 14's side-by-side: fan-out over plain TCP and over TLS against one
 * server process (its plain port and its TLS port, runs interleaved), then
 * `joins` clients joining over each, every run on a fresh server so that its
 * resident memory per client starts from the same baseline.
 */
export async function runTlsComparison(o: TlsCompareOptions, say: (s: string) => void): Promise<TlsComparison> {
  const started = new Date();
  const loadStart = loadavg();
  const fanout: TlsFanoutRun[] = [];
  const joins: TlsJoinRun[] = [];
  const failed: Array<{ what: string; error: string }> = [];
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const error = (err as Error).message.split('\n')[0] ?? 'failed';
      say(`${what}: FAILED: ${error}`);
      failed.push({ what, error });
    }
  };
  const traffic = (target: ParleyTarget, transport: Transport, duration: number, warmup: number): Promise<TrafficResult> =>
    runTraffic(transport === 'tls' ? overTls(target) : target, {
      mode: 'fanout',
      clients: o.clients,
      senders: o.clients,
      rate: o.rate,
      duration,
      warmup,
      size: o.size,
      connectConcurrency: o.connectConcurrency,
    });

  let serverCommand = '';
  const server = await startParley({ bin: o.bin, tls: true });
  serverCommand = server.command;
  try {
    for (const transport of ['plain', 'tls'] as const) {
      await attempt(`fan-out warm-up (${transport})`, async () => {
        const r = await traffic(server, transport, WARM_UP_SECONDS, 1);
        say(`warm-up, not recorded: ${formatTraffic(r)}`);
      });
    }
    for (let pair = 1; pair <= o.runs; pair++) {
      for (const transport of pairOrder(pair)) {
        await attempt(`fan-out pair ${pair} (${transport})`, async () => {
          const result = await traffic(server, transport, o.duration, o.warmup);
          fanout.push({ pair, transport, result, load1: loadavg()[0] ?? 0 });
          say(`pair ${pair}: ${formatTraffic(result)}`);
        });
      }
    }
  } finally {
    await server.stop();
  }

  for (let pair = 1; pair <= o.runs; pair++) {
    for (const transport of pairOrder(pair)) {
      await attempt(`${o.joins} joins, pair ${pair} (${transport})`, async () => {
        // A fresh server for each run (both listeners on, whichever is used): the same memory baseline.
        const fresh = await startParley({ bin: o.bin, tls: true });
        try {
          const result = await runIdle(transport === 'tls' ? overTls(fresh) : fresh, o.joins, o.connectConcurrency, true, JOIN_DEADLINE_MS);
          joins.push({ pair, transport, result, load1: loadavg()[0] ?? 0 });
          say(`pair ${pair}: ${formatIdle(result)}`);
        } finally {
          await fresh.stop();
        }
      });
    }
  }
  return { options: o, started, finished: new Date(), loadStart, loadEnd: loadavg(), serverCommand, fanout, joins, failed };
}
