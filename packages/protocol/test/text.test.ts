import { describe, expect, it } from 'vitest';
import { checkMessageText, hasControlCharacters, parseCommand } from '../src/index.js';

/** Every bidirectional formatting character of Unicode (UAX #9 §2): marks, embeddings, overrides, isolates. */
const BIDI = ['\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];

describe('message text and file names', () => {
  it('refuses every bidirectional mark, embedding, override and isolate as BAD_TEXT', () => {
    for (const ch of BIDI) {
      const text = `look at evil${ch}txt.exe`;
      expect(checkMessageText(text)?.wireCode, `U+${ch.codePointAt(0)?.toString(16)}`).toBe('BAD_TEXT');
      expect(hasControlCharacters(`photo${ch}.jpg`)).toBe(true);
      const parsed = parseCommand(`broadcast,${text}`);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error.message).toMatch(/bidirectional/u);
    }
  });

  it('still accepts right-to-left text, tabs, emoji and joiners that draw nothing backwards', () => {
    for (const text of ['שלום עולם', 'مرحبا', 'a\tb', '👩‍👩‍👧 family', 'naïve café']) {
      expect(checkMessageText(text)).toBeUndefined();
      expect(hasControlCharacters(text)).toBe(false);
    }
  });
});
