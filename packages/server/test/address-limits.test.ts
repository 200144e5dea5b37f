import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent } from '@parley/protocol';
import { AddressLimits } from '../src/address-limits.js';
import { startTestServer, type TestServer } from './helpers.js';

/**
 * One address must not take every slot (issue 13 item 4). Linux routes all of
 * 127.0.0.0/8 to loopback, so 127.0.0.2 and 127.0.0.3 are two real peers.
 */

let t: TestServer | undefined;
const sockets: Array<{ destroy(): void }> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await t?.stop();
  t = undefined;
});

interface Peer {
  readonly lines: string[];
  closed: boolean;
  send(line: string): void;
  waitFor(match: (l: string) => boolean): Promise<string>;
  close(): void;
}

/** A raw TCP client bound to `from` (a loopback address). */
function peer(port: number, from: string): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(p));
    sockets.push(s);
    let buf = '';
    const waiters: Array<() => void> = [];
    const wake = (): void => {
      for (const w of waiters.splice(0)) w();
    };
    const p: Peer = {
      lines: [],
      closed: false,
      send: (line) => s.write(`${line}\n`),
      close: () => s.destroy(),
      async waitFor(match) {
        const deadline = Date.now() + 5000;
        for (;;) {
          const found = p.lines.find(match);
          if (found !== undefined) return found;
          if (p.closed || Date.now() > deadline) throw new Error(`no matching line (closed: ${p.closed}); got:\n${p.lines.join('\n')}`);
          await new Promise<void>((r) => {
            const timer = setTimeout(r, 100);
            waiters.push(() => {
              clearTimeout(timer);
              r();
            });
          });
        }
      },
    };
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        p.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      wake();
    });
    s.on('close', () => {
      p.closed = true;
      wake();
    });
    s.on('error', () => undefined);
    s.once('error', reject);
  });
}

async function join(port: number, from: string, nick: string): Promise<Peer> {
  const p = await peer(port, from);
  p.send(nick);
  await p.waitFor((l) => l.startsWith(`welcome 2 ${nick} `));
  return p;
}

const isBye = (l: string): boolean => l.startsWith('bye ');

describe('per-address connection limits (over TCP)', () => {
  it('lets a user from a second address in while one address floods with idle connections', async () => {
    t = await startTestServer({ maxClients: 50, trustedAddresses: [] });
    const flood = await Promise.all(Array.from({ length: 100 }, () => peer(t!.port, '127.0.0.2')));
    // Every flood connection is either held (prompted, waiting for a nickname) or told why not.
    await Promise.all(flood.map((p) => p.waitFor((l) => l.startsWith('info ') || isBye(l))));
    const held = flood.filter((p) => !p.lines.some(isBye));
    const refused = flood.filter((p) => p.lines.some(isBye));
    expect(held.length).toBe(5);
    expect(new Set(refused.map((p) => p.lines.find(isBye)))).toEqual(
      new Set(['bye TOO_MANY_CONNECTIONS :too many connections from your address are still choosing a nickname (5); finish one and try again']),
    );
    expect(decodeEvent(refused[0]!.lines[0]!)).toMatchObject({ type: 'bye', code: 'TOO_MANY_CONNECTIONS' });
    const carol = await join(t.port, '127.0.0.3', 'carol');
    expect(carol.lines.some(isBye)).toBe(false);
  });

  it('counts joined and un-joined connections from one address, frees a slot when one closes, and leaves other addresses alone', async () => {
    t = await startTestServer({ maxClientsPerAddress: 6, maxUnjoinedPerAddress: 2, trustedAddresses: [] });
    const users = [];
    for (let i = 0; i < 6; i++) users.push(await join(t.port, '127.0.0.2', `u${i}`));
    const seventh = await peer(t.port, '127.0.0.2');
    expect(await seventh.waitFor(isBye)).toBe('bye TOO_MANY_CONNECTIONS :too many connections from your address (6); close some and try again');
    // Another address is not affected.
    const other = await join(t.port, '127.0.0.3', 'other');
    users[0]!.close();
    await other.waitFor((l) => l === 'left u0 disconnected');
    await join(t.port, '127.0.0.2', 'u6');
  });

  it('makes room for a new user by closing the connection that waited longest for a nickname, when idle connections from many addresses fill the server', async () => {
    t = await startTestServer({ maxClients: 20, trustedAddresses: [] });
    const flood: Peer[] = [];
    for (let a = 2; a < 10; a++) for (let i = 0; i < 5; i++) flood.push(await peer(t.port, `127.0.0.${a}`));
    const carol = await join(t.port, '127.0.0.20', 'carol');
    expect(carol.lines.some(isBye)).toBe(false);
    // 41 connections for 20 places: the 21 oldest idle ones were closed, oldest first, and told why.
    const evicted = flood.slice(0, 21);
    for (const p of evicted) {
      expect(await p.waitFor(isBye)).toBe(
        'bye JOIN_TIMEOUT :the server is busy: connections waiting longest for a nickname make room for new ones; reconnect and send your nickname at once',
      );
    }
    // The younger ones are still there: one of them can still join.
    const last = flood[flood.length - 1]!;
    last.send('dave');
    await last.waitFor((l) => l.startsWith('welcome 2 dave '));
    expect(flood.slice(21).filter((p) => p.lines.some(isBye))).toEqual([]);
    expect(t.server.connections).toBe(20);
  });

  it('exempts trusted addresses (loopback by default)', async () => {
    t = await startTestServer({ maxClientsPerAddress: 2, maxUnjoinedPerAddress: 1 });
    const idle = await Promise.all(Array.from({ length: 4 }, () => peer(t!.port, '127.0.0.1')));
    await Promise.all(idle.map((p) => p.waitFor((l) => l.startsWith('info ') || isBye(l))));
    expect(idle.filter((p) => p.lines.some(isBye))).toEqual([]);
    await join(t.port, '127.0.0.2', 'also-loopback');
  });
});

