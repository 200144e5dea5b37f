import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOSTILE, HostileServer, TERMINAL_CONTROL } from './helpers/hostile-server.js';
import { CLIENT_BIN, runClient, tempDir } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';

/**
 * The client against a server that lies (issue 13, items 7 and 8): the real
 * scripted binary over a real TCP socket and a real UDP socket.
 */
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function hostile(script: ConstructorParameters<typeof HostileServer>[0]) {
  const server = new HostileServer(script);
  const ports = await server.start();
  cleanup.push(() => server.close());
  const root = await tempDir('parley-hostile-');
  cleanup.push(root.remove);
  return { server, ...ports, root: root.path };
}

const welcome = (nick: string, others: string[] = []): string => `welcome 1 ${nick} :hi\nonline ${others.length + 1} ${nick} ${others.join(' ')}`.trimEnd();

/** Every file under `dir`, as paths relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('the client against a hostile server: downloads', () => {
  it('downloads only the file it asked for: unsolicited, ../ and repeated offers create nothing and send nothing', async () => {
    const { server, port, root } = await hostile((line, reply, s) => {
      if (!line.includes(',')) {
        // Offers before anything was asked for.
        reply(welcome(line));
        reply(s.offer(900, 'evil.sh'));
        reply(s.offer(901, '../escape.txt'));
        return;
      }
      if (line !== 'download,data.bin') return;
      for (let i = 0; i < 40; i++) reply(s.offer(100 + i, `junk-${i}.bin`));
      reply(s.offer(150, '..%2F..%2Fdata.bin'));
      reply(s.offer(151, '..'));
      reply(s.offer(152, '.bashrc'));
      reply(s.offer(153, 'data.bin%1B]0;x%07'));
      // The one it asked for comes last: its UDP REQUEST is the marker that every offer before it was read.
      reply(s.offer(7, 'data.bin'));
      for (let i = 0; i < 5; i++) reply(s.offer(200 + i, 'data.bin'));
    });
    const dl = join(root, 'dl');
    const r = await runClient(['download', 'data.bin', '--host', '127.0.0.1', '--port', String(port), '--nick', 'ann', '--download-dir', dl], { cwd: root });
    // The server cancels the transfer it offered (the test has no file to send): exit 1, after the REQUEST for transfer 7.
    expect(r.code, r.stderr).toBe(1);
    expect(server.udpTransferIds).toEqual([7]);
    expect(r.stderr).toMatch(/download of data\.bin failed: .*TRANSFER_CANCELLED/u);
    expect(r.stderr).toMatch(/ignored an offer of "junk-39\.bin" from the server: nobody asked for it/u);
    expect(r.stderr).toMatch(/ignored an offer of "\.\.\/\.\.\/data\.bin" from the server: nobody asked for it/u);
    expect(r.stderr).not.toMatch(TERMINAL_CONTROL);
    // Nothing but data.bin's partial file, and nothing beside the download folder.
    expect(tree(root).filter((f) => !f.startsWith('dl'))).toEqual([]);
    expect(tree(dl).every((f) => f.startsWith('data.bin'))).toBe(true);
    expect(existsSync(join(root, '..', 'escape.txt'))).toBe(false);
  });
});

describe.skipIf(!haveTmux())('the chat screen against a hostile server', () => {
  const tmux = new Tmux();
  afterEach(() => tmux.kill());

  it('shows unsolicited and repeated offers as warnings and downloads only the file the user asked for', async () => {
    const { server, port, root } = await hostile((line, reply, s) => {
      if (line === 'files') return reply('files 1 data.bin 1000');
      if (!line.includes(',')) {
        reply(welcome(line));
        reply(s.offer(900, 'evil.sh'));
        reply(s.offer(901, '../escape.txt'));
        return;
      }
      if (line !== 'download,data.bin') return;
      for (let i = 0; i < 5; i++) reply(s.offer(100 + i, `junk-${i}.bin`));
      reply(s.offer(150, '..%2F..%2Fdata.bin'));
      reply(s.offer(7, 'data.bin'));
      for (let i = 0; i < 3; i++) reply(s.offer(200 + i, 'data.bin'));
      // A later marker: once it is on screen, every offer above has been read.
      reply('broadcast zed :marker-after-offers');
    });
    const dl = join(root, 'dl');
    await tmux.start('ann', `cd ${root} && ${process.execPath} ${CLIENT_BIN} --download-dir ${dl} --host 127.0.0.1 --port ${port} --nick ann`, 170, 40);
    await tmux.waitFor('ann', /ignored an offer of "\.\.\/escape\.txt" from the server: nobody asked for it/u);
    await tmux.type('ann', '/download data.bin');
    await tmux.keys('ann', 'Enter');
    const screen = await tmux.waitFor('ann', (sc) => sc.includes('marker-after-offers') && /download of data\.bin failed/u.test(sc));
    expect(server.udpTransferIds).toEqual([7]);
    expect(screen.match(/ignored an offer of "data\.bin" from the server: nobody asked for it/gu)).toHaveLength(3);
    expect(screen).toMatch(/ignored an offer of "junk-4\.bin"/u);
    expect(screen).toMatch(/ignored an offer of "evil\.sh"/u);
    expect(tree(root).filter((f) => !f.startsWith('dl'))).toEqual([]);
    expect(tree(dl).every((f) => f.startsWith('data.bin'))).toBe(true);
  });
});

describe('the client against a hostile server: scripted output', () => {
  it('prints nicks, file names and error texts without escape sequences, C1 or bidi controls', async () => {
    const enc = (s: string): string => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    const { port } = await hostile((line, reply) => {
      if (line === 'files') return reply(`files 2 ${enc(`a${HOSTILE}.txt`)} 5 ${enc('b\tc.txt')} 6`);
      if (!line.includes(',')) return reply(welcome(line, [`bob${HOSTILE}`, `${HOSTILE}eve`]));
      reply(`error UNKNOWN_USER :no${HOSTILE} such user`);
    });
    const at = ['--host', '127.0.0.1', '--port', String(port), '--nick', 'ann'];
    const online = await runClient(['online', ...at]);
    expect(online.code).toBe(0);
    // What is left of HOSTILE once the controls are gone: printable text only.
    const rest = ']0;pwned[2J[31m1m';
    expect(online.stdout).toBe(`bob${rest}\n${rest}eve\n`);
    const files = await runClient(['files', ...at]);
    expect(files.code).toBe(0);
    const sent = await runClient(['send', '--all', 'hi', ...at]);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/no.* such user \[UNKNOWN_USER\]/u);
    const download = await runClient(['download', 'x', ...at]);
    expect(download.code).toBe(1);
    for (const r of [online, files, sent, download]) {
      expect(r.stdout + r.stderr).not.toMatch(TERMINAL_CONTROL);
      expect(r.stdout + r.stderr).not.toMatch(/\u001b/u);
    }
    expect(
      files.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')),
    ).toEqual([
      [expect.stringMatching(/^a.*\.txt$/u), '5'],
      ['b c.txt', '6'],
    ]);
  });
});
