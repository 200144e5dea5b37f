import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkNickname, encodeCommand, nickFold, nickKey, parseCommand, RESERVED_NICKS, type Command } from '../src/index.js';

function parsed(line: string): Command | null | string {
  const r = parseCommand(line);
  return r.ok ? r.command : r.error.wireCode;
}

describe('client command grammar (the original comma grammar)', () => {
  it('parses every original command', () => {
    expect(parsed('broadcast,hi all')).toEqual({ type: 'broadcast', text: 'hi all' });
    expect(parsed('online')).toEqual({ type: 'online' });
    expect(parsed('files')).toEqual({ type: 'files' });
    expect(parsed('download,a.jpg')).toEqual({ type: 'download', file: 'a.jpg' });
    expect(parsed('bob,hi, how are you?')).toEqual({ type: 'private', to: 'bob', text: 'hi, how are you?' });
    expect(parsed('exit')).toEqual({ type: 'exit' });
  });

  it('accepts keywords in any case and with surrounding spaces', () => {
    expect(parsed('  ONLINE ')).toEqual({ type: 'online' });
    expect(parsed('Broadcast, hello ')).toEqual({ type: 'broadcast', text: 'hello' });
    expect(parsed('quit')).toEqual({ type: 'exit' });
  });

  it('treats a blank line as nothing to do', () => {
    expect(parsed('')).toBeNull();
    expect(parsed('   ')).toBeNull();
  });

  it('answers bad commands with specific codes', () => {
    expect(parsed('hello everyone')).toBe('UNKNOWN_COMMAND');
    expect(parsed(',hi')).toBe('UNKNOWN_COMMAND');
    expect(parsed('bob smith,hi')).toBe('UNKNOWN_COMMAND');
    expect(parsed('broadcast,')).toBe('EMPTY_MESSAGE');
    expect(parsed('broadcast,   ')).toBe('EMPTY_MESSAGE');
    expect(parsed('bob,')).toBe('EMPTY_MESSAGE');
    expect(parsed('download,')).toBe('BAD_ARGUMENTS');
    expect(parsed('online,now')).toBe('BAD_ARGUMENTS');
    expect(parsed('cancel,abc')).toBe('BAD_ARGUMENTS');
    expect(parsed('broadcast,\u001b[2Jgotcha')).toBe('BAD_TEXT');
    expect(parsed('bob,a\rb')).toBe('BAD_TEXT');
  });

  it('round-trips every command through encodeCommand', () => {
    const commands: Command[] = [
      { type: 'broadcast', text: 'hi, all' },
      { type: 'private', to: 'Zoë', text: 'héllo 👋' },
      { type: 'online' },
      { type: 'files' },
      { type: 'download', file: 'my photo.jpg' },
      { type: 'exit' },
      { type: 'help' },
      { type: 'pong', token: '42' },
      { type: 'pong', token: '' },
      { type: 'cancel', transferId: '7' },
    ];
    for (const c of commands) expect(parsed(encodeCommand(c))).toEqual(c);
  });

  it('never throws on random input (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (line) => {
        const r = parseCommand(line);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('nicknames', () => {
  it('accepts letters and digits of any script and a few symbols', () => {
    for (const nick of ['alice', 'Bob_2', 'zoë', '日本', 'x', `${'[away]'.slice(1, 5)}_`, 'a-b.c|d^e`f{g}']) {
      expect(checkNickname(nick)).toMatchObject({ ok: true });
    }
  });

  it('refuses empty, long, spaced, comma, control and punctuation nicknames', () => {
    for (const nick of ['', ' ', 'a'.repeat(25), 'bob smith', 'bob,', 'a\u0007', '-x', '.x', 'a:b', 'a/b', 'a@b', 'a#b']) {
      const r = checkNickname(nick);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.wireCode).toBe('NICK_INVALID');
    }
  });

  it('refuses every command word in any case', () => {
    for (const word of RESERVED_NICKS) {
      for (const nick of [word, word.toUpperCase()]) {
        const r = checkNickname(nick);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.wireCode).toBe('NICK_RESERVED');
      }
    }
  });

  it('counts characters as code points: 24 of any script fit, 25 do not', () => {
    for (const ch of ['a', 'ë', '日', '𝒜', '😀']) {
      expect(checkNickname(ch === '😀' ? 'a'.repeat(24) : ch.repeat(24)).ok).toBe(true);
      const r = checkNickname(ch === '😀' ? `${'a'.repeat(24)}${ch}` : ch.repeat(25));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toContain('longer than 24');
    }
  });

  it('folds any string the same way as NFKC + lower case (ASCII takes a shortcut)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        expect(nickFold(s)).toBe(s.normalize('NFKC').toLowerCase());
      }),
    );
  });

  it('compares nicknames case-insensitively', () => {
    expect(nickKey('Alice')).toBe(nickKey('aLICE'));
    expect(nickKey('ÉMILE')).toBe(nickKey('émile'));
    expect(nickKey('ｂｏｂ')).toBe(nickKey('bob'));
  });
});
