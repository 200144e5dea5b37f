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
  // nickKey is NFKC then toLowerCase, and lowercasing can undo NFKC: "T" + U+0308
  // has no precomposed form, but its lowercase "t" + U+0308 does (U+1E97 ẗ). So
  // "T̈om" and "ẗom" get different keys and two users can hold them at once,
  // though one is the other in another case. Fix: normalise again after case
  // folding (NFKC_Casefold, as RFC 8265 / UTS #39 do).
  it.fails('gives a nickname and its key the same key (nickKey is idempotent)', () => {
    const key = nickKey('T\u0308om');
    expect(nickKey(key)).toBe(key);
  });

  it.fails('treats "T̈om" and "ẗom" (U+1E97) as the same user', () => {
    expect(checkNickname('T\u0308om').ok).toBe(true);
    expect(checkNickname('\u1e97om').ok).toBe(true);
    expect(sameNick('T\u0308om', '\u1e97om')).toBe(true);
  });

  // Issue 13 item 6: NFKC turns some accepted letters and digits into text with
  // a space or a comma, so a nick key can break a space- or comma-separated
  // message. Either refusing these nicknames or a key without separators fixes it.
  it.fails.each([
    ['U+FDFA (Arabic ligature, NFKC has spaces)', 'a\ufdfa'],
    ['U+037A (Greek ypogegrammeni, NFKC is space + U+0345)', 'a\u037a'],
    ['U+1F101 (digit zero comma, NFKC is "0,")', 'a\u{1f101}'],
  ])('gives no accepted nickname a key with a space or a comma: %s', (_why, nick) => {
    const result = checkNickname(nick);
    if (result.ok) expect(nickKey(result.nick)).not.toMatch(/[\s,]/u);
  });
});
