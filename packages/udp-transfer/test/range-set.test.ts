import { describe, expect, it } from 'vitest';
import { RangeSet } from '../src/range-set.js';

describe('RangeSet', () => {
  it('merges adjacent values into one range and reports new or duplicate', () => {
    const s = new RangeSet({ maxRanges: 8, whenFull: 'refuse' });
    expect(s.insert(1)).toBe('new');
    expect(s.insert(3)).toBe('new');
    expect(s.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(s.insert(2)).toBe('new');
    expect(s.toArray()).toEqual([[1, 4]]);
    expect(s.insert(2)).toBe('duplicate');
    expect(s.insert(0)).toBe('new');
    expect(s.toArray()).toEqual([[0, 4]]);
    expect(s.has(3)).toBe(true);
    expect(s.has(4)).toBe(false);
  });

  it('refuses a value that would open a range beyond the cap, but still extends existing ranges', () => {
    const s = new RangeSet({ maxRanges: 2, whenFull: 'refuse' });
    s.insert(0);
    s.insert(10);
    expect(s.insert(20)).toBe('full');
    expect(s.insert(11)).toBe('new');
    expect(s.rangeCount).toBe(2);
  });

  it('forgets its lowest range when full in evict-lowest mode', () => {
    const s = new RangeSet({ maxRanges: 2, whenFull: 'evict-lowest' });
    s.insert(0);
    s.insert(10);
    expect(s.insert(20)).toBe('new');
    expect(s.toArray()).toEqual([
      [10, 11],
      [20, 21],
    ]);
    expect(s.insert(15)).toBe('new');
    expect(s.toArray()).toEqual([
      [15, 16],
      [20, 21],
    ]);
    expect(s.insert(5)).toBe('full'); // below everything kept: already forgotten
  });

  it('lists the newest ranges first as inclusive bounds', () => {
    const s = new RangeSet({ maxRanges: 8, whenFull: 'refuse' });
    for (const v of [0, 1, 2, 5, 6, 9]) s.insert(v);
    expect(s.newest(2)).toEqual([
      { first: 9, last: 9 },
      { first: 5, last: 6 },
    ]);
    expect(s.contiguousEnd(0)).toBe(3);
  });

  it('agrees with a plain Set on random inserts', () => {
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) % 300;
    const s = new RangeSet({ maxRanges: 1000, whenFull: 'refuse' });
    const ref = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = rnd();
      expect(s.insert(v)).toBe(ref.has(v) ? 'duplicate' : 'new');
      ref.add(v);
    }
    for (let v = 0; v < 300; v++) expect(s.has(v)).toBe(ref.has(v));
    const arr = s.toArray();
    for (let i = 1; i < arr.length; i++) expect(arr[i]![0]).toBeGreaterThan(arr[i - 1]![1]);
  });

  it('drops everything below a point', () => {
    const s = new RangeSet({ maxRanges: 8, whenFull: 'refuse' });
    s.seed(0, 10);
    s.insert(12);
    s.dropBelow(5);
    expect(s.toArray()).toEqual([
      [5, 10],
      [12, 13],
    ]);
  });
});
