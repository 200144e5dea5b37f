import { describe, expect, it } from 'vitest';
import { ChatModel } from '../src/model/chat-model.js';
import { InputLine } from '../src/model/input-line.js';
import { MessageLog } from '../src/model/messages.js';
import { textWidth } from '../src/text/width.js';
import { ConversationView, filesLines, inputLine, lineText, lineWidth, messageLines, nickColour, statusLine } from '../src/ui/render.js';
import { padWide, toTags } from '../src/ui/tags.js';
import { parseServer } from '../src/net/server-address.js';

const at = Date.UTC(2026, 0, 1, 9, 5);

describe('drawing the conversation', () => {
  it('gives each nick a stable colour, whatever its case', () => {
    expect(nickColour('Bob')).toBe(nickColour('bob'));
    expect(new Set(['ann', 'bob', 'carol', 'dave', 'eve'].map(nickColour)).size).toBeGreaterThan(2);
  });

  it('wraps a long message under its text and never past the width', () => {
    const lines = messageLines({ id: 1, at, kind: 'chat', from: 'bob', text: 'one two three four five six seven 你好 😀 eight' }, 24);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(lineWidth(l)).toBeLessThanOrEqual(24);
    expect(lineText(lines[0] ?? [])).toMatch(/^\d\d:\d\d <bob> one/u);
    expect(lineText(lines[1] ?? [])).toMatch(/^ {12}\S/u);
  });

  it('marks private messages and dims joins', () => {
    const inLine = messageLines({ id: 1, at, kind: 'private-in', from: 'bob', to: 'me', text: 'psst' }, 60)[0] ?? [];
    expect(lineText(inLine)).toMatch(/\*bob\* \(private\) psst/u);
    const join = messageLines({ id: 2, at, kind: 'join', from: 'bob', text: 'bob joined' }, 60)[0] ?? [];
    expect(join.every((s) => s.t.trim() === '' || (s.s ?? []).includes('#8a8a8a-fg'))).toBe(true);
  });

  it('draws only the visible window of a long log, newest at the bottom, and scrolls', () => {
    const log = new MessageLog();
    for (let i = 0; i < 20_000; i++) log.add({ at, kind: 'chat', from: 'bob', text: `message ${i}` });
    const view = new ConversationView();
    let w = view.window(log.all, 40, 5, 'me');
    expect(w.lines.map(lineText).at(-1)).toMatch(/message 19999$/u);
    view.scroll(4);
    w = view.window(log.all, 40, 5, 'me');
    expect(w.lines.map(lineText).at(-1)).toMatch(/message 19995$/u);
    expect(w.atBottom).toBe(false);
  });

  it('pads a short log at the top so the newest line is at the bottom', () => {
    const log = new MessageLog();
    log.add({ at, kind: 'system', text: 'hi' });
    const lines = new ConversationView().window(log.all, 20, 4, 'me').lines;
    expect(lines.length).toBe(4);
    expect(lineText(lines[3] ?? [])).toMatch(/hi$/u);
  });
});

