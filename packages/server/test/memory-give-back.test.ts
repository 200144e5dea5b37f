import { describe, expect, it } from 'vitest';
import { GiveBackTrigger } from '../src/memory-give-back.js';

describe('GiveBackTrigger (when a server that lost most of its clients collects)', () => {
  it('fires once, after a settled drop to half the peak or less of at least minDrop connections', () => {
    const t = new GiveBackTrigger({ minDrop: 1000, fraction: 0.5, settleMs: 2000 });
    expect(t.observe(10_000, 0)).toBe(false);
    // Leaving: not yet below half.
    expect(t.observe(6000, 1000)).toBe(false);
    // Below half: the drop must settle for 2 s first.
    expect(t.observe(100, 2000)).toBe(false);
    expect(t.observe(90, 3999)).toBe(false);
    expect(t.observe(80, 4000)).toBe(true);
    // Once: the low count is the new peak.
    expect(t.observe(80, 10_000)).toBe(false);
  });

  it('never fires for a small room or a drop that goes back up', () => {
    const t = new GiveBackTrigger({ minDrop: 1000, fraction: 0.5, settleMs: 2000 });
    t.observe(900, 0);
    expect(t.observe(0, 5000)).toBe(false); // 900 gone: below minDrop
    t.observe(5000, 6000);
    expect(t.observe(1000, 7000)).toBe(false);
    expect(t.observe(4000, 8000)).toBe(false); // back above half: the wait starts over
    expect(t.observe(1000, 9000)).toBe(false);
    expect(t.observe(1000, 10_999)).toBe(false);
    expect(t.observe(1000, 11_000)).toBe(true);
  });
});

describe('the built server after a mass disconnect', () => {
  it('collects the memory 1 100 clients used once they have all left (its log says so)', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { connect } = await import('node:net');
    const { vi } = await import('vitest');
    const { killServers, logLines, startServerIn } = await import('./server-process.js');
    const dir = await mkdtemp(join(tmpdir(), 'parley-giveback-'));
    try {
      const { run, ready } = await startServerIn(dir, ['--host', '127.0.0.1', '--log-level', 'info']);
      const sockets = await Promise.all(
        Array.from(
          { length: 1100 },
          (_, i) =>
            new Promise<import('node:net').Socket>((resolve, reject) => {
              const s = connect({ port: ready.port, host: '127.0.0.1' }, () => s.write(`user${i}\n`));
              s.setEncoding('utf8');
              let got = '';
              s.on('data', (d: string) => {
                got += d;
                if (got.includes('welcome ')) resolve(s);
              });
              s.once('error', reject);
            }),
        ),
      );
      expect(logLines(run).some((l) => String(l.msg).startsWith('most clients left'))).toBe(false);
      for (const s of sockets) s.destroy();
      await vi.waitFor(
        () => {
          const line = logLines(run).find((l) => String(l.msg).startsWith('most clients left: collected the memory'));
          if (!line) throw new Error('no give-back yet');
          expect(line.connections).toBe(0);
        },
        { timeout: 15_000, interval: 100 },
      );
    } finally {
      killServers();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
