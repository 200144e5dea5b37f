import { describe, expect, it } from 'vitest';
import { InputLine } from '../src/model/input-line.js';
import { Completer } from '../src/model/completion.js';

describe('InputLine', () => {
  it('inserts at the cursor and moves by code points (emoji and CJK move as one)', () => {
    const l = new InputLine();
    l.insert('a😀b');
    l.left();
    l.left();
    l.insert('字');
    expect(l.text).toBe('a字😀b');
    l.backspace();
    l.delete();
    expect(l.text).toBe('ab');
    expect(l.cursor).toBe(1);
  });
  it('edits words and kills to either end', () => {
    const l = new InputLine();
    l.insert('one two three');
    l.deleteWordBack();
    expect(l.text).toBe('one two ');
    l.home();
    l.wordRight();
    l.killToEnd();
    expect(l.text).toBe('one');
    l.killToStart();
    expect(l.text).toBe('');
  });
  it('turns a pasted multi-line text into one line without control characters', () => {
    const l = new InputLine();
    l.insert('first\nsecond\x1b[31m');
    expect(l.text).toBe('first second[31m');
  });
  it('walks the history with up/down and keeps the draft', () => {
    const l = new InputLine();
    l.insert('first');
    expect(l.submit()).toBe('first');
    l.insert('second');
    l.submit();
    l.insert('draft');
    l.historyUp();
    expect(l.text).toBe('second');
    l.historyUp();
    l.historyUp();
    expect(l.text).toBe('first');
    l.historyDown();
    l.historyDown();
    expect(l.text).toBe('draft');
  });
  it('scrolls its view so the cursor stays visible, counting wide characters as two cells', () => {
    const l = new InputLine();
    l.insert('字'.repeat(10));
    const v = l.view(9);
    expect(v.cursorCell).toBeLessThanOrEqual(8);
    expect([...v.text].length).toBeLessThanOrEqual(4);
    l.home();
    expect(l.view(9)).toEqual({ text: '字字字字', cursorCell: 0 });
  });
});

describe('Completer', () => {
  const ctx = { nicks: ['alice', 'albert', 'bob', 'me'], files: ['photo.jpg', 'notes.txt'], me: 'me' };
  it('completes a nick at the start of the line as "nick, " and cycles on repeated Tab', () => {
    const l = new InputLine();
    const c = new Completer();
    l.insert('al');
    expect(c.complete(l, ctx)).toBe(true);
    expect(l.text).toBe('alice, ');
    c.complete(l, ctx);
    expect(l.text).toBe('albert, ');
    c.complete(l, ctx);
    expect(l.text).toBe('alice, ');
  });
  it('completes a nick in the middle of a line as "nick " and never offers our own nick', () => {
    const l = new InputLine();
    const c = new Completer();
    l.insert('hey bo');
    c.complete(l, ctx);
    expect(l.text).toBe('hey bob ');
    l.set('hey m');
    c.reset();
    expect(c.complete(l, ctx)).toBe(false);
  });
  it('completes slash commands, bare commands and file names', () => {
    const l = new InputLine();
    const c = new Completer();
    l.insert('/dow');
    c.complete(l, ctx);
    expect(l.text).toBe('/download ');
    l.insert('ph');
    c.reset();
    c.complete(l, ctx);
    expect(l.text).toBe('/download photo.jpg');
    l.set('download,no');
    c.reset();
    c.complete(l, ctx);
    expect(l.text).toBe('download,notes.txt');
    l.set('onl');
    c.reset();
    c.complete(l, ctx);
    expect(l.text).toBe('online');
  });
});
