import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textWidth } from '../src/text/width.js';
import { CLIENT_BIN, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';

const W = 100;
const H = 24;
let server: RunningServer;
let files: Awaited<ReturnType<typeof tempDir>>;
let dl: Awaited<ReturnType<typeof tempDir>>;
const tmux = new Tmux();
// Big enough that the progress bar is on screen for a while on this kind of machine.
const payload = Buffer.alloc(16_000_000).map((_, i) => (i * 31 + (i >> 9)) % 256);

function client(args: string): string {
  return `${process.execPath} ${CLIENT_BIN} --download-dir ${dl.path} ${args}`;
}

/** Every screen line takes exactly `width` cells or ends early: nothing pushed out of place by wide characters. */
function boxesAligned(screen: string, width: number): boolean {
  const lines = screen.split('\n').filter((l) => /^[│┌└├]/u.test(l));
  return lines.length > 0 && lines.every((l) => textWidth(l) === width && (l.endsWith('│') || l.endsWith('┤') || l.endsWith('┐') || l.endsWith('┘')));
}

describe.skipIf(!haveTmux())('the terminal client in tmux, two people and a real server', () => {
  beforeAll(async () => {
    files = await tempDir('parley-e2e-files-');
    dl = await tempDir('parley-e2e-dl-');
    await writeFile(join(files.path, 'photo.jpg'), payload);
    await writeFile(join(files.path, 'notes.txt'), 'notes\n');
    server = await startServer(files.path);
  });

  afterAll(async () => {
    await tmux.kill();
    await server?.stop();
    await files?.remove();
    await dl?.remove();
  });

  it('connects, shows the welcome and the online list, and updates it live', async () => {
    await tmux.start('ann', client(`--host 127.0.0.1 --port ${server.port} --nick ann`), W, H);
    let s = await tmux.waitFor('ann', /Welcome to Parley, ann!/u);
    expect(s).toMatch(/Online \(1\)/u);
    expect(s).toMatch(/F2 online\s+F3 files\s+F10 quit/u);
    expect(s).toMatch(/● online/u);
    await tmux.start('bob', client(`--host 127.0.0.1 --port ${server.port} --nick bob`), W, H);
    await tmux.waitFor('bob', /Welcome to Parley, bob!/u);
    s = await tmux.waitFor('ann', /--> bob joined/u);
    await tmux.waitFor('ann', /Online \(2\)/u);
    expect(s).toMatch(/│\s+bob\s+│/u);
  });

  it('sends broadcasts and private messages both ways, echoing your own', async () => {
    await tmux.type('ann', 'hello everyone');
    await tmux.keys('ann', 'Enter');
    await tmux.waitFor('bob', /<ann> hello everyone/u);
    await tmux.waitFor('ann', /<ann> hello everyone/u);
    await tmux.type('bob', 'ann,psst, a secret');
    await tmux.keys('bob', 'Enter');
    await tmux.waitFor('ann', /\*bob\* \(private\) psst, a secret/u);
    await tmux.waitFor('bob', /-> ann: \(private\) psst, a secret/u);
    await tmux.type('ann', '/msg bob got it');
    await tmux.keys('ann', 'Enter');
    await tmux.waitFor('bob', /\*ann\* \(private\) got it/u);
    await tmux.type('bob', 'broadcast,back to all');
    await tmux.keys('bob', 'Enter');
    await tmux.waitFor('ann', /<bob> back to all/u);
  });

  it('keeps a line whose prefix names nobody online, instead of sending it to everyone', async () => {
    await tmux.type('ann', 'dave,are you there');
    await tmux.keys('ann', 'Enter');
    const s = await tmux.waitFor('ann', /"dave" is not online/u);
    expect(s.trimEnd().split('\n').at(-1)).toMatch(/^\[ann\] dave,are you there/u);
    expect(await tmux.screen('bob')).not.toMatch(/dave,are you there/u);
    // Enter again on the same text: now it is a deliberate message to everyone.
    await tmux.keys('ann', 'Enter');
    await tmux.waitFor('bob', /<ann> dave,are you there/u);
    await tmux.waitFor('ann', (x) => /^\[ann\]\s*$/u.test(x.trimEnd().split('\n').at(-1) ?? ''));
  });

  it('draws emoji and CJK text without pushing the borders out of place', async () => {
    await tmux.type('bob', 'emoji 😀 你好 👍🏽 👨‍👩‍👧 done');
    await tmux.keys('bob', 'Enter');
    const s = await tmux.waitFor('ann', /<bob> emoji 😀 你好 👍/u);
    expect(boxesAligned(s, W)).toBe(true);
  });

  it('asks for the server and a nickname, and lets a refused nickname be replaced', async () => {
    await tmux.start('carol', client('--no-bell'), 80, 20);
    await tmux.waitFor('carol', /Server address \(blank = this machine\):/u);
    await tmux.type('carol', `127.0.0.1:${server.port}`);
    await tmux.keys('carol', 'Enter');
    await tmux.waitFor('carol', /Nickname:/u);
    await tmux.type('carol', 'bob');
    await tmux.keys('carol', 'Enter');
    await tmux.waitFor('carol', /nickname "bob" is taken/u);
    await tmux.waitFor('carol', /Nickname: bob/u);
    await tmux.keys('carol', 'C-u');
    await tmux.type('carol', 'carol');
    await tmux.keys('carol', 'Enter');
    await tmux.waitFor('carol', /Welcome to Parley, carol!/u);
    await tmux.waitFor('ann', /--> carol joined/u);
  });

  it('rings the bell for a private message and a mention of your nick, unless started with --no-bell', async () => {
    const annBells = tmux.bells('ann');
    await tmux.type('bob', '/msg carol psst carol');
    await tmux.keys('bob', 'Enter');
    await tmux.waitFor('carol', /\*bob\* \(private\) psst carol/u);
    await tmux.type('bob', 'what do you think, ann?');
    await tmux.keys('bob', 'Enter');
    await tmux.waitFor('ann', /<bob> what do you think, ann\?/u);
    await tmux.waitForBells('ann', annBells + 1);
    expect(tmux.bells('carol')).toBe(0);
  });

  it('downloads from the files panel with Enter, and shows the verified SHA-256', async ({ skip }) => {
    if (server.udpPort === undefined) skip('this server build has downloads off');
    await tmux.keys('ann', 'F3');
    await tmux.waitFor('ann', /Files \(2\) ▶/u);
    await tmux.waitFor('ann', /notes\.txt/u);
    // Sorted: notes.txt, photo.jpg.
    await tmux.keys('ann', 'Down');
    await tmux.keys('ann', 'Enter');
    const sha = createHash('sha256').update(payload).digest('hex');
    await tmux.waitFor('ann', /downloading photo\.jpg \(15 MB\)/u);
    // While it runs: a bar with percent in the files panel, and rate and ETA in the status bar.
    await tmux.waitFor('ann', (x) => /↓ photo\.jpg\s+\d+%/u.test(x) && /\[#*-+\]/u.test(x) && /↓ photo\.jpg \d+% [\d.]+ [KM]?B\/s ETA/u.test(x));
    await tmux.type('ann', 'chatting meanwhile');
    await tmux.keys('ann', 'Enter');
    await tmux.waitFor('bob', /<ann> chatting meanwhile/u);
    await tmux.waitFor('ann', /✓ photo\.jpg/u, 20_000);
    const s = await tmux.screen('ann');
    const conversation = s.split('\n').map((l) => l.split('│')[1] ?? '').join('').replace(/\s+/gu, '');
    expect(conversation).toContain(`SHA-256${sha}verified`);
    expect(Buffer.compare(await readFile(join(dl.path, 'photo.jpg')), payload)).toBe(0);
    await tmux.keys('ann', 'Escape');
    await tmux.waitFor('ann', /\[ann\]/u);
  });

  it('scrolls back with PgUp, holds still while new messages arrive, and returns with PgDn', async () => {
    // 15 lines: within the server's burst allowance.
    for (let i = 1; i <= 15; i++) await tmux.type('bob', `line ${i}\r`);
    await tmux.waitFor('ann', /<bob> line 15/u);
    await tmux.keys('ann', 'PPage');
    let s = await tmux.waitFor('ann', /scrolled up/u);
    expect(s).not.toMatch(/<bob> line 15/u);
    await tmux.type('bob', 'while you were reading\r');
    await tmux.waitFor('bob', /<bob> while you were reading/u);
    s = await tmux.screen('ann');
    expect(s).not.toMatch(/while you were reading/u);
    await tmux.keys('ann', 'NPage');
    s = await tmux.waitFor('ann', /<bob> while you were reading/u);
    expect(s).not.toMatch(/scrolled up/u);
  });

  it('lays itself out again when the terminal is resized', async () => {
    await tmux.resize('ann', 72, 18);
    let s = await tmux.waitFor('ann', (x) => boxesAligned(x, 72));
    expect(s).toMatch(/Online \(3\)/u);
    await tmux.resize('ann', 50, 16);
    s = await tmux.waitFor('ann', (x) => boxesAligned(x, 50) && !x.includes('Online ('));
    expect(s).toMatch(/<bob> while you were reading/u);
    await tmux.resize('ann', W, H);
    await tmux.waitFor('ann', (x) => boxesAligned(x, W) && x.includes('Online (3)'));
  });

  it('says when the server cannot be reached, and /server switches to another', async () => {
    const free = await startServer(files.path);
    const deadPort = free.port;
    await free.stop();
    await tmux.start('dave', client(`--host 127.0.0.1 --port ${deadPort} --nick dave`), 90, 20);
    await tmux.waitFor('dave', new RegExp(`cannot reach 127\\.0\\.0\\.1:${deadPort} \\(ECONNREFUSED\\)`, 'u'));
    await tmux.type('dave', `/server 127.0.0.1:${server.port}`);
    await tmux.keys('dave', 'Enter');
    await tmux.waitFor('dave', /Welcome to Parley, dave!/u);
    await tmux.waitFor('ann', /--> dave joined/u);
    await tmux.keys('dave', 'F10');
    await tmux.waitFor('dave', /Quit Parley\? \(y\/n\)/u);
    await tmux.keys('dave', 'y');
    expect(await tmux.waitForExit('dave')).toBe(0);
    await tmux.waitFor('ann', /<-- dave left \(quit\)/u);
  });

  it('asks before quitting; the others see the user leave', async () => {
    await tmux.keys('carol', 'F10');
    await tmux.waitFor('carol', /Quit Parley\? \(y\/n\)/u);
    await tmux.keys('carol', 'n');
    await tmux.waitFor('carol', /\[carol\]/u);
    expect(await tmux.exitStatus('carol')).toBeUndefined();
    await tmux.type('carol', '/quit');
    await tmux.keys('carol', 'Enter');
    await tmux.waitFor('carol', /Quit Parley\? \(y\/n\)/u);
    await tmux.keys('carol', 'y');
    expect(await tmux.waitForExit('carol')).toBe(0);
    await tmux.waitFor('ann', /<-- carol left \(quit\)/u);
  });

  it('reconnects under the same nickname when the server restarts', async () => {
    const port = server.port;
    await server.stop();
    await tmux.waitFor('ann', /lost the connection/u);
    await tmux.waitFor('ann', /○ disconnected/u);
    server = await startServer(files.path, { port });
    await tmux.waitFor('ann', /reconnected as ann/u, 20_000);
    await tmux.waitFor('bob', /reconnected as bob/u, 20_000);
    await tmux.waitFor('ann', /● online/u);
    await tmux.type('ann', 'still here');
    await tmux.keys('ann', 'Enter');
    await tmux.waitFor('bob', /<ann> still here/u);
  });

  it('leaves politely when its terminal is closed: the others see "quit", not a dropped connection', async () => {
    await tmux.tmux('kill-session', '-t', 'bob');
    await tmux.waitFor('ann', /<-- bob left \(quit\)/u);
  });
});
