import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { textWidth } from '../src/text/width.js';
import { CLIENT_BIN, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';

const W = 100;
const H = 24;
let files: Awaited<ReturnType<typeof tempDir>>;
let dl: Awaited<ReturnType<typeof tempDir>>;
// Each test has its own server and its own tmux server with its own clients: one failure is one failure.
let server: RunningServer;
let tmux: Tmux;
// Big enough that the progress bar is on screen for a while on this kind of machine.
const payload = Buffer.alloc(16_000_000).map((_, i) => (i * 31 + (i >> 9)) % 256);

function client(args: string): string {
  return `${process.execPath} ${CLIENT_BIN} --download-dir ${dl.path} ${args}`;
}

/** Starts `nick` on this test's server (in its own tmux session) and waits for the welcome. */
async function enter(nick: string, opts: { flags?: string; width?: number; height?: number } = {}): Promise<void> {
  await tmux.start(nick, client(`--host 127.0.0.1 --port ${server.port} --nick ${nick} ${opts.flags ?? ''}`), opts.width ?? W, opts.height ?? H);
  await tmux.waitFor(nick, new RegExp(`Welcome to Parley, ${nick}!`, 'u'));
}

/** Starts everyone in order; returns when the first one lists them all as online (so all are joined). */
async function people(...nicks: string[]): Promise<void> {
  for (const n of nicks) await enter(n);
  await tmux.waitFor(nicks[0] as string, new RegExp(`Online \\(${nicks.length}\\)`, 'u'));
}

async function say(nick: string, text: string): Promise<void> {
  await tmux.type(nick, text);
  await tmux.keys(nick, 'Enter');
}

function count(screen: string, text: string): number {
  return screen.split(text).length - 1;
}

/** Every screen line takes exactly `width` cells or ends early: nothing pushed out of place by wide characters. */
function boxesAligned(screen: string, width: number): boolean {
  const lines = screen.split('\n').filter((l) => /^[│┌└├]/u.test(l));
  return lines.length > 0 && lines.every((l) => textWidth(l) === width && (l.endsWith('│') || l.endsWith('┤') || l.endsWith('┐') || l.endsWith('┘')));
}

describe.skipIf(!haveTmux())('the terminal client in tmux, against a real server', () => {
  beforeAll(async () => {
    files = await tempDir('parley-e2e-files-');
    dl = await tempDir('parley-e2e-dl-');
    await writeFile(join(files.path, 'photo.jpg'), payload);
    await writeFile(join(files.path, 'notes.txt'), 'notes\n');
  });

  beforeEach(async () => {
    tmux = new Tmux();
    server = await startServer(files.path);
  });

  afterEach(async () => {
    await tmux.kill();
    await server.stop();
  });

  afterAll(async () => {
    await files?.remove();
    await dl?.remove();
  });

  it('connects, shows the welcome and the online list, and updates it live', async () => {
    await tmux.start('ann', client(`--host 127.0.0.1 --port ${server.port} --nick ann`), W, H);
    let s = await tmux.waitFor('ann', /Welcome to Parley, ann!/u);
    expect(s).toMatch(/Online \(1\)/u);
    expect(s).toMatch(/F2 online\s+F3 files\s+F10 quit/u);
    expect(s).toMatch(/● online/u);
    await enter('bob');
    s = await tmux.waitFor('ann', /--> bob joined/u);
    await tmux.waitFor('ann', /Online \(2\)/u);
    expect(s).toMatch(/│\s+bob\s+│/u);
  });

  it('sends broadcasts and private messages both ways, echoing your own', async () => {
    await people('ann', 'bob');
    await say('ann', 'hello everyone');
    await tmux.waitFor('bob', /<ann> hello everyone/u);
    await tmux.waitFor('ann', /<ann> hello everyone/u);
    await say('bob', 'ann,psst, a secret');
    await tmux.waitFor('ann', /\*bob\* \(private\) psst, a secret/u);
    await tmux.waitFor('bob', /-> ann: \(private\) psst, a secret/u);
    await say('ann', '/msg bob got it');
    await tmux.waitFor('bob', /\*ann\* \(private\) got it/u);
    await say('bob', 'broadcast,back to all');
    await tmux.waitFor('ann', /<bob> back to all/u);
  });

  it('keeps a line whose prefix names nobody online, instead of sending it to everyone', async () => {
    await people('ann', 'bob');
    await say('ann', 'dave,are you there');
    const s = await tmux.waitFor('ann', /"dave" is not online/u);
    expect(s.trimEnd().split('\n').at(-1)).toMatch(/^\[ann\] dave,are you there/u);
    // Enter again on the same text: now it is a deliberate message to everyone.
    await tmux.keys('ann', 'Enter');
    await tmux.waitFor('ann', (x) => /^\[ann\]\s*$/u.test(x.trimEnd().split('\n').at(-1) ?? ''));
    await say('ann', 'marker after');
    // Everything ann sent has reached bob: he has the deliberate line once, not twice.
    const b = await tmux.waitFor('bob', /<ann> marker after/u);
    expect(count(b, 'dave,are you there')).toBe(1);
  });

  it('draws emoji and CJK text without pushing the borders out of place', async () => {
    await people('ann', 'bob');
    await say('bob', 'emoji 😀 你好 👍🏽 👨‍👩‍👧 done');
    const s = await tmux.waitFor('ann', /<bob> emoji 😀 你好 👍/u);
    expect(boxesAligned(s, W)).toBe(true);
  });

  it('asks for the server and a nickname, and lets a refused nickname be replaced', async () => {
    await people('ann', 'bob');
    await tmux.start('carol', client('--no-bell'), 80, 20);
    await tmux.waitFor('carol', /Server address \(blank = this machine\):/u);
    await say('carol', `127.0.0.1:${server.port}`);
    await tmux.waitFor('carol', /Nickname:/u);
    await say('carol', 'bob');
    await tmux.waitFor('carol', /nickname "bob" is taken/u);
    await tmux.waitFor('carol', /Nickname: bob/u);
    await tmux.keys('carol', 'C-u');
    await say('carol', 'carol');
    await tmux.waitFor('carol', /Welcome to Parley, carol!/u);
    await tmux.waitFor('ann', /--> carol joined/u);
  });

  it('rings the bell for a private message and a mention of your nick, unless started with --no-bell', async () => {
    await people('ann', 'bob');
    await enter('carol', { flags: '--no-bell' });
    await tmux.waitFor('bob', /Online \(3\)/u);
    const annBells = tmux.bells('ann');
    await say('bob', '/msg carol psst carol');
    await tmux.waitFor('carol', /\*bob\* \(private\) psst carol/u);
    await say('bob', 'what do you think, ann?');
    await tmux.waitFor('ann', /<bob> what do you think, ann\?/u);
    await tmux.waitForBells('ann', annBells + 1);
    // Carol has seen the later broadcast too, so her bell had every chance to ring.
    await tmux.waitFor('carol', /<bob> what do you think, ann\?/u);
    expect(tmux.bells('carol')).toBe(0);
  });

  it('downloads from the files panel with Enter, and shows the verified SHA-256', async ({ skip }) => {
    if (server.udpPort === undefined) skip('this server build has downloads off');
    await people('ann', 'bob');
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
    await say('ann', 'chatting meanwhile');
    await tmux.waitFor('bob', /<ann> chatting meanwhile/u);
    await tmux.waitFor('ann', /✓ photo\.jpg/u, 20_000);
    const s = await tmux.screen('ann');
    const conversation = s
      .split('\n')
      .map((l) => l.split('│')[1] ?? '')
      .join('')
      .replace(/\s+/gu, '');
    expect(conversation).toContain(`SHA-256${sha}verified`);
    expect(Buffer.compare(await readFile(join(dl.path, 'photo.jpg')), payload)).toBe(0);
    await tmux.keys('ann', 'Escape');
    await tmux.waitFor('ann', /\[ann\]/u);
  });

  it('scrolls back with PgUp, holds still while new messages arrive, and returns with PgDn', async () => {
    await people('ann', 'bob', 'carol');
    // 15 lines: within the server's burst allowance.
    for (let i = 1; i <= 15; i++) await tmux.type('bob', `line ${i}\r`);
    await tmux.waitFor('ann', /<bob> line 15/u);
    await tmux.keys('ann', 'PPage');
    let s = await tmux.waitFor('ann', /scrolled up/u);
    expect(s).not.toMatch(/<bob> line 15/u);
    await say('bob', 'while you were reading');
    // Carol has it, so the server has sent it to ann too; then carol leaves, and ann's online
    // list (not scrolled) changing proves ann has read everything before it.
    await tmux.waitFor('carol', /<bob> while you were reading/u);
    await tmux.tmux('kill-session', '-t', 'carol');
    s = await tmux.waitFor('ann', /Online \(2\)/u);
    expect(s).toMatch(/scrolled up/u);
    expect(s).not.toMatch(/while you were reading/u);
    await tmux.keys('ann', 'NPage');
    s = await tmux.waitFor('ann', /<bob> while you were reading/u);
    expect(s).not.toMatch(/scrolled up/u);
  });

  it('lays itself out again when the terminal is resized', async () => {
    await people('ann', 'bob', 'carol');
    await say('bob', 'before the resize');
    await tmux.waitFor('ann', /<bob> before the resize/u);
    await tmux.resize('ann', 72, 18);
    let s = await tmux.waitFor('ann', (x) => boxesAligned(x, 72));
    expect(s).toMatch(/Online \(3\)/u);
    await tmux.resize('ann', 50, 16);
    s = await tmux.waitFor('ann', (x) => boxesAligned(x, 50) && !x.includes('Online ('));
    expect(s).toMatch(/<bob> before the resize/u);
    await tmux.resize('ann', W, H);
    await tmux.waitFor('ann', (x) => boxesAligned(x, W) && x.includes('Online (3)'));
  });

  it('says when the server cannot be reached, and /server switches to another', async () => {
    await people('ann');
    const free = await startServer(files.path);
    const deadPort = free.port;
    await free.stop();
    await tmux.start('dave', client(`--host 127.0.0.1 --port ${deadPort} --nick dave`), 90, 20);
    await tmux.waitFor('dave', new RegExp(`cannot reach 127\\.0\\.0\\.1:${deadPort} \\(ECONNREFUSED\\)`, 'u'));
    await say('dave', `/server 127.0.0.1:${server.port}`);
    await tmux.waitFor('dave', /Welcome to Parley, dave!/u);
    await tmux.waitFor('ann', /--> dave joined/u);
    await tmux.keys('dave', 'F10');
    await tmux.waitFor('dave', /Quit Parley\? \(y\/n\)/u);
    await tmux.keys('dave', 'y');
    expect(await tmux.waitForExit('dave')).toBe(0);
    await tmux.waitFor('ann', /<-- dave left \(quit\)/u);
  });

  it('asks before quitting; the others see the user leave', async () => {
    await people('ann', 'carol');
    await tmux.keys('carol', 'F10');
    await tmux.waitFor('carol', /Quit Parley\? \(y\/n\)/u);
    await tmux.keys('carol', 'n');
    await tmux.waitFor('carol', /\[carol\]/u);
    expect(await tmux.exitStatus('carol')).toBeUndefined();
    await say('carol', '/quit');
    await tmux.waitFor('carol', /Quit Parley\? \(y\/n\)/u);
    await tmux.keys('carol', 'y');
    expect(await tmux.waitForExit('carol')).toBe(0);
    await tmux.waitFor('ann', /<-- carol left \(quit\)/u);
  });

  it('reconnects under the same nickname when the server restarts', async () => {
    await people('ann', 'bob');
    const port = server.port;
    await server.stop();
    await tmux.waitFor('ann', /lost the connection/u);
    await tmux.waitFor('ann', /○ disconnected/u);
    server = await startServer(files.path, { port });
    await tmux.waitFor('ann', /reconnected as ann/u, 20_000);
    await tmux.waitFor('bob', /reconnected as bob/u, 20_000);
    await tmux.waitFor('ann', /● online/u);
    await say('ann', 'still here');
    await tmux.waitFor('bob', /<ann> still here/u);
  });

  it('leaves politely when its terminal is closed: the others see "quit", not a dropped connection', async () => {
    await people('ann', 'bob');
    await tmux.tmux('kill-session', '-t', 'bob');
    await tmux.waitFor('ann', /<-- bob left \(quit\)/u);
  });
});
