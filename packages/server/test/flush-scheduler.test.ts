import { describe, expect, it } from 'vitest';
import { FlushScheduler, type Flushable } from '../src/flush-scheduler.js';

/** Records the order in which the scheduler flushes its targets. */
function recorder(log: string[], name: string): Flushable {
  return { flush: () => log.push(name) };
}
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const after = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('FlushScheduler', () => {
  it('flushes marked targets after the current turn, once per mark, in marking order', async () => {
    const log: string[] = [];
    const s = new FlushScheduler();
    s.mark(recorder(log, 'a'));
    s.mark(recorder(log, 'b'));
    expect(log).toEqual([]);
    await turn();
    expect(log).toEqual(['a', 'b']);
  });

  it('holds lazy targets for the lazy round, not the next turn', async () => {
    const log: string[] = [];
    const s = new FlushScheduler({ lazyDelayMs: 500 }); // long: a stalled CI turn must not reach it
    s.markLazy(recorder(log, 'lazy'));
    s.mark(recorder(log, 'now'));
    await turn();
    expect(log).toEqual(['now']);
    await after(520); // a later timer: runs after the lazy round whatever the load
    expect(log).toEqual(['now', 'lazy']);
  });

  it('runs one lazy round for every target marked lazy before it', async () => {
    const log: string[] = [];
    const s = new FlushScheduler({ lazyDelayMs: 5 });
    for (const n of ['x', 'y', 'z']) s.markLazy(recorder(log, n));
    await after(10);
    expect(log).toEqual(['x', 'y', 'z']);
    s.markLazy(recorder(log, 'w'));
    await after(10);
    expect(log).toEqual(['x', 'y', 'z', 'w']);
  });
});
