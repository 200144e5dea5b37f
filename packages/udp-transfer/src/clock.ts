import { performance } from 'node:perf_hooks';

/** Milliseconds with sub-millisecond precision, monotonic. The socket layers' only clock. */
export function monotonicNow(): number {
  return performance.now();
}

/**
 * One timer for a socket layer: `schedule(at)` keeps the earliest wake-up
 * asked for; `clear()` cancels. Callers re-arm after each run.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private at = Infinity;

  constructor(
    private readonly run: () => void,
    private readonly now: () => number,
  ) {}

  schedule(at: number): void {
    if (at === Infinity) return;
    if (this.timer !== undefined && this.at <= at) return;
    this.clear();
    this.at = at;
    const delay = Math.max(0, at - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.at = Infinity;
      this.run();
    }, delay);
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Infinity;
  }
}
