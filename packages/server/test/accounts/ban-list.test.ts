import { describe, expect, it } from 'vitest';
import { BanList, parseAddressTarget, parseDuration, type Ban } from '../../src/accounts/ban-list.js';

const base = { by: 'op', reason: 'spam', at: 0, label: '' };

describe('ban list (injected clock)', () => {
  it('bans a nickname key, an address and a range; an IPv4-mapped peer matches its IPv4 ban', () => {
    let now = 0;
    const bans = new BanList(() => now);
    bans.add({ ...base, kind: 'nick', target: 'mallory', until: undefined });
    bans.add({ ...base, kind: 'address', target: '203.0.113.7', until: undefined });
    bans.add({ ...base, kind: 'address', target: '2001:db8::/48', until: 1000 });
    expect(bans.match('mallory', '192.0.2.1')?.kind).toBe('nick');
    expect(bans.match('alice', '::ffff:203.0.113.7')?.target).toBe('203.0.113.7');
    expect(bans.match('alice', '203.0.113.8')).toBeUndefined();
    expect(bans.match('alice', '2001:db8:0:1::5')?.target).toBe('2001:db8::/48');
    expect(bans.match('alice', '2001:db9::5')).toBeUndefined();
    now = 1000;
    expect(bans.match('alice', '2001:db8:0:1::5')).toBeUndefined();
    expect(bans.list().map((b: Ban) => b.target)).toEqual(['mallory', '203.0.113.7']);
    expect(bans.remove('nick', 'mallory')?.target).toBe('mallory');
    expect(bans.match('mallory', undefined)).toBeUndefined();
  });

  it('parses durations and address targets, refusing what is not one', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    for (const bad of ['', '0m', '5', '5w', '-1h', '1.5h', '9999999d']) expect(parseDuration(bad)).toBeUndefined();
    expect(parseAddressTarget('203.0.113.0/24')).toEqual({ ip: '203.0.113.0', prefix: 24, family: 'ipv4' });
    expect(parseAddressTarget('2001:db8::1')).toEqual({ ip: '2001:db8::1', prefix: 128, family: 'ipv6' });
    // A range so wide it would ban a large part of the internet is refused.
    for (const bad of ['0.0.0.0/0', '10.0.0.0/4', '::/0', 'alice', '300.1.1.1', '203.0.113.0/33']) expect(parseAddressTarget(bad)).toBeUndefined();
  });
});
