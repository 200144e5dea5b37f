/** Something with queued output to write. */
export interface Flushable {
  flush(): void;
}

/**
 * Batches writes: connections mark themselves dirty while events are
 * delivered, and all of them are flushed once per turn of the event loop, so
 * many events to one socket become one `writev`.
 */
export class FlushScheduler {
  #dirty: Flushable[] = [];
  #scheduled = false;

  mark(target: Flushable): void {
    this.#dirty.push(target);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  }

  #run = (): void => {
    this.#scheduled = false;
    const batch = this.#dirty;
    this.#dirty = [];
    for (const t of batch) t.flush();
  };
}