describe('drawing panels, status and input', () => {
  it('lists files with sizes, marks the selection, and puts downloads below', () => {
    const m = new ChatModel({ now: () => at });
    m.transfers.add({ id: 1, name: 'big.iso', size: 1000, sha256: 'x', path: '/d/big.iso', startedAt: at });
    m.transfers.progress(1, { bytes: 420, rateBytesPerSec: 2048, etaSec: 3 });
    const lines = filesLines(
      [
        { name: 'a.jpg', size: 2048 },
        { name: 'big.iso', size: 1000 },
      ],
      1,
      true,
      m.transfers.all,
      24,
      10,
    ).map(lineText);
    expect(lines[0]).toBe('a.jpg             2.0 KB');
    expect(lines).toContain('↓ big.iso            42%');
    expect(lines.some((l) => /^\[#+-+\] 2\.0 KB\/s 3s/u.test(l))).toBe(true);
    for (const l of lines) expect(textWidth(l)).toBeLessThanOrEqual(24);
  });

  it('shows server, nick, state, downloads and the keys in the status bar, exactly as wide as the screen', () => {
    const m = new ChatModel();
    m.server = 'chat.example:55000';
    m.me = 'ann';
    m.setState('online');
    m.transfers.add({ id: 1, name: 'big.iso', size: 1000, sha256: 'x', path: '/d/big.iso', startedAt: 0 });
    m.transfers.progress(1, { bytes: 500, rateBytesPerSec: 1_500_000, etaSec: 61 });
    const text = lineText(statusLine(m, 120));
    expect(text).toMatch(/chat\.example:55000 │ ann │ ● online │ ↓ big\.iso 50% 1\.4 MB\/s ETA 1m01s/u);
    expect(text).toMatch(/F2 online {2}F3 files {2}F10 quit $/u);
    expect(textWidth(text)).toBe(120);
    const narrow = lineText(statusLine(m, 70));
    expect(textWidth(narrow)).toBe(70);
    expect(narrow).toMatch(/● online .* F2 F3 F10 $/u);
    for (const w of [20, 40, 50]) expect(textWidth(lineText(statusLine(m, w)))).toBe(w);
  });

  it('says in the status bar whether the connection is encrypted, and how the certificate was trusted', () => {
    const m = new ChatModel();
    m.server = 'chat.example:55443';
    m.me = 'ann';
    m.setState('online');
    m.security = 'TLS 1.3 · pinned';
    expect(lineText(statusLine(m, 120))).toMatch(/chat\.example:55443 │ ann │ ● online │ TLS 1\.3 · pinned +F2/u);
    m.security = 'plain';
    expect(lineText(statusLine(m, 120))).toMatch(/● online │ plain +F2/u);
    for (const w of [20, 40, 50]) expect(textWidth(lineText(statusLine(m, w)))).toBe(w);
  });

  it('draws the input with its cursor, scrolled to keep the cursor visible', () => {
    const input = new InputLine();
    input.insert('hello 世界');
    input.left();
    const line = inputLine('[ann] ', input, 30);
    expect(lineText(line)).toBe('[ann] hello 世界');
    expect(line.find((s) => s.s?.includes('inverse'))?.t).toBe('界');
    input.insert('x'.repeat(100));
    expect(lineWidth(inputLine('[ann] ', input, 30))).toBeLessThanOrEqual(30);
  });
});

describe('blessed markup', () => {
  it('escapes braces so text cannot inject tags, and adds the hidden cell after an emoji', () => {
    expect(toTags([{ t: '{bold}x' }])).toBe('{open}bold{close}x');
    expect(toTags([{ t: 'a', s: ['bold'] }])).toBe('{bold}a{/}');
    expect(padWide('😀a')).toBe('😀 a');
    // blessed pads CJK itself.
    expect(padWide('你')).toBe('你');
  });
});

describe('the server prompt', () => {
  it('reads host, host:port and [v6]:port; blank is this machine', () => {
    expect(parseServer('', 55000)).toEqual({ host: '127.0.0.1', port: 55000, tls: false });
    expect(parseServer('chat.lan:6000', 55000)).toEqual({ host: 'chat.lan', port: 6000, tls: false });
    expect(parseServer('[::1]:7', 55000)).toEqual({ host: '::1', port: 7, tls: false });
    expect(parseServer('::1', 55000)).toEqual({ host: '::1', port: 55000, tls: false });
    expect(typeof parseServer('a b', 55000)).toBe('string');
    expect(typeof parseServer('h:99999', 55000)).toBe('string');
    // tls:// asks for TLS, with its own default port; other schemes are refused, not dialled as plain.
    expect(parseServer('tls://chat.lan', 55000, 55443)).toEqual({ host: 'chat.lan', port: 55443, tls: true });
    expect(parseServer('TLS://[::1]:6697/', 55000, 55443)).toEqual({ host: '::1', port: 6697, tls: true });
    expect(parseServer('tls://', 55000, 55443)).toEqual({ host: '127.0.0.1', port: 55443, tls: true });
    expect(parseServer('https://chat.lan', 55000, 55443)).toMatch(/only address scheme is tls:\/\//u);
  });
});
