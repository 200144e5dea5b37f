import { IRC_CHANNEL, LoadPool, nowUs } from './pool.js';
import { CpuMeter, processRssBytes } from './proc.js';
import type { LoadTarget } from './servers.js';

export interface TrafficOptions {
  readonly mode: 'fanout' | 'private';
  readonly clients: number;
  /** Clients that send (the first `senders` ones). */
  readonly senders: number;
  /** Messages per second per sender. */
  readonly rate: number;
  /** Seconds measured, after `warmup` seconds not measured. */
  readonly duration: number;
  readonly warmup: number;
  /** Bytes of each line the clients send (command + text + line end). */
  readonly size: number;
  readonly connectConcurrency: number;
}

export interface TrafficResult {
  readonly target: string;
  readonly mode: 'fanout' | 'private';
  readonly clients: number;
  readonly senders: number;
  readonly rate: number;
  readonly size: number;
  readonly duration: number;
  readonly sent: number;
  readonly expected: number;
  /** Deliveries per second the senders asked for. */
  readonly offeredPerSec: number;
  /** Deliveries per second of messages sent in the measured window. */
  readonly deliveredPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly reordered: number;
  readonly dropped: number;
  /** CPU as a share of one core over the measured window. */
  readonly serverCpu: number | undefined;
  readonly loadCpu: number;
  /** CPU used by other processes on the machine in the window, as a share of one core (of 2). */
  readonly othersCpu: number;
  /** Server CPU microseconds per delivered message. */
  readonly serverUsPerDelivery: number | undefined;
  readonly connectMs: number;
  /** Sends that ran late by more than 5 ms: the load generator fell behind. */
  readonly lateTicks: number;
  /** TLS protocol and cipher (undefined: plain TCP). */
  readonly tls: string | undefined;
}

