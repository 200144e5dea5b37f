import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const isError = (code: string) => (l: string) => l.startsWith(`error ${code} `);

describe('look-alike and invisible nicknames (over TCP)', () => {
  it('refuses a look-alike of someone online as NICK_TAKEN, saying whom it looks like', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const mallory = await t.connect();
    for (const nick of ['\u0430lice', 'AIice', 'a1ice', 'al\u0456ce']) {
      const answer = await mallory.ask(nick, isError('NICK_TAKEN'));
      expect(answer).toBe(`error NICK_TAKEN :nickname "${nick}" looks like "alice", who is online (1 user online). Send another nickname.`);
    }
    // The same nick in another case or width is plainly taken.
    for (const nick of ['Alice', 'ａｌｉｃｅ']) {
      expect(await mallory.ask(nick, isError('NICK_TAKEN'))).toBe(`error NICK_TAKEN :nickname "${nick}" is taken (1 user online). Send another nickname.`);
    }
    await mallory.ask('mallory', (l) => l.startsWith('welcome 2 mallory '));
    await alice.waitFor((l) => l === 'joined mallory');
    expect(await alice.ask('online', (l) => l.startsWith('online '))).toBe('online 2 alice mallory');
    // mallory never got an online list before joining.
    const beforeWelcome = mallory.lines.slice(
      0,
      mallory.lines.findIndex((l) => l.startsWith('welcome ')),
    );
    expect(beforeWelcome.filter((l) => l.startsWith('online '))).toEqual([]);
  });

  it('refuses invisible characters and Hangul fillers with the character named', async () => {
    t = await startTestServer();
    await t.join('alice');
    const c = await t.connect();
    for (const [nick, cp] of [
      ['alice\ufe0f', 'U+FE0F'],
      ['alice\u034f', 'U+034F'],
      ['\u3164', 'U+3164'],
      ['\u115f\u115f', 'U+115F'],
    ] as const) {
      expect(await c.ask(nick, isError('NICK_INVALID'))).toBe(`error NICK_INVALID :nickname contains an invisible character (${cp}). Send another nickname.`);
    }
    expect(await c.ask('x\ufdfa', isError('NICK_INVALID'))).toContain('stands for spaces or punctuation (U+FDFA)');
  });

  it('lets someone online be reached by a look-alike of their name, as the same user', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    bob.send('\u0430lice,psst');
    await alice.waitFor((l) => l === 'private bob alice :psst');
  });
});
