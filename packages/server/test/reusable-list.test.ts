import { describe, expect, it } from 'vitest';
import { ReusableList } from '../src/reusable-list.js';

describe('ReusableList', () => {
  it('gives items back in the order pushed, and is empty after clear', () => {
    const list = new ReusableList<string>();
    for (const s of ['a', 'b', 'c']) list.push(s);
    expect(list.length).toBe(3);
    expect([0, 1, 2].map((i) => list.at(i))).toEqual(['a', 'b', 'c']);
    list.clear();
    expect(list.length).toBe(0);
    expect(list.at(0)).toBeUndefined(); // the slot was cleared, not just forgotten
  });

  it('is filled again after a clear without any old item showing through', () => {
    const list = new ReusableList<number>(4);
    for (let round = 0; round < 3; round++) {
      const n = round === 1 ? 10 : 3; // the middle round grows past keepUpTo
      for (let i = 0; i < n; i++) list.push(round * 100 + i);
      expect(Array.from({ length: list.length }, (_, i) => list.at(i))).toEqual(Array.from({ length: n }, (_, i) => round * 100 + i));
      list.clear();
    }
  });
});
