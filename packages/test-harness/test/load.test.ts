import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/load/proc.js';
import { Tally } from '../src/load/pool.js';
import { runIdle, runTraffic } from '../src/load/runs.js';
import { startParley } from '../src/load/servers.js';
import { runTransfer } from '../src/load/transfer.js';

describe('load accounting', () => {
  it('reads percentiles from the histogram at 10 µs resolution and keeps the exact max', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) h.record(i * 100);
    expect(h.percentileMs(50)).toBeCloseTo(5.01, 2);
    expect(h.percentileMs(99)).toBeCloseTo(9.91, 2);
    expect(h.maxUs).toBe(10_000);
  });

  it('counts duplicates and reordering per receiver and sender, and latency only inside the window', () => {
    const t = new Tally(3);
    t.windowStartUs = 1000;
    t.windowEndUs = 2000;
    t.record(1, 0, 0, 500, 600); // before the window
    t.record(1, 0, 2, 1500, 1600);
    t.record(1, 0, 2, 1500, 1700); // duplicate
    t.record(1, 0, 1, 1400, 1800); // reordered
    t.record(2, 0, 1, 1400, 1450); // another receiver: in order
    expect([t.received, t.duplicated, t.reordered, t.measured]).toEqual([5, 1, 1, 4]);
  });
});

describe('parley-harness load against the real server', () => {
  it('delivers every broadcast of a short fan-out run to every other client, once and in order', { timeout: 60_000 }, async () => {
    const target = await startParley({});
    try {
      const r = await runTraffic(target, { mode: 'fanout', clients: 5, senders: 5, rate: 20, duration: 1, warmup: 0.2, size: 64, connectConcurrency: 5 });
      expect(r.sent).toBeGreaterThan(0);
      expect(r.expected).toBe(r.sent * 4);
      expect({ lost: r.lost, duplicated: r.duplicated, reordered: r.reordered, dropped: r.dropped }).toEqual({
        lost: 0,
        duplicated: 0,
        reordered: 0,
        dropped: 0,
      });
      const p = await runTraffic(target, { mode: 'private', clients: 4, senders: 4, rate: 20, duration: 0.5, warmup: 0, size: 64, connectConcurrency: 4 });
      expect(p.expected).toBe(p.sent);
      expect(p.lost).toBe(0);
      const idle = await runIdle(target, 50, 50);
      expect(idle.connected).toBe(50);
      expect(idle.rssAfterBytes).toBeGreaterThan(0);
    } finally {
      await target.stop();
    }
  });

  it('downloads the same file to several clients at once over UDP, every copy intact', { timeout: 60_000 }, async () => {
    const r = await runTransfer({ downloads: 3, fileBytes: 1_000_000 });
    expect(r.verified).toBe(3);
    expect(r.totalMBps).toBeGreaterThan(0);
    expect(r.slowestMs).toBeGreaterThanOrEqual(r.fastestMs);
  });
});
