import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/token-bucket.js';

// The bucket takes the time (ms) as an argument, so the clock here is a number.

/** How many of `n` takes at time `now` succeed. */
function takes(bucket: TokenBucket, n: number, now: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (bucket.take(now)) ok++;
  return ok;
}

describe('TokenBucket', () => {
  it('starts full: lets `burst` takes through at once, then refuses', () => {
    const b = new TokenBucket(5, 10, 1000);
    expect(takes(b, 10, 1000)).toBe(10);
    expect(b.take(1000)).toBe(false);
  });

  it('refills one token per 1/rate seconds', () => {
    const b = new TokenBucket(4, 2, 0); // one token every 250 ms
    expect(takes(b, 2, 0)).toBe(2);
    expect(b.take(249)).toBe(false);
    expect(b.take(250)).toBe(true);
    expect(b.take(250)).toBe(false);
    expect(b.take(500)).toBe(true);
  });

  it('keeps fractions of a token between takes, so many short gaps add up', () => {
    const b = new TokenBucket(2, 1, 0); // one token per 500 ms, a quarter per 125 ms
    expect(b.take(0)).toBe(true);
    for (const t of [125, 250, 375]) expect(b.take(t)).toBe(false);
    expect(b.take(500)).toBe(true);
  });

  it('saves at most `burst` tokens however long it stays idle', () => {
    const b = new TokenBucket(1, 3, 0);
    expect(takes(b, 3, 0)).toBe(3);
    expect(takes(b, 10, 3_600_000)).toBe(3); // an hour later: 3, not 3600
  });

  it('neither gains nor loses tokens when the clock goes backwards', () => {
    const b = new TokenBucket(1, 2, 10_000);
    expect(b.take(10_000)).toBe(true);
    expect(takes(b, 2, 5_000)).toBe(1); // the token left, nothing more
    expect(b.take(10_999)).toBe(false); // still measured from 10 000
    expect(b.take(11_000)).toBe(true);
  });
});
