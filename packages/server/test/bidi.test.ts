import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

/** Bidi overrides and isolates reorder what a terminal draws: `evil\u202Etxt.exe` shows as `evilexe.txt` (issue 13 item 11). */

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('bidirectional formatting characters (over TCP)', () => {
  it('refuses them in broadcasts and private messages with BAD_TEXT, and nobody receives anything', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    await alice.waitFor((l) => l === 'joined bob');
    for (const [i, ch] of ['\u202e', '\u2066', '\u200f', '\u061c'].entries()) {
      const answer = await alice.ask(i % 2 ? `bob,see evil${ch}txt.exe` : `broadcast,see evil${ch}txt.exe`, (l) => l.startsWith('error '));
      expect(answer).toMatch(/^error BAD_TEXT :message contains control or bidirectional formatting characters/u);
    }
    alice.send('broadcast,marker');
    await bob.waitFor((l) => l === 'broadcast alice :marker');
    expect(bob.lines.filter((l) => l.includes('evil'))).toEqual([]);
  });

  it('does not offer a file whose name has one, and refuses to download it', async () => {
    t = await startTestServer();
    await writeFile(join(t.filesDir, 'invoice\u202Efdp.exe'), 'x');
    const alice = await t.join('alice');
    expect(await alice.ask('files', (l) => l.startsWith('files '))).toBe('files 0');
    expect(await alice.ask('download,invoice\u202Efdp.exe', (l) => l.startsWith('error '))).toMatch(/^error FILE_NAME_INVALID /u);
  });
});
