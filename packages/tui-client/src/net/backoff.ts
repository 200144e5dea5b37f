export interface BackoffOptions {
  /** First delay. */
  readonly initialMs?: number;
  /** Longest delay. */
  readonly maxMs?: number;
  readonly factor?: number;
  /** ±fraction of random spread, so clients do not all come back at once. */
  readonly jitter?: number;
  readonly random?: () => number;
}

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s, … up to 15 s by default. */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly #random: () => number;
  attempt = 0;

  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? 500;
    this.maxMs = o.maxMs ?? 15_000;
    this.factor = o.factor ?? 2;
    this.jitter = o.jitter ?? 0.2;
    this.#random = o.random ?? Math.random;
  }

  /** The delay before the next attempt (and counts the attempt). */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    const spread = base * this.jitter * (this.#random() * 2 - 1);
    return Math.max(0, Math.round(Math.min(this.maxMs, base + spread)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
