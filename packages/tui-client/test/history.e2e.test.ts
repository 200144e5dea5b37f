import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CuttableRelay } from './helpers/relay.js';
import { CLIENT_BIN, startServer, tempDir } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Another user, in plain TCP, as nc would be. */
async function talker(port: number, nick: string): Promise<{ say(text: string): void; send(line: string): void; lines: string[] }> {
  const lines: string[] = [];
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  cleanups.push(() => void socket.destroy());
  let buf = '';
  socket.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  socket.write(`${nick}\n`);
  return { say: (text) => socket.write(`broadcast,${text}\n`), send: (line) => socket.write(`${line}\n`), lines };
}

const count = (screen: string, text: string): number => screen.split(text).length - 1;

describe.skipIf(!haveTmux())('the terminal client and history, in tmux against a real server', () => {
  it('shows the history on join dimmed above "— earlier —", and PgUp at the top loads the page before', async () => {
    const files = await tempDir('parley-files-');
    const data = await mkdtemp(join(tmpdir(), 'parley-data-'));
    const server = await startServer(files.path, { extra: ['--history', 'on', '--data-dir', data, '--history-on-join', '2'] });
    cleanups.push(async () => {
      await server.stop();
      await files.remove();
      await rm(data, { recursive: true, force: true });
    });
    const tmux = new Tmux();
    cleanups.push(() => tmux.kill());
    const ann = await talker(server.port, 'ann');
    for (let i = 1; i <= 5; i++) ann.say(`old ${i}`);
    // Synced: all five are stored once ann's own history answer has them.
    ann.send('history');
    await expect.poll(() => ann.lines.includes('history end last 5 all'), { timeout: 5000 }).toBe(true);
    await tmux.start('bob', `${process.execPath} ${CLIENT_BIN} --host 127.0.0.1 --port ${server.port} --nick bob`, 100, 40);
    let s = await tmux.waitFor('bob', /— earlier —/u);
    expect([count(s, 'old 1'), count(s, 'old 2'), count(s, 'old 3'), count(s, 'old 4'), count(s, 'old 5')]).toEqual([0, 0, 0, 1, 1]);
    expect(s.indexOf('old 5')).toBeLessThan(s.indexOf('— earlier —'));
    await tmux.keys('bob', 'PPage');
    s = await tmux.waitFor('bob', /old 1/u);
    expect([1, 2, 3, 4, 5].map((i) => count(s, `old ${i}`))).toEqual([1, 1, 1, 1, 1]);
    const order = [1, 2, 3, 4, 5].map((i) => s.indexOf(`old ${i}`));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('shows what was said while its connection was cut exactly once, after "— missed while away —"', async () => {
    const files = await tempDir('parley-files-');
    const data = await mkdtemp(join(tmpdir(), 'parley-data-'));
    const server = await startServer(files.path, { extra: ['--history', 'on', '--data-dir', data, '--history-on-join', '2'] });
    cleanups.push(async () => {
      await server.stop();
      await files.remove();
      await rm(data, { recursive: true, force: true });
    });
    const relay = new CuttableRelay(server.port);
    await relay.listen();
    cleanups.push(() => relay.close());
    const tmux = new Tmux();
    cleanups.push(() => tmux.kill());

    const ann = await talker(server.port, 'ann');
    ann.say('said before bob came');
    await tmux.start('bob', `${process.execPath} ${CLIENT_BIN} --host 127.0.0.1 --port ${relay.port} --nick bob`, 100, 40);
    let s = await tmux.waitFor('bob', /— earlier —/u);
    expect(s).toMatch(/<ann> said before bob came/u);
    ann.say('live 1');
    await tmux.waitFor('bob', /<ann> live 1/u);

    relay.cut();
    // The third mentions bob: live it would ring; missed, it must not.
    for (let i = 1; i <= 5; i++) ann.say(i === 3 ? `while away ${i}, hey bob` : `while away ${i}`);
    // Refused for a while (bob's client keeps trying) as the others talk.
    await expect.poll(() => relay.refused, { timeout: 10_000, interval: 50 }).toBeGreaterThan(1);
    relay.restore();
    s = await tmux.waitFor('bob', /<ann> while away 5/u, 15_000);
    ann.say('after the gap');
    s = await tmux.waitFor('bob', /<ann> after the gap/u);

    expect(count(s, '— missed while away —')).toBe(1);
    for (let i = 1; i <= 5; i++) expect([i, count(s, `while away ${i}`)]).toEqual([i, 1]);
    expect(count(s, 'live 1')).toBe(1);
    expect(count(s, 'said before bob came')).toBe(1);
    const order = ['live 1', '— missed while away —', ...Array.from({ length: 5 }, (_, i) => `while away ${i + 1}`), 'after the gap'].map((t) => s.indexOf(t));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // Missed messages are not news to ring about.
    expect(tmux.bells('bob')).toBe(0);
  });
});
