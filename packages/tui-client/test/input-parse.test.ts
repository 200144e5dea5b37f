import { describe, expect, it } from 'vitest';
import { parseInput, type ParseContext } from '../src/model/input-parse.js';

const online = ['alice', 'Bob', '李雷'];
const ctx: ParseContext = { onlineNick: (n) => online.find((u) => u.toLowerCase() === n.toLowerCase()) };
const parse = (s: string) => parseInput(s, ctx);

describe('parseInput: the original comma grammar', () => {
  it('sends broadcast,<text> to everyone', () => {
    expect(parse('broadcast,hi all')).toEqual({ kind: 'send', command: { type: 'broadcast', text: 'hi all' } });
  });
  it('sends <nick>,<text> privately to an online user, using their nick as spelled by the server', () => {
    expect(parse('bob,hi there')).toEqual({ kind: 'send', command: { type: 'private', to: 'Bob', text: 'hi there' } });
    expect(parse('李雷,你好')).toEqual({ kind: 'send', command: { type: 'private', to: '李雷', text: '你好' } });
  });
  it('understands online, files, download,<file> and exit', () => {
    expect(parse('online')).toEqual({ kind: 'send', command: { type: 'online' } });
    expect(parse(' FILES ')).toEqual({ kind: 'send', command: { type: 'files' } });
    expect(parse('download,photo.jpg')).toEqual({ kind: 'send', command: { type: 'download', file: 'photo.jpg' } });
    expect(parse('exit')).toEqual({ kind: 'local', action: 'quit' });
  });
  it('sends plain text to everyone', () => {
    expect(parse('hello world')).toEqual({ kind: 'send', command: { type: 'broadcast', text: 'hello world' } });
    expect(parse('well then, see you')).toEqual({ kind: 'send', command: { type: 'broadcast', text: 'well then, see you' } });
  });
  it('never broadcasts a line whose prefix names no online user and no command', () => {
    const r = parse('carol,are you there?');
    expect(r.kind).toBe('refuse');
    expect(r.kind === 'refuse' && r.reason).toMatch(/carol.*not online/u);
    // What a deliberate second Enter would send instead.
    expect(r.kind === 'refuse' && r.anyway).toEqual({ type: 'broadcast', text: 'carol,are you there?' });
    expect(parse('hello, world').kind).toBe('refuse');
    expect(parse('all,hi').kind).toBe('refuse');
    expect(parse(',hi').kind).toBe('refuse');
  });
  it('refuses empty messages and arguments after bare commands', () => {
    expect(parse('bob,   ').kind).toBe('refuse');
    expect(parse('broadcast,').kind).toBe('refuse');
    expect(parse('online,now').kind).toBe('refuse');
    expect(parse('download,').kind).toBe('refuse');
  });
  it('ignores a blank line', () => {
    expect(parse('   ')).toEqual({ kind: 'none' });
  });
});

describe('parseInput: slash commands', () => {
  it('maps /msg, /say, /online, /files, /download, /cancel, /quit, /help, /clear', () => {
    expect(parse('/msg alice hi you')).toEqual({ kind: 'send', command: { type: 'private', to: 'alice', text: 'hi you' } });
    expect(parse('/say hi')).toEqual({ kind: 'send', command: { type: 'broadcast', text: 'hi' } });
    expect(parse('/online')).toEqual({ kind: 'send', command: { type: 'online' } });
    expect(parse('/files')).toEqual({ kind: 'send', command: { type: 'files' } });
    expect(parse('/download my photo.jpg')).toEqual({ kind: 'send', command: { type: 'download', file: 'my photo.jpg' } });
    expect(parse('/cancel 12')).toEqual({ kind: 'send', command: { type: 'cancel', transferId: '12' } });
    expect(parse('/quit')).toEqual({ kind: 'local', action: 'quit' });
    expect(parse('/help')).toEqual({ kind: 'local', action: 'help' });
    expect(parse('/clear')).toEqual({ kind: 'local', action: 'clear' });
    expect(parse('/server chat.lan:6000')).toEqual({ kind: 'server', address: 'chat.lan:6000' });
  });
  it("maps the operators' /kick, /ban, /unban and /bans to the comma grammar, and refuses bad ones with the usage", () => {
    expect(parse('/kick mallory stop it now')).toEqual({ kind: 'send', command: { type: 'kick', nick: 'mallory', reason: 'stop it now' } });
    expect(parse('/ban mallory 12h spam, again')).toEqual({
      kind: 'send',
      command: { type: 'ban', target: 'mallory', duration: '12h', reason: 'spam, again' },
    });
    expect(parse('/ban 203.0.113.0/24')).toEqual({ kind: 'send', command: { type: 'ban', target: '203.0.113.0/24', duration: undefined, reason: '' } });
    expect(parse('/unban mallory')).toEqual({ kind: 'send', command: { type: 'unban', target: 'mallory' } });
    expect(parse('/bans')).toEqual({ kind: 'send', command: { type: 'bans' } });
    const bad = parse('/kick');
    expect(bad.kind === 'refuse' && bad.reason).toMatch(/\/kick <nick> \[reason\]$/u);
  });

  it('refuses /msg to something that is not a nickname, and unknown commands', () => {
    // Not online but a nickname: sent, and the server keeps it for a registered user (or answers UNKNOWN_USER).
    expect(parse('/msg carol hi')).toEqual({ kind: 'send', command: { type: 'private', to: 'carol', text: 'hi' } });
    expect(parse('/msg not,a,nick hi').kind).toBe('refuse');
    expect(parse('/msg').kind).toBe('refuse');
    expect(parse('/frobnicate').kind).toBe('refuse');
  });
  it('sends a line starting with // as text beginning with /', () => {
    expect(parse('//shrug')).toEqual({ kind: 'send', command: { type: 'broadcast', text: '/shrug' } });
  });
  it('refuses text that is too long for one protocol line', () => {
    expect(parse('x'.repeat(5000)).kind).toBe('refuse');
  });
});

describe('parseInput: /share', () => {
  it('shares a path with everyone, or with an online nick given last', () => {
    expect(parse('/share ~/photo.jpg')).toEqual({ kind: 'share', path: '~/photo.jpg' });
    expect(parse('/share my file.txt bob')).toEqual({ kind: 'share', path: 'my file.txt', to: 'Bob' });
    // A last word that is nobody online is part of the path.
    expect(parse('/share my file.txt')).toEqual({ kind: 'share', path: 'my file.txt' });
  });
  it('asks for a path', () => {
    expect(parse('/share')).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/usage: \/share <path> \[nick\]/u) });
  });
});
