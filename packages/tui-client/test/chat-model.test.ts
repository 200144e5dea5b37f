import { describe, expect, it } from 'vitest';
import { ChatModel, mentions } from '../src/model/chat-model.js';
import { TransferTable } from '../src/model/transfers.js';
import { formatBytes, formatEta, progressBar } from '../src/model/format.js';

function model(): ChatModel {
  let t = Date.UTC(2026, 0, 1, 12, 0);
  return new ChatModel({ now: () => (t += 1000) });
}

describe('ChatModel', () => {
  it('learns its nick from welcome and keeps the online list sorted and live', () => {
    const m = model();
    m.apply({ type: 'welcome', version: 1, nick: 'me', text: 'Welcome to Parley, me!' });
    m.apply({ type: 'online', nicks: ['zed', 'me', 'Alice'] });
    expect(m.me).toBe('me');
    expect(m.users).toEqual(['Alice', 'me', 'zed']);
    m.apply({ type: 'joined', nick: 'bob' });
    m.apply({ type: 'left', nick: 'ZED', reason: 'quit' });
    expect(m.users).toEqual(['Alice', 'bob', 'me']);
    expect(m.messages.all.map((x) => [x.kind, x.text])).toEqual([
      ['info', 'Welcome to Parley, me!'],
      ['join', 'bob joined'],
      ['leave', 'ZED left (quit)'],
    ]);
  });
  it('shows waiting messages as private ones that ring, and moderation as status lines (an address never named)', () => {
    const m = model();
    m.apply({ type: 'welcome', version: 2, nick: 'me', text: 'hi' });
    expect(m.apply({ type: 'waited', from: 'bob', time: '2026-01-01T09:30:00.000Z', text: 'ping me' }).bell).toBe(true);
    expect(m.messages.last()).toMatchObject({ kind: 'private-in', from: 'bob', text: 'ping me  (sent 2026-01-01 09:30 UTC while you were away)' });
    m.apply({ type: 'waiting', to: 'zed', count: 2, text: '…' });
    m.apply({ type: 'kicked', nick: 'mallory', by: 'alice', reason: 'spam' });
    m.apply({ type: 'banned', ban: { kind: 'address', target: '', by: 'alice', reason: '' } });
    m.apply({ type: 'unbanned', kind: 'nick', target: 'mallory', by: 'alice' });
    expect(m.messages.all.slice(-4).map((x) => x.text)).toEqual([
      'zed is offline: your message waits for them (2 waiting)',
      'alice kicked mallory: spam',
      'alice banned an address',
      'alice lifted the ban on mallory',
    ]);
  });
  it('timestamps every message', () => {
    const m = model();
    m.apply({ type: 'broadcast', from: 'bob', text: 'hi' });
    expect(m.messages.last()?.at).toBeGreaterThan(Date.UTC(2026, 0, 1));
  });
  it('rings the bell for a mention and a private message, not for other chat', () => {
    const m = model();
    m.apply({ type: 'welcome', version: 1, nick: 'Me', text: 'hi' });
    expect(m.apply({ type: 'broadcast', from: 'bob', text: 'hello all' }).bell).toBe(false);
    expect(m.apply({ type: 'broadcast', from: 'bob', text: 'hey me: look' }).bell).toBe(true);
    expect(m.messages.last()?.mention).toBe(true);
    expect(m.apply({ type: 'private', from: 'bob', to: 'Me', text: 'psst' }).bell).toBe(true);
    expect(m.messages.last()?.kind).toBe('private-in');
  });
  it('prints the online and files lists only when the user asked for them', () => {
    const m = model();
    m.apply({
      type: 'files',
      files: [
        { name: 'b.txt', size: 3 },
        { name: 'a.jpg', size: 2048 },
      ],
    });
    expect(m.messages.length).toBe(0);
    expect(m.files.map((f) => f.name)).toEqual(['a.jpg', 'b.txt']);
    m.showNextFiles = true;
    m.apply({ type: 'files', files: [{ name: 'a.jpg', size: 2048 }] });
    expect(m.messages.last()?.text).toBe('files (1): a.jpg (2.0 KB)');
  });
  it('keeps at most its limit of messages', () => {
    const m = new ChatModel({ messageLimit: 3 });
    for (let i = 0; i < 5; i++) m.system(`n${i}`);
    expect(m.messages.all.map((x) => x.text)).toEqual(['n2', 'n3', 'n4']);
  });
  it('finds mentions as whole words only', () => {
    expect(mentions('ping bob.', 'Bob')).toBe(true);
    expect(mentions('bobby tables', 'bob')).toBe(false);
  });
});

describe('TransferTable and formatting', () => {
  it('tracks a download from offer to done', () => {
    const t = new TransferTable();
    t.add({ id: 7, name: 'a.bin', size: 1000, sha256: 'x', path: '/tmp/a.bin', startedAt: 0 });
    t.progress(7, { bytes: 500, rateBytesPerSec: 100, etaSec: 5 });
    expect(t.active.map((x) => [x.state, x.bytes])).toEqual([['active', 500]]);
    t.finish(7, 10, '/tmp/a.bin');
    expect(t.active).toEqual([]);
    expect(t.get(7)?.state).toBe('done');
  });
  it('formats sizes, times and bars', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(formatEta(75)).toBe('1m15s');
    expect(progressBar(1, 2, 10)).toBe('[#####-----]');
  });
});
