import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FlushScheduler, type Flushable } from '../src/flush-scheduler.js';

/** Records the order in which the scheduler flushes its targets. */
function recorder(log: string[], name: string): Flushable {
  return { flush: () => log.push(name) };
}

// The scheduler's logic is its timers: setTimeout after a busy round and for lazy
// rounds, which these tests drive with a fake clock (no sleeps), and setImmediate for
// an ordinary round, left real: `nextTurn` waits one turn of the event loop, and
// immediates run in the order they were queued, so the scheduler's round runs first.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('FlushScheduler', () => {
  it('flushes marked targets after the current turn, once per mark, in marking order', async () => {
    const log: string[] = [];
    const s = new FlushScheduler();
    s.mark(recorder(log, 'a'));
    s.mark(recorder(log, 'b'));
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual(['a', 'b']);
  });

  it('flushes once per round however many writes were queued', async () => {
    const log: string[] = [];
    const s = new FlushScheduler();
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    for (let i = 0; i < 40; i++) s.mark(recorder(log, `t${i}`));
    expect(immediate).toHaveBeenCalledTimes(1); // one round scheduled, not one per mark
    expect(vi.getTimerCount()).toBe(0);
    await nextTurn();
    expect(log).toHaveLength(40);
  });

  it('flushes a target marked during a round in the next round, not lost and not twice', async () => {
    const log: string[] = [];
    const s = new FlushScheduler();
    const late = recorder(log, 'late');
    s.mark({
      flush: () => {
        log.push('first');
        s.mark(late);
      },
    });
    await nextTurn();
    expect(log).toEqual(['first']);
    await nextTurn();
    expect(log).toEqual(['first', 'late']);
    await nextTurn();
    expect(log).toEqual(['first', 'late']);
  });

  it('after a busy round waits busyDelayMs before the next round, so more marks share it', async () => {
    const log: string[] = [];
    const s = new FlushScheduler({ busyRound: 3, busyDelayMs: 10 });
    for (const n of ['a', 'b', 'c']) s.mark(recorder(log, n));
    await nextTurn();
    expect(log).toEqual(['a', 'b', 'c']); // a busy round: three sockets
    s.mark(recorder(log, 'd'));
    vi.advanceTimersByTime(9);
    s.mark(recorder(log, 'e'));
    expect(log).toEqual(['a', 'b', 'c']);
    vi.advanceTimersByTime(1);
    expect(log).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('goes back to next-turn rounds after a quiet round', async () => {
    const log: string[] = [];
    const s = new FlushScheduler({ busyRound: 2, busyDelayMs: 10 });
    s.mark(recorder(log, 'a'));
    s.mark(recorder(log, 'b'));
    await nextTurn(); // busy
    s.mark(recorder(log, 'c'));
    vi.advanceTimersByTime(10); // delayed round with one target: quiet
    expect(log).toEqual(['a', 'b', 'c']);
    s.mark(recorder(log, 'd'));
    await nextTurn();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never delays a round when busyDelayMs is 0', async () => {
    const log: string[] = [];
    const s = new FlushScheduler({ busyRound: 1, busyDelayMs: 0 });
    s.mark(recorder(log, 'a'));
    await nextTurn();
    s.mark(recorder(log, 'b'));
    await nextTurn();
    expect(log).toEqual(['a', 'b']);
  });

  it('holds lazy targets for lazyDelayMs, not the next turn', async () => {
    const log: string[] = [];
    const s = new FlushScheduler({ lazyDelayMs: 50 });
    s.markLazy(recorder(log, 'lazy'));
    s.mark(recorder(log, 'now'));
    await nextTurn();
    expect(log).toEqual(['now']);
    vi.advanceTimersByTime(49);
    expect(log).toEqual(['now']);
    vi.advanceTimersByTime(1);
    expect(log).toEqual(['now', 'lazy']);
  });

  it('runs one lazy round for every target marked lazy before it, timed from the first', async () => {
    const log: string[] = [];
    const s = new FlushScheduler({ lazyDelayMs: 5 });
    s.markLazy(recorder(log, 'x'));
    vi.advanceTimersByTime(3);
    for (const n of ['y', 'z']) s.markLazy(recorder(log, n));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2); // 5 ms after x, not after z
    expect(log).toEqual(['x', 'y', 'z']);
    s.markLazy(recorder(log, 'w'));
    vi.advanceTimersByTime(4);
    expect(log).toEqual(['x', 'y', 'z']);
    vi.advanceTimersByTime(1);
    expect(log).toEqual(['x', 'y', 'z', 'w']);
  });
});
