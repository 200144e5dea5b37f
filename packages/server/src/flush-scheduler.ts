/** Something with queued output to write. */
export interface Flushable {
  flush(): void;
}

export interface FlushSchedulerOptions {
  /** A round that wrote to at least this many sockets counts as busy. */
  readonly busyRound: number;
  /** After a busy round, wait this long (ms) before the next one so more events share each write. */
  readonly busyDelayMs: number;
}

const DEFAULTS: FlushSchedulerOptions = { busyRound: 64, busyDelayMs: 2 };

/**
 * Batches writes: connections mark themselves dirty while events are
 * delivered, and all of them are flushed together, so many events to one
 * socket become one `writev`. Normally a round runs right after the current
 * turn of the event loop (`setImmediate`); after a busy round (many sockets)
 * the next one waits `busyDelayMs`, so under load each write carries more
 * events and the server spends its time on messages, not system calls.
 */
export class FlushScheduler {
  readonly #options: FlushSchedulerOptions;
  #dirty: Flushable[] = [];
  #scheduled = false;
  #lastRound = 0;

  constructor(options: Partial<FlushSchedulerOptions> = {}) {
    this.#options = { ...DEFAULTS, ...options };
  }

  mark(target: Flushable): void {
    this.#dirty.push(target);
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (this.#lastRound >= this.#options.busyRound && this.#options.busyDelayMs > 0) setTimeout(this.#run, this.#options.busyDelayMs);
    else setImmediate(this.#run);
  }

  #run = (): void => {
    this.#scheduled = false;
    const batch = this.#dirty;
    this.#dirty = [];
    this.#lastRound = batch.length;
    for (const t of batch) t.flush();
  };
}