/** One fan-out or private-message run against a started target. */
export async function runTraffic(target: LoadTarget, o: TrafficOptions): Promise<TrafficResult> {
  const pool = new LoadPool({
    host: target.host,
    port: target.port,
    dialect: target.dialect,
    clients: o.clients,
    joinChannel: o.mode === 'fanout',
    ...(target.tls ? { tls: target.tls } : {}),
  });
  try {
    const connectMs = await pool.connectAll(o.connectConcurrency);
    await pool.quiesce(300, 30_000);
    const senders = Math.min(o.senders, o.clients);
    const irc = target.dialect === 'irc';
    const eol = irc ? '\r\n' : '\n';
    const sent = new Array<number>(senders).fill(0);
    const phase = Array.from({ length: senders }, (_, i) => i / senders);
    let expected = 0;
    const receivers = o.mode === 'fanout' ? o.clients - 1 : 1;
    // Private targets: a fixed pseudo-random permutation step, never oneself.
    let rnd = 12345;
    const pick = (s: number): number => {
      rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
      const j = rnd % (o.clients - 1);
      return j >= s ? j + 1 : j;
    };
    const line = (s: number, seq: number, ts: number): string => {
      const to = o.mode === 'private' ? pick(s) : -1;
      const head = irc ? (to < 0 ? `PRIVMSG ${IRC_CHANNEL} :` : `PRIVMSG c${to} :`) : to < 0 ? 'broadcast,' : `c${to},`;
      const text = `Z${s}.${seq}.${ts} `;
      const pad = o.size - head.length - text.length - eol.length;
      return `${head}${text}${pad > 0 ? 'x'.repeat(pad) : ''}${eol}`;
    };

    const meter = new CpuMeter(target.pid);
    const t0 = performance.now();
    const measureStart = t0 + o.warmup * 1000;
    const measureEnd = measureStart + o.duration * 1000;
    pool.tally.windowStartUs = Math.round(measureStart * 1000);
    pool.tally.windowEndUs = Math.round(measureEnd * 1000);
    let metered = false;
    let cpu: ReturnType<CpuMeter['read']> | undefined;
    let lateTicks = 0;
    let lastTick = t0;
    await new Promise<void>((done) => {
      const tick = (): void => {
        const now = performance.now();
        if (now - lastTick > 6) lateTicks += 1;
        lastTick = now;
        if (!metered && now >= measureStart) {
          metered = true;
          meter.start();
        }
        const until = Math.min(now, measureEnd) - t0;
        const ts = nowUs();
        for (let s = 0; s < senders; s++) {
          const due = Math.floor((until * o.rate) / 1000 + (phase[s] as number));
          let n = sent[s] as number;
          if (n >= due) continue;
          let batch = '';
          while (n < due) batch += line(s, n++, ts);
          expected += (n - (sent[s] as number)) * receivers;
          sent[s] = n;
          pool.write(s, batch);
        }
        if (now >= measureEnd) {
          cpu = meter.read();
          done();
          return;
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    // Drain: wait for what is still on its way, up to 5 s without progress.
    let seen = -1;
    let stillSince = performance.now();
    while (pool.tally.received - pool.tally.duplicated < expected && performance.now() - stillSince < 5000) {
      if (pool.tally.received !== seen) {
        seen = pool.tally.received;
        stillSince = performance.now();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const t = pool.tally;
    const c = cpu ?? meter.read();
    const totalSent = sent.reduce((a, b) => a + b, 0);
    return {
      target: target.name,
      mode: o.mode,
      clients: o.clients,
      senders,
      rate: o.rate,
      size: o.size,
      duration: o.duration,
      sent: totalSent,
      expected,
      offeredPerSec: senders * o.rate * receivers,
      deliveredPerSec: t.measured / o.duration,
      p50Ms: t.latency.percentileMs(50),
      p99Ms: t.latency.percentileMs(99),
      maxMs: t.latency.maxUs / 1000,
      lost: Math.max(0, expected - (t.received - t.duplicated)),
      duplicated: t.duplicated,
      reordered: t.reordered,
      dropped: pool.dropped,
      serverCpu: c.server === undefined ? undefined : c.server / c.wall,
      loadCpu: c.own / c.wall,
      othersCpu: c.others / c.wall,
      serverUsPerDelivery: c.server === undefined || t.measured === 0 ? undefined : (c.server * 1e6) / t.measured,
      connectMs,
      lateTicks,
      tls: pool.tlsSession,
    };
  } finally {
    pool.close();
  }
}

export interface IdleResult {
  readonly target: string;
  readonly clients: number;
  /** false: TCP connections only, no nickname (no join announcements). */
  readonly registered: boolean;
  readonly connectMs: number;
  readonly failedAttempts: number;
  readonly connected: number;
  readonly rssBeforeBytes: number | undefined;
  readonly rssAfterBytes: number | undefined;
  readonly bytesPerClient: number | undefined;
  readonly loadCpu: number;
  readonly othersCpu: number;
  readonly serverCpuSeconds: number | undefined;
  /** TLS protocol and cipher (undefined: plain TCP). */
  readonly tls: string | undefined;
}

/** N clients connect, register and stay quiet; the server's resident memory per client and the time to connect them all. */
export async function runIdle(target: LoadTarget, clients: number, connectConcurrency: number, register = true, deadlineMs = 0): Promise<IdleResult> {
  const pool = new LoadPool({
    host: target.host,
    port: target.port,
    dialect: target.dialect,
    clients,
    joinChannel: false,
    register,
    ...(target.tls ? { tls: target.tls } : {}),
  });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = target.pid ? processRssBytes(target.pid) : undefined;
    const meter = new CpuMeter(target.pid);
    meter.start();
    let timer: NodeJS.Timeout | undefined;
    const deadline =
      deadlineMs > 0
        ? new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new Error(
                    `only ${pool.registered} of ${clients} clients had joined after ${deadlineMs / 1000} s (server CPU ${meter.read().server?.toFixed(1)} s so far)`,
                  ),
                ),
              deadlineMs,
            );
          })
        : undefined;
    const all = pool.connectAll(connectConcurrency);
    all.catch(() => undefined); // after a deadline the pool is closed under it; that failure is already reported
    const connectMs = await (deadline ? Promise.race([all, deadline]) : all).finally(() => clearTimeout(timer));
    const cpu = meter.read();
    // Let announcements settle, then measure what the server holds for its clients.
    await pool.quiesce(1000, 60_000);
    const rssAfter = target.pid ? processRssBytes(target.pid) : undefined;
    return {
      target: target.name,
      clients,
      registered: register,
      connectMs,
      failedAttempts: pool.failedAttempts,
      connected: pool.registered,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      bytesPerClient: rssBefore !== undefined && rssAfter !== undefined ? (rssAfter - rssBefore) / clients : undefined,
      loadCpu: cpu.own / cpu.wall,
      othersCpu: cpu.others / cpu.wall,
      serverCpuSeconds: cpu.server,
      tls: pool.tlsSession,
    };
  } finally {
    pool.close();
  }
}
