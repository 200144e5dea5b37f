import { describe, expect, it } from 'vitest';
import { ACCOUNT_WORDS, checkNickname, encodeCommand, parseCommand, RESERVED_NICKS, type Command } from '../src/index.js';

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

describe('account and moderation commands', () => {
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

  it('parse kick, ban (with and without a duration), unban and bans', () => {
    expect(parsed('kick,mallory')).toEqual({ type: 'kick', nick: 'mallory', reason: '' });
    expect(parsed('kick, mallory ,spamming, again')).toEqual({ type: 'kick', nick: 'mallory', reason: 'spamming, again' });
    expect(parsed('ban,mallory,12h,spam')).toEqual({ type: 'ban', target: 'mallory', duration: '12h', reason: 'spam' });
    expect(parsed('ban,203.0.113.0/24,flood from here')).toEqual({ type: 'ban', target: '203.0.113.0/24', duration: undefined, reason: 'flood from here' });
    expect(parsed('ban,mallory')).toEqual({ type: 'ban', target: 'mallory', duration: undefined, reason: '' });
    expect(parsed('unban,mallory')).toEqual({ type: 'unban', target: 'mallory' });
    expect(parsed('bans')).toEqual({ type: 'bans' });
    expect(refused('bans,x')).toMatch(/bans takes no argument/u);
    expect(refused('kick,not a nick!')).toMatch(/is not a nickname/u);
    expect(refused('kick,mallory,bad\u202ereason')).toMatch(/bidirectional/u);
    expect(refused('ban,')).toMatch(/^BAD_ARGUMENTS/u);
  });

  it('encode to lines that parse back to the same command', () => {
    const commands: Command[] = [
      { type: 'register', password: 'pa ss, word' },
      { type: 'login', password: 'x y' },
      { type: 'password', old: 'old', new: 'n,ew' },
      { type: 'unregister', password: 'pw' },
      { type: 'kick', nick: 'bob', reason: 'rude' },
      { type: 'ban', target: 'bob', duration: '7d', reason: 'spam, twice' },
      { type: 'ban', target: '2001:db8::/48', duration: undefined, reason: '' },
      { type: 'unban', target: 'bob' },
      { type: 'bans' },
    ];
    for (const c of commands) expect(parsed(encodeCommand(c))).toEqual(c);
  });

  it('reserve their words as nicknames, so `login,hi` can never be a private message', () => {
    for (const word of ACCOUNT_WORDS) {
      expect(RESERVED_NICKS.has(word)).toBe(true);
      expect(checkNickname(word).ok).toBe(false);
    }
  });
});
