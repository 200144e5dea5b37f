import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_WORDS,
  checkNickname,
  encodeCommand,
  encodeModerationCommand,
  MODERATION_WORDS,
  parseCommand,
  parseModerationCommand,
  RESERVED_NICKS,
  type Command,
  type ModerationCommand,
} from '../src/index.js';

function parsed(line: string): Command | null {
  const r = parseCommand(line);
  if (!r.ok) throw new Error(`${line}: ${r.error.wireCode} ${r.error.message}`);
  return r.command;
}

function refused(line: string): string {
  const r = parseCommand(line);
  if (r.ok) throw new Error(`${line} was accepted`);
  return `${r.error.wireCode} ${r.error.message}`;
}

function moderation(line: string): ModerationCommand | string {
  const comma = line.indexOf(',');
  const word = (comma === -1 ? line : line.slice(0, comma)).trim().toLowerCase() as (typeof MODERATION_WORDS)[number];
  const r = parseModerationCommand(word, comma === -1 ? undefined : line.slice(comma + 1));
  return r.ok ? r.command : `${r.error.wireCode} ${r.error.message}`;
}

describe('account commands', () => {
  it('take the password as typed, commas and spaces included for login/register/unregister', () => {
    expect(parsed('register,correct horse battery')).toEqual({ type: 'register', password: 'correct horse battery' });
    expect(parsed('LOGIN, spaced ')).toEqual({ type: 'login', password: ' spaced ' });
    expect(parsed('unregister,a,b')).toEqual({ type: 'unregister', password: 'a,b' });
    expect(parsed('password,old-one,new one, with comma')).toEqual({ type: 'password', old: 'old-one', new: 'new one, with comma' });
    expect(refused('login')).toMatch(/^BAD_ARGUMENTS login needs an argument: login,<password>$/u);
    expect(refused('login,')).toMatch(/^BAD_ARGUMENTS/u);
    expect(refused('password,only-old')).toMatch(/old and the new password/u);
    expect(refused('password,,new')).toMatch(/old and the new password/u);
  });

  it('encode to lines that parse back to the same command', () => {
    const commands: Command[] = [
      { type: 'register', password: 'pa ss, word' },
      { type: 'login', password: 'x y' },
      { type: 'password', old: 'old', new: 'n,ew' },
      { type: 'unregister', password: 'pw' },
    ];
    for (const c of commands) expect(parsed(encodeCommand(c))).toEqual(c);
  });
});

describe('moderation commands (parsed, not routed by parseCommand yet)', () => {
  it('parse kick, ban (with and without a duration), unban and bans', () => {
    expect(moderation('kick,mallory')).toEqual({ type: 'kick', nick: 'mallory', reason: '' });
    expect(moderation('kick, mallory ,spamming, again')).toEqual({ type: 'kick', nick: 'mallory', reason: 'spamming, again' });
    expect(moderation('ban,mallory,12h,spam')).toEqual({ type: 'ban', target: 'mallory', duration: '12h', reason: 'spam' });
    expect(moderation('ban,203.0.113.0/24,flood from here')).toEqual({ type: 'ban', target: '203.0.113.0/24', duration: undefined, reason: 'flood from here' });
    expect(moderation('unban,mallory')).toEqual({ type: 'unban', target: 'mallory' });
    expect(moderation('bans')).toEqual({ type: 'bans' });
    expect(moderation('bans,x')).toMatch(/bans takes no argument/u);
    expect(moderation('kick,not a nick!')).toMatch(/is not a nickname/u);
    expect(moderation('kick,mallory,bad\u202ereason')).toMatch(/bidirectional/u);
    for (const c of [
      { type: 'kick', nick: 'bob', reason: 'rude' },
      { type: 'ban', target: 'bob', duration: '7d', reason: 'spam, twice' },
      { type: 'ban', target: '2001:db8::/48', duration: undefined, reason: '' },
      { type: 'unban', target: 'bob' },
      { type: 'bans' },
    ] as ModerationCommand[]) {
      expect(moderation(encodeModerationCommand(c))).toEqual(c);
    }
  });

  it('read login,token,<64 hex> as a resume, never as a password (a password has no comma)', () => {
    const token = 'c0'.repeat(32);
    expect(parseCommand(`login,token,${token}`)).toEqual({ ok: true, command: { type: 'resume', token } });
    expect(encodeCommand({ type: 'resume', token })).toBe(`login,token,${token}`);
    expect(refused('login,token,xyz')).toMatch(/^BAD_ARGUMENTS a resume token is 64 hex digits/u);
    expect(parseCommand('login,token and more')).toEqual({ ok: true, command: { type: 'login', password: 'token and more' } });
  });

  it('are routed by parseCommand (never read as a private message to a user named kick)', () => {
    expect(parseCommand('kick,mallory,spam')).toEqual({ ok: true, command: { type: 'kick', nick: 'mallory', reason: 'spam' } });
    expect(parseCommand('BANS')).toEqual({ ok: true, command: { type: 'bans' } });
    expect(parseCommand('ban,203.0.113.0/24,1h,bots')).toEqual({
      ok: true,
      command: { type: 'ban', target: '203.0.113.0/24', duration: '1h', reason: 'bots' },
    });
    expect(refused('kick')).toMatch(/^BAD_ARGUMENTS/u);
    expect(refused('bans,x')).toMatch(/^BAD_ARGUMENTS/u);
    for (const c of [
      { type: 'unban', target: 'mallory' },
      { type: 'kick', nick: 'bob', reason: '' },
    ] as const) {
      expect(parseCommand(encodeCommand(c))).toEqual({ ok: true, command: c });
    }
  });
});

describe('reserved words', () => {
  it('every account and moderation word is a reserved nickname, so `login,hi` can never be a private message', () => {
    for (const word of [...ACCOUNT_WORDS, ...MODERATION_WORDS]) {
      expect(RESERVED_NICKS.has(word)).toBe(true);
      expect(checkNickname(word).ok).toBe(false);
    }
  });
});
