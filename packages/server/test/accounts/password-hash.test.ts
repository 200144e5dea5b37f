import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, storedCost, verifyPassword, type ScryptCost } from '../../src/accounts/password-hash.js';

// A small cost keeps the unit tests quick; the default is measured in bench/accounts.
const CHEAP: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };

describe('password hashes (scrypt)', () => {
  it('verifies the right password and refuses a wrong one; two hashes of one password differ (salt)', async () => {
    const a = await hashPassword('correct horse', CHEAP);
    const b = await hashPassword('correct horse', CHEAP);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\$scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/u);
    expect(a).not.toContain('correct');
    expect(await verifyPassword('correct horse', a, CHEAP)).toEqual({ ok: true, rehash: false });
    expect(await verifyPassword('correct horsE', a, CHEAP)).toEqual({ ok: false, rehash: false });
    expect(await verifyPassword('', a, CHEAP)).toEqual({ ok: false, rehash: false });
  });

  it('asks for a re-hash when the stored cost is not the current one, only after a right password', async () => {
    const old = await hashPassword('correct horse', CHEAP);
    const now: ScryptCost = { N: 2 ** 11, r: 8, p: 1 };
    expect(await verifyPassword('correct horse', old, now)).toEqual({ ok: true, rehash: true });
    expect(await verifyPassword('wrong horse!', old, now)).toEqual({ ok: false, rehash: false });
  });

  it('treats NFC and NFD spellings of a password as the same password', async () => {
    const h = await hashPassword('caf\u00e9-latte', CHEAP);
    expect((await verifyPassword('cafe\u0301-latte', h, CHEAP)).ok).toBe(true);
  });

  it('refuses a corrupted or foreign stored hash without deriving anything huge', async () => {
    for (const stored of [
      '',
      'plaintext',
      '$scrypt$N=1073741824,r=8,p=1$AAAA$AAAA',
      '$scrypt$N=1000,r=8,p=1$AAAA$AAAA',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    ]) {
      expect(storedCost(stored)).toBeUndefined();
      expect(await verifyPassword('whatever1', stored, CHEAP)).toEqual({ ok: false, rehash: false });
    }
  });

  it('says what is wrong with a new password', () => {
    expect(passwordProblem('short')).toMatch(/at least 8 characters/u);
    expect(passwordProblem('has,comma1')).toMatch(/comma/u);
    expect(passwordProblem('tab\there12')).toMatch(/control characters/u);
    expect(passwordProblem(' leading-space')).toMatch(/space/u);
    expect(passwordProblem('x'.repeat(257))).toMatch(/at most 256 bytes/u);
    expect(passwordProblem('pässwörd wıth ünïcode')).toBeUndefined();
    expect(passwordProblem('correct horse battery staple')).toBeUndefined();
  });
});
