import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeEvent, encodeArg, decodeArg, encodeEvent, eventFrame, ParleyProtocolError, type ServerEvent } from '../src/index.js';

const samples: ServerEvent[] = [
  { type: 'welcome', version: 1, nick: 'alice', text: 'Welcome to Parley, alice!' },
  { type: 'online', nicks: ['alice', 'bob', 'Zoë'] },
  { type: 'online', nicks: [] },
  { type: 'joined', nick: 'bob' },
  { type: 'left', nick: 'bob', reason: 'quit' },
  { type: 'left', nick: 'bob', reason: 'timeout' },
  { type: 'broadcast', from: 'bob', text: 'hi :) all: yes' },
  { type: 'private', from: 'bob', to: 'alice', text: 'psst, 日本語 👋' },
  { type: 'files', files: [] },
  {
    type: 'files',
    files: [
      { name: 'a.jpg', size: 1234 },
      { name: 'my notes %1.txt', size: 0 },
      { name: ':odd', size: 5 },
      { name: '-', size: 1 },
    ],
  },
  { type: 'offer', id: 7, name: 'big file.bin', size: 10_000_000, sha256: 'a'.repeat(64), token: '0123456789abcdef0123456789abcdef', udpPort: 57000 },
  { type: 'offer', id: 8, name: 'x', size: 1, sha256: 'b'.repeat(64), token: 'f'.repeat(32), udpPort: 57001, key: '0123456789abcdef'.repeat(4) },
  { type: 'error', code: 'NICK_TAKEN', text: 'nickname "bob" is taken' },
  { type: 'ping', token: '17' },
  { type: 'bye', code: 'SHUTDOWN', text: 'server is shutting down' },
  { type: 'info', text: 'commands: broadcast,<text> | <nick>,<text>' },
  { type: 'resume', token: 'ab'.repeat(32), expires: '2026-12-13T18:00:00.000Z' },
  { type: 'waiting', to: 'bob', count: 3, text: 'bob is offline; your message waits for them' },
  { type: 'waited', from: 'alice', time: '2026-12-06T18:00:00.000Z', text: 'see you, bob' },
  { type: 'kicked', nick: 'mallory', by: 'alice', reason: '' },
  { type: 'kicked', nick: 'mallory', by: 'alice', reason: 'spam: again' },
  { type: 'banned', ban: { kind: 'nick', target: 'mallory', by: 'alice', until: '2026-12-07T18:00:00.000Z', reason: 'spam' } },
  { type: 'banned', ban: { kind: 'address', target: '', by: 'alice', reason: '' } },
  { type: 'unbanned', kind: 'address', target: '2001:db8::/48', by: 'alice' },
  { type: 'ban', ban: { kind: 'address', target: '203.0.113.0/24', by: 'alice', at: '2026-12-06T18:00:00.000Z', reason: 'bots' } },
  { type: 'bans', count: 0 },
];

describe('server events', () => {
  it('round-trips every event kind', () => {
    for (const e of samples) expect(decodeEvent(encodeEvent(e))).toEqual(e);
  });

  it('reads like a sentence in nc', () => {
    expect(encodeEvent({ type: 'broadcast', from: 'bob', text: 'hi all' })).toBe('broadcast bob :hi all');
    expect(
      encodeEvent({
        type: 'files',
        files: [
          { name: 'a.jpg', size: 12 },
          { name: 'b c', size: 3 },
        ],
      }),
    ).toBe('files 2 a.jpg 12 b%20c 3');
    expect(eventFrame({ type: 'joined', nick: 'bob' }).toString()).toBe('joined bob\n');
  });

  it('writes the key of an encrypted offer as a 7th argument, and a plain offer as it always was', () => {
    const plain = { type: 'offer', id: 7, name: 'a b', size: 3, sha256: 'a'.repeat(64), token: '1'.repeat(32), udpPort: 5000 } as const;
    expect(encodeEvent(plain)).toBe(`offer 7 a%20b 3 ${'a'.repeat(64)} ${'1'.repeat(32)} 5000`);
    expect(encodeEvent({ ...plain, key: 'c'.repeat(64) })).toBe(`offer 7 a%20b 3 ${'a'.repeat(64)} ${'1'.repeat(32)} 5000 ${'c'.repeat(64)}`);
    expect(decodeEvent(encodeEvent(plain))).not.toHaveProperty('key');
  });

  it('rejects an offer whose key is not 64 lowercase hex digits, or with an 8th argument', () => {
    const head = `offer 7 a 3 ${'a'.repeat(64)} ${'1'.repeat(32)} 5000`;
    for (const line of [`${head} ${'c'.repeat(63)}`, `${head} ${'C'.repeat(64)}`, `${head} ${'g'.repeat(64)}`, `${head} ${'c'.repeat(64)} x`]) {
      expect(() => decodeEvent(line), line).toThrow(/./);
      try {
        decodeEvent(line);
      } catch (e) {
        expect((e as ParleyProtocolError).code).toBe('PARLEY_ERR_BAD_EVENT');
      }
    }
  });

  it('rejects lines that are not events with BAD_EVENT', () => {
    for (const line of [
      '',
      'hello',
      'online 2 alice',
      'files 1 a.jpg',
      'error NOPE :x',
      'welcome x alice :hi',
      'left bob gone',
      'offer 1 a 1 abc def 5',
      'joined',
      'ping 1 2',
      'files 1 a%zz 3',
    ]) {
      expect(() => decodeEvent(line), line).toThrow(ParleyProtocolError);
      try {
        decodeEvent(line);
      } catch (e) {
        expect((e as ParleyProtocolError).code).toBe('PARLEY_ERR_BAD_EVENT');
      }
    }
  });

  it('round-trips any argument through encodeArg (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        const enc = encodeArg(s);
        expect(enc).not.toMatch(/[ \r\n]/u);
        expect(enc.startsWith(':')).toBe(false);
        expect(decodeArg(enc)).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws anything but the typed error on random lines (property)', () => {
    const kinds = ['welcome', 'online', 'joined', 'left', 'broadcast', 'private', 'files', 'offer', 'error', 'ping', 'bye', 'info'];
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.string({ maxLength: 80 }), (kind, rest) => {
        try {
          decodeEvent(`${kind} ${rest}`);
        } catch (e) {
          expect(e).toBeInstanceOf(ParleyProtocolError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('docs/PROTOCOL.md', () => {
  it('lists exactly the error codes the code has', async () => {
    const { readFile } = await import('node:fs/promises');
    const { ERROR_CODES } = await import('../src/index.js');
    const doc = await readFile(new URL('../../../docs/PROTOCOL.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gmu)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
