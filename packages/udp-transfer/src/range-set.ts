/**
 * A set of non-negative integers stored as sorted, merged half-open ranges
 * `[start, end)`. Inserting reports whether the value was new or a duplicate.
 * The number of ranges is capped: a hostile peer that sends every other
 * sequence number cannot make it grow without bound. When full, the set either
 * refuses values that would open a new range (`'refuse'`, used for received
 * chunks: the packet is dropped and will be re-sent) or forgets its lowest range
 * (`'evict-lowest'`, used for the packet numbers an ACK reports).
 */
export type InsertResult = 'new' | 'duplicate' | 'full';

export interface RangeSetOptions {
  readonly maxRanges: number;
  readonly whenFull: 'refuse' | 'evict-lowest';
}

export class RangeSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly maxRanges: number;
  private readonly whenFull: 'refuse' | 'evict-lowest';

  constructor(options: RangeSetOptions) {
    if (!Number.isInteger(options.maxRanges) || options.maxRanges < 1) throw new RangeError('maxRanges must be >= 1');
    this.maxRanges = options.maxRanges;
    this.whenFull = options.whenFull;
  }

  get rangeCount(): number {
    return this.starts.length;
  }

  /** Index of the last range whose start is <= value, or -1. */
  private floorIndex(value: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as number) <= value) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  has(value: number): boolean {
    const i = this.floorIndex(value);
    return i >= 0 && value < (this.ends[i] as number);
  }

  /** Seeds an empty set with `[start, end)` (a resumed download's prefix). */
  seed(start: number, end: number): void {
    if (this.starts.length > 0) throw new Error('seed() needs an empty set');
    if (end > start) {
      this.starts.push(start);
      this.ends.push(end);
    }
  }

  private mergeWithNext(i: number): void {
    this.ends[i] = Math.max(this.ends[i] as number, this.ends[i + 1] as number);
    this.starts.splice(i + 1, 1);
    this.ends.splice(i + 1, 1);
  }

  insert(value: number): InsertResult {
    const i = this.floorIndex(value);
    if (i >= 0 && value < (this.ends[i] as number)) return 'duplicate';
    const touchesLeft = i >= 0 && this.ends[i] === value;
    const touchesRight = i + 1 < this.starts.length && this.starts[i + 1] === value + 1;
    if (touchesLeft && touchesRight) {
      this.ends[i] = value + 1;
      this.mergeWithNext(i);
      return 'new';
    }
    if (touchesLeft) {
      this.ends[i] = value + 1;
      return 'new';
    }
    if (touchesRight) {
      this.starts[i + 1] = value;
      return 'new';
    }
    if (this.starts.length >= this.maxRanges) {
      if (this.whenFull === 'refuse') return 'full';
      if (i < 0) return 'full'; // below everything we keep: already forgotten
      this.starts.shift();
      this.ends.shift();
      this.starts.splice(i, 0, value);
      this.ends.splice(i, 0, value + 1);
      return 'new';
    }
    this.starts.splice(i + 1, 0, value);
    this.ends.splice(i + 1, 0, value + 1);
    return 'new';
  }

  /** End of the range that starts at `from` (the cumulative point), or `from` when absent. */
  contiguousEnd(from: number): number {
    const i = this.floorIndex(from);
    return i >= 0 && from < (this.ends[i] as number) ? (this.ends[i] as number) : from;
  }

  /** Forgets everything below `value`. */
  dropBelow(value: number): void {
    while (this.starts.length > 0 && (this.ends[0] as number) <= value) {
      this.starts.shift();
      this.ends.shift();
    }
    if (this.starts.length > 0 && (this.starts[0] as number) < value) this.starts[0] = value;
  }

  /** Up to `max` ranges, highest first, as inclusive `{ first, last }`. */
  newest(max: number): { first: number; last: number }[] {
    const out: { first: number; last: number }[] = [];
    for (let i = this.starts.length - 1; i >= 0 && out.length < max; i--) {
      out.push({ first: this.starts[i] as number, last: (this.ends[i] as number) - 1 });
    }
    return out;
  }

  /** All ranges, lowest first, half-open. */
  toArray(): [number, number][] {
    return this.starts.map((s, i) => [s, this.ends[i] as number]);
  }
}
