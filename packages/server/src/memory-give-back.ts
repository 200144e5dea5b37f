import type { Logger } from 'pino';

/**
 * Giving memory back after most clients left (issue 19, goal 6). An idle
 * server allocates nothing, so V8 never starts the full collection that would
 * free what thousands of closed connections left behind: measured with 10 000
 * clients (bench/memory), the heap stayed at 64 MiB used for minutes. A few
 * full collections once the drop has settled bring it back to its size before
 * the clients came.
 */
export interface GiveBackOptions {
  /** Connections that must have gone since the peak (small rooms are not worth a pause). */
  readonly minDrop: number;
  /** …leaving at most this fraction of the peak. */
  readonly fraction: number;
  /** The count must stay that low this long (the mass disconnect is over). */
  readonly settleMs: number;
}

export const DEFAULT_GIVE_BACK: GiveBackOptions = { minDrop: 1000, fraction: 0.5, settleMs: 2000 };

/** When to collect: a pure state machine fed the connection count and the time. */
export class GiveBackTrigger {
  #peak = 0;
  #lowSince: number | undefined;

  constructor(private readonly o: GiveBackOptions = DEFAULT_GIVE_BACK) {}

  /** True once per settled drop of at least `minDrop` connections to at most `fraction` of the peak. */
  observe(count: number, now: number): boolean {
    if (count >= this.#peak) {
      this.#peak = count;
      this.#lowSince = undefined;
      return false;
    }
    if (this.#peak - count < this.o.minDrop || count > this.#peak * this.o.fraction) {
      this.#lowSince = undefined;
      return false;
    }
    this.#lowSince ??= now;
    if (now - this.#lowSince < this.o.settleMs) return false;
    this.#peak = count;
    this.#lowSince = undefined;
    return true;
  }
}

/** V8's full collection: exposed once through the documented `--expose-gc` flag, set at run time. */
function fullCollection(): () => void {
  // node:v8 and node:vm are loaded here, the first time, not by every start.
  process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
  return process.getBuiltinModule('node:vm').runInNewContext('gc') as () => void;
}

/**
 * Watches the server's connections every second (`peak()`: the most since the
 * last look, so a burst between two looks counts); after a settled mass
 * disconnect, runs three full collections 1 s apart. Returns stop.
 */
export function startMemoryGiveBack(
  server: { readonly connections: number; takePeak(): number },
  log: Logger,
  options: GiveBackOptions = DEFAULT_GIVE_BACK,
): () => void {
  const connections = (): number => server.connections;
  const trigger = new GiveBackTrigger(options);
  let gc: (() => void) | undefined;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    t.unref();
    timers.add(t);
  };
  const watch = setInterval(() => {
    const now = Date.now();
    const fire = trigger.observe(server.takePeak(), now) || trigger.observe(connections(), now);
    if (!fire) return;
    gc ??= fullCollection();
    const before = process.memoryUsage();
    // One collection frees the garbage; the next ones let V8 shrink the spaces it grew.
    gc();
    later(1000, () => gc?.());
    later(2000, () => {
      gc?.();
      const after = process.memoryUsage();
      log.info(
        { connections: connections(), rssMiB: Math.round(after.rss / 1048576), freedHeapMiB: Math.round((before.heapUsed - after.heapUsed) / 1048576) },
        'most clients left: collected the memory they used',
      );
    });
  }, 1000);
  watch.unref();
  return () => {
    clearInterval(watch);
    for (const t of timers) clearTimeout(t);
  };
}
