import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/accounts/login-throttle.js';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('login throttle (injected clock)', () => {
  it('lets 5 wrong passwords through, then doubles the wait per account up to a minute', () => {
    const c = clock();
    const t = new LoginThrottle({}, c.now);
    for (let i = 0; i < 5; i++) {
      expect(t.check('alice', `198.51.100.${i}`)).toEqual({ ok: true });
      t.failed('alice', `198.51.100.${i}`);
    }
    // Sixth try, from yet another address: one second.
    expect(t.check('alice', '198.51.100.99')).toEqual({ ok: false, why: 'account', retryInMs: 1000 });
    c.advance(1000);
    expect(t.check('alice', '198.51.100.99')).toEqual({ ok: true });
    t.failed('alice', '198.51.100.99');
    expect(t.check('alice', '198.51.100.98')).toMatchObject({ ok: false, retryInMs: 2000 });
    for (let i = 0; i < 10; i++) {
      c.advance(60_000);
      t.failed('alice', `203.0.113.${i}`);
    }
    // Never more than a minute: the owner is never kept out longer.
    expect(t.check('alice', '192.0.2.1')).toMatchObject({ ok: false, why: 'account', retryInMs: 60_000 });
    c.advance(60_000);
    expect(t.check('alice', '192.0.2.1')).toEqual({ ok: true });
    // Other accounts are not slowed by alice's failures.
    expect(t.check('bob', '192.0.2.1')).toEqual({ ok: true });
  });

  it('does not slow the owner on an address they logged in from before', () => {
    const c = clock();
    const t = new LoginThrottle({}, c.now);
    t.succeeded('alice', 'home');
    for (let i = 0; i < 12; i++) t.failed('alice', `attacker-${i}`);
    expect(t.check('alice', 'elsewhere')).toMatchObject({ ok: false, why: 'account' });
    expect(t.check('alice', 'home')).toEqual({ ok: true });
    // A right password ends the run of failures for everyone.
    t.succeeded('alice', 'home');
    expect(t.check('alice', 'elsewhere')).toEqual({ ok: true });
  });

  it('stops an address after 20 wrong passwords in 10 minutes, whatever accounts they were for', () => {
    const c = clock();
    const t = new LoginThrottle({}, c.now);
    for (let i = 0; i < 20; i++) {
      expect(t.check(`user${i}`, 'spray')).toEqual({ ok: true });
      t.failed(`user${i}`, 'spray');
      c.advance(1000);
    }
    expect(t.check('someone-new', 'spray')).toEqual({ ok: false, why: 'address', retryInMs: 10 * 60_000 - 20_000 });
    expect(t.check('someone-new', 'other')).toEqual({ ok: true });
    c.advance(10 * 60_000 - 20_000);
    expect(t.check('someone-new', 'spray')).toEqual({ ok: true });
  });

  it('a wrong resume token counts against its address only, never slowing the account for its owner', () => {
    const c = clock();
    const t = new LoginThrottle({}, c.now);
    for (let i = 0; i < 20; i++) {
      expect(t.checkAddress('guesser')).toEqual({ ok: true });
      t.failedAddress('guesser');
    }
    expect(t.checkAddress('guesser')).toMatchObject({ ok: false, why: 'address' });
    // The account itself was never slowed: its owner, from a new address, goes straight in.
    expect(t.check('alice', 'owner-new-address')).toEqual({ ok: true });
  });

  it('remembers at most maxTracked accounts and addresses', () => {
    const t = new LoginThrottle({ maxTracked: 100 }, clock().now);
    for (let i = 0; i < 1000; i++) t.failed(`user${i}`, `addr${i}`);
    expect(t.size).toEqual({ accounts: 100, addresses: 100 });
  });
});
