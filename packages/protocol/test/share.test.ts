import { describe, expect, it } from 'vitest';
import { checkNickname, decodeEvent, encodeCommand, encodeEvent, parseCommand, type ServerEvent } from '../src/index.js';

const SHA = 'a'.repeat(64);

describe('share and unshare commands', () => {
  it('reads name, size and SHA-256 from the right, so a name may contain commas', () => {
    expect(parseCommand(`share,a,b.txt,12,${SHA}`)).toEqual({ ok: true, command: { type: 'share', name: 'a,b.txt', size: 12, sha256: SHA } });
    expect(parseCommand(`SHARE,photo.jpg,0,${SHA.toUpperCase()},bob`)).toEqual({
      ok: true,
      command: { type: 'share', name: 'photo.jpg', size: 0, sha256: SHA, to: 'bob' },
    });
    expect(parseCommand('unshare, notes.txt ')).toEqual({ ok: true, command: { type: 'unshare', name: 'notes.txt' } });
  });

  it('refuses a share without a SHA-256, a size or a name, or with a bad nickname, as BAD_ARGUMENTS', () => {
    for (const line of [
      'share',
      'share,x',
      `share,x,${SHA}`,
      'share,x,12,abc',
      `share,x,-1,${SHA}`,
      `share,,12,${SHA}`,
      `share,x,12,${SHA},b o b`,
      'unshare',
      'unshare, ',
    ]) {
      const r = parseCommand(line);
      expect(r.ok, line).toBe(false);
      if (!r.ok) expect(r.error.wireCode, line).toBe('BAD_ARGUMENTS');
    }
  });

  it('encodes what it parses', () => {
    for (const line of [`share,a,b,1,${SHA}`, `share,x.bin,99,${SHA},carol`, 'unshare,x.bin']) {
      const r = parseCommand(line);
      if (!r.ok || r.command === null) throw new Error(line);
      expect(encodeCommand(r.command)).toBe(line);
    }
  });

  it('makes share and unshare command words, not nicknames', () => {
    expect(checkNickname('share')).toMatchObject({ ok: false });
    expect(checkNickname('Unshare')).toMatchObject({ ok: false });
  });
});

describe('share events', () => {
  const events: ServerEvent[] = [
    { type: 'upload', id: 7, name: 'my photo.jpg', size: 12, sha256: SHA, token: 'b'.repeat(32), udpPort: 57000 },
    { type: 'upload', id: 7, name: 'x', size: 12, sha256: SHA, token: 'b'.repeat(32), udpPort: 57000, key: 'c'.repeat(64) },
    { type: 'shared', from: 'alice', name: 'a b.txt', size: 3 },
    { type: 'shared', from: 'alice', name: 'x', size: 3, to: 'bob' },
    { type: 'unshared', name: 'x', reason: 'expired' },
  ];
  it('round-trips every form', () => {
    for (const e of events) expect(decodeEvent(encodeEvent(e))).toEqual(e);
    expect(encodeEvent(events[2] as ServerEvent)).toBe('shared alice a%20b.txt 3');
  });

  it('refuses malformed lines as BAD_EVENT', () => {
    for (const line of [
      'upload 1 x 2 abc tok 5',
      'shared alice',
      'shared alice x y',
      'unshared x because',
      `upload 1 x 2 ${SHA} ${'b'.repeat(32)} 0`,
      'shared a x 1 :text',
    ]) {
      expect(() => decodeEvent(line), line).toThrow(expect.objectContaining({ code: 'PARLEY_ERR_BAD_EVENT' }));
    }
  });
});
