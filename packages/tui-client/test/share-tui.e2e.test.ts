import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_BIN, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';

let files: Awaited<ReturnType<typeof tempDir>>;
let data: Awaited<ReturnType<typeof tempDir>>;
let dl: Awaited<ReturnType<typeof tempDir>>;
let src: Awaited<ReturnType<typeof tempDir>>;
let server: RunningServer;
let tmux: Tmux;
// Big enough that the progress is on screen for a while on this kind of machine (as in tui.e2e's download).
const payload = Buffer.alloc(16_000_000).map((_, i) => (i * 131 + (i >> 11)) % 256);

function client(nick: string): string {
  return `${process.execPath} ${CLIENT_BIN} --download-dir ${dl.path} --host 127.0.0.1 --port ${server.port} --nick ${nick}`;
}

async function enter(nick: string): Promise<void> {
  await tmux.start(nick, client(nick), 100, 24);
  await tmux.waitFor(nick, new RegExp(`Welcome to Parley, ${nick}!`, 'u'));
}

async function say(nick: string, text: string): Promise<void> {
  await tmux.type(nick, text);
  await tmux.keys(nick, 'Enter');
}

/** The conversation pane's text on one line, without the box and spaces (long lines wrap). */
function conversation(screen: string): string {
  return screen
    .split('\n')
    .map((l) => l.split('│')[1] ?? '')
    .join('')
    .replace(/\s+/gu, '');
}

describe.skipIf(!haveTmux())('/share in the terminal client, in tmux, against a real server', () => {
  beforeAll(async () => {
    files = await tempDir('parley-share-files-');
    data = await tempDir('parley-share-data-');
    dl = await tempDir('parley-share-dl-');
    src = await tempDir('parley-share-src-');
    await writeFile(join(src.path, 'big.bin'), payload);
    await writeFile(join(src.path, 'note.txt'), 'for bob only\n');
  });

  beforeEach(async () => {
    tmux = new Tmux();
    server = await startServer(files.path, { extra: ['--data-dir', data.path, '--share-min-free-disk', '0'] });
  });

  afterEach(async () => {
    await tmux.kill();
    await server.stop();
  });

  afterAll(async () => {
    for (const d of [files, data, dl, src]) await d?.remove();
  });

  it('shares a file with everyone with progress (rate, ETA), and another user downloads it verified', async ({ skip }) => {
    if (server.udpPort === undefined) skip('this server build has downloads off');
    await enter('ann');
    await enter('bob');
    await tmux.waitFor('ann', /Online \(2\)/u);
    await say('ann', `/share ${join(src.path, 'big.bin')}`);
    await tmux.waitFor('ann', /sharing big\.bin \(15 MB\)/u);
    // While it runs: the upload in the status bar with percent, rate and ETA.
    await tmux.waitFor('ann', (x) => /↑ big\.bin \d+% [\d.]+ [KM]?B\/s ETA/u.test(x));
    await tmux.waitFor('ann', (x) => conversation(x).includes('yousharedbig.bin(15MB)'), 20_000);
    await tmux.waitFor('bob', (x) => conversation(x).includes('annsharedbig.bin(15MB)—/downloadbig.bin'));
    await say('bob', '/download big.bin');
    const sha = createHash('sha256').update(payload).digest('hex');
    await tmux.waitFor('bob', (x) => conversation(x).includes(`SHA-256${sha}verified`), 20_000);
    expect(Buffer.compare(await readFile(join(dl.path, 'big.bin')), payload)).toBe(0);
  });

  it('shares with one user: only they are told', async ({ skip }) => {
    if (server.udpPort === undefined) skip('this server build has downloads off');
    await enter('ann');
    await enter('bob');
    await enter('cid');
    await tmux.waitFor('ann', /Online \(3\)/u);
    await say('ann', `/share ${join(src.path, 'note.txt')} bob`);
    await tmux.waitFor('ann', (x) => conversation(x).includes('yousharednote.txt(13B)withbob'));
    await tmux.waitFor('bob', (x) => conversation(x).includes('annsharednote.txt(13B)withyou—/downloadnote.txt'));
    // A later marker for cid, then nothing about the file on its screen.
    await say('ann', 'marker after the share');
    const s = await tmux.waitFor('cid', /<ann> marker after the share/u);
    expect(s).not.toMatch(/note\.txt/u);
  });
});
