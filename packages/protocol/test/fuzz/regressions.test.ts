/**
 * What the fuzzer found, one test per finding, each with the smallest input
 * that shows it. A finding in src/ that is not fixed yet is `it.fails` with
 * the reason: it passes while the bug is there and fails once it is fixed —
 * then drop `.fails`, and in targets.ts turn its `knownFinding` back into a
 * `violation` so the fuzzer guards it again.
 */
import { describe, expect, it } from 'vitest';
import { checkNickname, nickKey, sameNick } from '../../src/index.js';

describe('fuzzer findings', () => {
  // Found when nickKey was NFKC then toLowerCase: lowercasing can undo NFKC ("T" +
  // U+0308 has no precomposed form, its lowercase "t" + U+0308 does: U+1E97 ẗ), so
  // "T̈om" and "ẗom" got different keys and two users could hold them at once.
  // Fixed by the confusable-skeleton key (issue 13 item 5); these keep it fixed.
  it('gives a nickname and its key the same key (nickKey is idempotent)', () => {
    const key = nickKey('T\u0308om');
    expect(nickKey(key)).toBe(key);
  });

  it('treats "T̈om" and "ẗom" (U+1E97) as the same user', () => {
    expect(checkNickname('T\u0308om').ok).toBe(true);
    expect(checkNickname('\u1e97om').ok).toBe(true);
    expect(sameNick('T\u0308om', '\u1e97om')).toBe(true);
  });

  // Issue 13 item 6: NFKC turns some letters and digits into text with a space or
  // a comma, which could break a space- or comma-separated message. Fixed: such
  // nicknames are refused and keys never hold a separator.
  it.each([
    ['U+FDFA (Arabic ligature, NFKC has spaces)', 'a\ufdfa'],
    ['U+037A (Greek ypogegrammeni, NFKC is space + U+0345)', 'a\u037a'],
    ['U+1F101 (digit zero comma, NFKC is "0,")', 'a\u{1f101}'],
  ])('gives no accepted nickname a key with a space or a comma: %s', (_why, nick) => {
    const result = checkNickname(nick);
    if (result.ok) expect(nickKey(result.nick)).not.toMatch(/[\s,]/u);
  });
});