describe('AddressLimits', () => {
  const limits = (): AddressLimits =>
    new AddressLimits({ maxClientsPerAddress: 2, maxUnjoinedPerAddress: 2, trustedAddresses: ['10.1.0.0/16', '2001:db8:ffff::/48'] });

  it('counts an IPv6 /64 as one address and an IPv4-mapped address as its IPv4 address', () => {
    const l = limits();
    expect(l.admit('2001:db8:1:2::5')).toEqual({ ok: true, key: '2001:db8:1:2::/64' });
    expect(l.admit('2001:0db8:0001:0002:ffff:0:0:9')).toEqual({ ok: true, key: '2001:db8:1:2::/64' });
    expect(l.admit('2001:db8:1:2:aaaa::1').ok).toBe(false);
    expect(l.admit('2001:db8:1:3::1').ok).toBe(true);
    expect(l.admit('::ffff:192.0.2.7')).toEqual({ ok: true, key: '192.0.2.7' });
    expect(l.admit('192.0.2.7').ok).toBe(true);
    expect(l.admit('::ffff:192.0.2.7').ok).toBe(false);
  });

  it('does not count trusted ranges, and forgets an address when its last connection closes', () => {
    const l = limits();
    for (let i = 0; i < 10; i++) expect(l.admit('10.1.2.3')).toEqual({ ok: true, key: undefined });
    expect(l.admit('2001:db8:ffff:1::1')).toEqual({ ok: true, key: undefined });
    const a = l.admit('192.0.2.1');
    const b = l.admit('192.0.2.1');
    if (!a.ok || !b.ok) throw new Error('not admitted');
    l.joined(a);
    l.closed(a, true);
    l.closed(b, false);
    expect(l.size).toBe(0);
  });

  it('refuses a bad trusted entry', () => {
    expect(() => new AddressLimits({ maxClientsPerAddress: 1, maxUnjoinedPerAddress: 1, trustedAddresses: ['localhost'] })).toThrow(/not an IP address/u);
    expect(() => new AddressLimits({ maxClientsPerAddress: 1, maxUnjoinedPerAddress: 1, trustedAddresses: ['10.0.0.0/33'] })).toThrow(/prefix/u);
    expect(() => new AddressLimits({ maxClientsPerAddress: 1, maxUnjoinedPerAddress: 1, trustedAddresses: ['1.2.3'] })).toThrow(/not an IP address/u);
    expect(() => new AddressLimits({ maxClientsPerAddress: 1, maxUnjoinedPerAddress: 1, trustedAddresses: ['::1::2/64'] })).toThrow(/not an IP address/u);
    expect(() => new AddressLimits({ maxClientsPerAddress: 1, maxUnjoinedPerAddress: 1, trustedAddresses: ['::ffff:10.0.0.1', 'fe80::1/10'] })).not.toThrow();
  });
});
