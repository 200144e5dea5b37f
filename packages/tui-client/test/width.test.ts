import { describe, expect, it } from 'vitest';
import { displaySafe, fit, textWidth, truncate, wrap } from '../src/text/width.js';
import { terminalSafe } from '../src/text/terminal-safe.js';

describe('cell widths', () => {
  it('counts CJK and emoji as two cells, combining marks as none', () => {
    expect(textWidth('abc')).toBe(3);
    expect(textWidth('你好')).toBe(4);
    expect(textWidth('😀')).toBe(2);
    expect(textWidth('e\u0301')).toBe(1);
  });
  it('drops joiners, variation selectors, skin tones and control characters for display', () => {
    expect(displaySafe('👍🏽')).toBe('👍');
    expect(displaySafe('👨\u200d👩\u200d👧')).toBe('👨👩👧');
    expect(displaySafe('a\x1b[31mb')).toBe('a[31mb');
  });
  it('drops C1 controls and every bidi control, and terminalSafe changes nothing else', () => {
    expect(displaySafe('a\u009b2Jb\u202ec\u2066d\u2069\u200fe')).toBe('a2Jbcde');
    expect(terminalSafe('\u001b]0;t\u0007x\ty 👍🏽 é')).toBe(']0;tx\ty 👍🏽 é');
  });
  it('truncates and pads to an exact number of cells without splitting a wide character', () => {
    expect(truncate('你好世界', 5)).toBe('你好');
    expect(textWidth(fit('你好世界', 5))).toBe(5);
    expect(fit('ab', 4)).toBe('ab  ');
  });
  it('wraps at spaces, and inside words longer than a line', () => {
    expect(wrap('hello there world', 11)).toEqual(['hello there', 'world']);
    expect(wrap('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    for (const line of wrap('😀😀😀 你好你好 abc', 5)) expect(textWidth(line)).toBeLessThanOrEqual(5);
  });
});
