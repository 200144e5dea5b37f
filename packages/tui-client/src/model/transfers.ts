export type TransferState = 'waiting' | 'active' | 'done' | 'failed';

export interface Transfer {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  state: TransferState;
  bytes: number;
  rateBytesPerSec: number;
  etaSec: number;
  /** An upload (a file this user shares); downloads leave it out. */
  readonly direction?: 'up';
  /** Where it is (being) saved. */
  path: string;
  error?: string;
  startedAt: number;
  finishedAt?: number;
}

/** Downloads, active and finished, in the order they were offered. */
export class TransferTable {
  readonly #byId = new Map<number, Transfer>();
  version = 0;

  add(t: Omit<Transfer, 'state' | 'bytes' | 'rateBytesPerSec' | 'etaSec'>): Transfer {
    const transfer: Transfer = { ...t, state: 'waiting', bytes: 0, rateBytesPerSec: 0, etaSec: Number.NaN };
    this.#byId.set(t.id, transfer);
    this.version++;
    return transfer;
  }

  get(id: number): Transfer | undefined {
    return this.#byId.get(id);
  }

  progress(id: number, p: { bytes: number; total?: number; rateBytesPerSec: number; etaSec: number }): void {
    const t = this.#byId.get(id);
    if (!t || t.state === 'done' || t.state === 'failed') return;
    t.state = 'active';
    t.bytes = p.bytes;
    t.rateBytesPerSec = p.rateBytesPerSec;
    t.etaSec = p.etaSec;
    this.version++;
  }

  finish(id: number, at: number, path: string): void {
    const t = this.#byId.get(id);
    if (!t) return;
    t.state = 'done';
    t.bytes = t.size;
    t.path = path;
    t.finishedAt = at;
    this.version++;
  }

  fail(id: number, at: number, error: string): void {
    const t = this.#byId.get(id);
    if (!t) return;
    t.state = 'failed';
    t.error = error;
    t.finishedAt = at;
    this.version++;
  }

  get active(): Transfer[] {
    return [...this.#byId.values()].filter((t) => t.state === 'waiting' || t.state === 'active');
  }

  get all(): Transfer[] {
    return [...this.#byId.values()];
  }
}
