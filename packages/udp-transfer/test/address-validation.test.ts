import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PathValidator, ReplyBudget } from '../src/address-validation.js';

describe('PathValidator', () => {
  const token = randomBytes(16);

  it('accepts the nonce it gave an address and port, and nothing else', () => {
    const v = new PathValidator();
    const nonce = v.nonce(7, token, '192.0.2.1', 4000);
    expect(nonce).toHaveLength(16);
    expect(v.check(7, token, '192.0.2.1', 4000, nonce)).toBe(true);
    expect(v.check(7, token, '192.0.2.2', 4000, nonce)).toBe(false); // another address
    expect(v.check(7, token, '192.0.2.1', 4001, nonce)).toBe(false); // another port
    expect(v.check(8, token, '192.0.2.1', 4000, nonce)).toBe(false); // another transfer
    expect(v.check(7, randomBytes(16), '192.0.2.1', 4000, nonce)).toBe(false); // another offer's token
    expect(v.check(7, token, '192.0.2.1', 4000, undefined)).toBe(false);
    expect(v.check(7, token, '192.0.2.1', 4000, nonce.subarray(0, 8))).toBe(false);
  });

  it('makes nonces nobody can predict without the server secret', () => {
    const a = new PathValidator();
    const b = new PathValidator();
    expect(a.nonce(1, token, '192.0.2.1', 1)).not.toEqual(b.nonce(1, token, '192.0.2.1', 1));
  });
});

describe('ReplyBudget', () => {
  it('gives each address its own bucket that refills at the rate', () => {
    const budget = new ReplyBudget({ perSecond: 3, maxAddresses: 10 });
    const taken = [0, 1, 2, 3].map(() => budget.take('a', 0));
    expect(taken).toEqual([true, true, true, false]);
    expect(budget.take('b', 0)).toBe(true); // a's flood costs b nothing
    expect(budget.take('a', 100)).toBe(false); // 0.3 of a reply refilled
    expect(budget.take('a', 400)).toBe(true); // 1.2
  });

  it('remembers at most maxAddresses, forgetting the least recently seen (which only refills it)', () => {
    const budget = new ReplyBudget({ perSecond: 1, maxAddresses: 2 });
    expect(budget.take('a', 0)).toBe(true);
    expect(budget.take('b', 0)).toBe(true);
    expect(budget.take('a', 0)).toBe(false); // a is now the most recent
    expect(budget.take('c', 0)).toBe(true); // b is forgotten
    expect(budget.size).toBe(2);
    expect(budget.take('a', 0)).toBe(false); // a was kept, still empty
    expect(budget.take('b', 0)).toBe(true); // b comes back with a full bucket
    for (let i = 0; i < 10_000; i++) budget.take(`x${i}`, 0);
    expect(budget.size).toBe(2);
  });
});
