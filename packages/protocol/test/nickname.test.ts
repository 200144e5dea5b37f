import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkNickname, nickFold, nickKey, skeleton } from '../src/index.js';
import { CONFUSABLES_PACKED, CONFUSABLES_SOURCE } from '../src/confusables-data.js';

const invalid = (nick: string): string => {
  const r = checkNickname(nick);
  if (r.ok) throw new Error(`${JSON.stringify(nick)} was accepted`);
  expect(r.error.wireCode).toBe('NICK_INVALID');
  return r.error.message;
};

describe('invisible and look-alike nicknames', () => {
  it('refuses default-ignorable characters and Hangul fillers, saying which one', () => {
    expect(invalid('alice\ufe0f')).toBe('nickname contains an invisible character (U+FE0F)');
    expect(invalid('alice\u034f')).toBe('nickname contains an invisible character (U+034F)');
    expect(invalid('\u3164')).toBe('nickname contains an invisible character (U+3164)');
    expect(invalid('\u115f\u115f')).toBe('nickname contains an invisible character (U+115F)');
    for (const nick of ['a\u200bb', 'a\u200db', 'a\u2060b', 'a\uffa0', 'a\u1160', 'ab\u{e0041}', 'a\u180eb', 'a\u00adb']) invalid(nick);
  });

  it('refuses a character whose compatibility form has spaces or punctuation (U+FDFA)', () => {
    expect(invalid('a\ufdfa')).toBe('nickname contains a character that stands for spaces or punctuation (U+FDFA)');
    invalid('x\u3231');
  });

  it('gives look-alikes one key: other scripts, digits for letters, rn for m, fullwidth and case', () => {
    const key = nickKey('alice');
    for (const nick of ['\u0430lice', 'ALICE', 'AIice', 'ALlCE', 'ａｌｉｃｅ', 'a\u217Cice', 'a1ice', 'al\u0456ce', 'al\u0131ce']) {
      expect(checkNickname(nick).ok, nick).toBe(true);
      expect(nickKey(nick), nick).toBe(key);
    }
    expect(nickKey('b0b')).toBe(nickKey('bob'));
    expect(nickKey('rnary')).toBe(nickKey('Mary'));
    expect(nickKey('mary')).toBe(nickKey('MARY'));
    expect(nickKey('alice')).not.toBe(nickKey('alicia'));
    expect(nickKey('日本')).not.toBe(nickKey('中国'));
  });

  it('makes keys with no invisible characters from any text, and with no spaces from any nickname it accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        const key = nickKey(s);
        expect(key).not.toMatch(/[\p{Default_Ignorable_Code_Point}]/u);
        // A key is stable: the same nick in another case has the same key.
        expect(nickKey(nickFold(s))).toBe(key);
        const checked = checkNickname(s);
        if (checked.ok) expect(nickKey(checked.nick)).not.toMatch(/[\s\p{Z}]/u);
      }),
      { numRuns: 2000 },
    );
    // Every code point of the first three planes after a letter (≈ 136 000 are accepted): no key with a space.
    const spaced: string[] = [];
    for (let c = 0x80; c < 0x30000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const r = checkNickname(`a${String.fromCodePoint(c)}`);
      if (r.ok && /[\s\p{Z}]/u.test(nickKey(r.nick))) spaced.push(c.toString(16));
    }
    expect(spaced).toEqual([]);
  });

  it('refuses command words in disguise, but not names that only share a key with one by i and l', () => {
    for (const nick of ['0nline', 'ｈｅｌｐ', 'he1p', '\u0430dmin', 'ALL', 'a1l', 'rne']) {
      const r = checkNickname(nick);
      expect(r.ok, nick).toBe(false);
      if (!r.ok) expect(r.error.wireCode).toBe('NICK_RESERVED');
    }
    for (const nick of ['Ali', 'ali', 'plng']) expect(checkNickname(nick).ok, nick).toBe(true);
  });

  it('takes a shortcut for ASCII that gives the same key as the full skeleton', () => {
    for (let c = 0; c < 0x80; c++) {
      const ch = String.fromCharCode(c);
      const folded = ch.toLowerCase();
      expect(nickKey(`a${ch}b`), `0x${c.toString(16)}`).toBe(`a${skeleton(folded).toLowerCase().replace(/i/gu, 'l')}b`);
    }
  });

  it('is the UTS #39 skeleton: NFD, prototypes, NFD', () => {
    expect(skeleton('\u0430')).toBe('a');
    expect(skeleton('m')).toBe('rn');
    expect(skeleton('0')).toBe('O');
    expect(skeleton('é')).toBe('e\u0301');
  });

  it('carries the confusables table of its source package unchanged', () => {
    const require = createRequire(import.meta.url);
    const data = require('unhomoglyph/data.json') as Record<string, string>;
    const version = (require('unhomoglyph/package.json') as { version: string }).version;
    expect(CONFUSABLES_SOURCE).toBe(`unhomoglyph@${version}`);
    const ours = Object.fromEntries(CONFUSABLES_PACKED.split('\u0001').map((e) => e.split('\u0000') as [string, string]));
    expect(ours).toEqual(data);
  });
});
