import type { Duplex } from 'node:stream';
import type { FlushScheduler, Flushable } from './flush-scheduler.js';
import { ReusableList } from './reusable-list.js';

export interface OutboxOptions {
  /** Most bytes the socket may hold unsent for one client before it counts as not reading. */
  readonly maxQueuedBytes: number;
  /** How long the socket may stay full before the client counts as not reading. */
  readonly drainTimeoutMs: number;
}

/**
 * The bytes waiting for one client. Frames are queued (never copied) and
 * written in one corked batch per event-loop turn (when only lazy frames,
 * join and leave notices, are waiting: in the scheduler's next lazy round).
 * A client whose socket holds more than `maxQueuedBytes` the kernel would not
 * take (it stopped reading) is reported through `onStalled` once, and nothing
 * more is queued.
 */
export class Outbox implements Flushable {
  #queue = new ReusableList<Buffer>();
  /** The other queue: the two take turns and keep their storage, so a flush allocates nothing (undefined while a flush writes). */
  #spare: ReusableList<Buffer> | undefined = new ReusableList<Buffer>();
  #queuedBytes = 0;
  #stalled = false;
  /** Waiting in the scheduler's next round / next lazy round. */
  #marked = false;
  #lazyMarked = false;
  #drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly scheduler: FlushScheduler,
    private readonly options: OutboxOptions,
    private readonly onStalled: (why: string) => void,
    private readonly onWritten: (bytes: number) => void = () => undefined,
  ) {
    stream.on('drain', this.#onDrain);
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  send(frame: Buffer, lazy = false): void {
    if (this.#stalled || this.stream.destroyed) return;
    // What the kernel would not take yet: the sign of a client that stops reading.
    if (this.stream.writableLength > this.options.maxQueuedBytes) {
      this.#stall(`more than ${this.options.maxQueuedBytes} bytes waiting to be read`);
      return;
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#marked) return;
    if (!lazy) {
      this.#marked = true;
      this.scheduler.mark(this);
    } else if (!this.#lazyMarked) {
      this.#lazyMarked = true;
      this.scheduler.markLazy(this);
    }
  }

  /** Writes what is queued now (the scheduler calls this once per turn). */
  flush(): void {
    this.#marked = false;
    this.#lazyMarked = false;
    const queue = this.#queue;
    if (queue.length === 0 || this.stream.destroyed) return;
    this.scheduler.beforeWrite();
    this.#queue = this.#spare ?? new ReusableList<Buffer>();
    this.#spare = undefined;
    this.onWritten(this.#queuedBytes);
    this.#queuedBytes = 0;
    let ok: boolean;
    if (queue.length === 1) {
      ok = this.stream.write(queue.at(0));
    } else {
      this.stream.cork();
      ok = true;
      for (let i = 0; i < queue.length; i++) ok = this.stream.write(queue.at(i));
      this.stream.uncork();
    }
    queue.clear();
    this.#spare = queue;
    if (this.stream.writableLength > this.options.maxQueuedBytes) {
      this.#stall(`more than ${this.options.maxQueuedBytes} bytes waiting to be read`);
      return;
    }
    if (!ok && !this.#drainTimer && this.options.drainTimeoutMs > 0) {
      this.#drainTimer = setTimeout(() => this.#stall(`socket stayed full for ${this.options.drainTimeoutMs} ms`), this.options.drainTimeoutMs);
      this.#drainTimer.unref();
    }
  }

  /** Writes `frame` after anything queued, right now, even when stalled (for a last `bye`). */
  sendNow(frame: Buffer): void {
    if (this.stream.destroyed || !this.stream.writable) return;
    this.flush();
    this.stream.write(frame);
  }

  dispose(): void {
    this.#queue.clear();
    this.#queuedBytes = 0;
    this.#clearDrainTimer();
    this.stream.off('drain', this.#onDrain);
  }

  #onDrain = (): void => this.#clearDrainTimer();

  #clearDrainTimer(): void {
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  #stall(why: string): void {
    if (this.#stalled) return;
    this.#stalled = true;
    this.#queue.clear();
    this.#queuedBytes = 0;
    this.#clearDrainTimer();
    this.onStalled(why);
  }
}
