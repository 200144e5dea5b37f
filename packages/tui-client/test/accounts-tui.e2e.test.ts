import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_BIN, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';

// Loopback may send passwords in plain text (PROTOCOL.md §2.4).
const PASSWORD = 'Tr0ub4dor&3x-pw';
const WRONG = 'wrong-Horse-9';
const NEW = 'n3w-Battery&Staple';
let dir: Awaited<ReturnType<typeof tempDir>>;
let server: RunningServer;
let tmux: Tmux;
/** Every screen captured: none may show a password. */
const screens: string[] = [];

function client(nick: string): string {
  // A home of its own (for the known-servers file and anything else the client might write) and a trace log: both are searched for the password.
  const env = `HOME=${dir.path}/home XDG_CONFIG_HOME=${dir.path}/home/.config PARLEY_CLIENT_LOG_LEVEL=trace`;
  return `${env} ${process.execPath} ${CLIENT_BIN} --host 127.0.0.1 --port ${server.port} --nick ${nick} --log-file ${dir.path}/home/${nick}.log --download-dir ${dir.path}/home`;
}

async function see(name: string, check: RegExp): Promise<string> {
  const s = await tmux.waitFor(name, check);
  screens.push(s);
  return s;
}

async function filesUnder(path: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path, { withFileTypes: true }).catch(() => [])) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if ((await stat(p)).isFile()) out.push(p);
  }
  return out;
}

describe.skipIf(!haveTmux())('registering and logging in from the terminal client (tmux, real server)', () => {
  beforeAll(async () => {
    dir = await tempDir('parley-acc-tui-');
    server = await startServer(dir.path, { extra: ['--data-dir', join(dir.path, 'data')] });
    tmux = new Tmux();
  });

  afterAll(async () => {
    await tmux?.kill();
    await server?.stop();
    await dir?.remove();
  });

  it('registers with /register, asks the password masked on the next start, retries a wrong one, logs in, and logs in again by itself after a reconnect', async () => {
    // 1. dora registers her nickname: the password is asked twice, masked.
    await tmux.start('first', client('dora'), 100, 24);
    let s = await see('first', /Welcome to Parley, dora!/u);
    expect(s).toMatch(/dora \(guest\)/u);
    await tmux.type('first', '/register');
    await tmux.keys('first', 'Enter');
    await see('first', /New password for this nickname/u);
    await tmux.type('first', PASSWORD);
    s = await see('first', new RegExp(`New password for this nickname \\(Esc cancels\\): \\*{${PASSWORD.length}}`, 'u'));
    await tmux.keys('first', 'Enter');
    await see('first', /The same password again:/u);
    await tmux.type('first', PASSWORD);
    await tmux.keys('first', 'Enter');
    s = await see('first', /account registered: /u);
    expect(s).toMatch(/dora \(registered\)/u);
    // Up in the chat line recalls /register, never a password.
    await tmux.keys('first', 'Up');
    await see('first', /\[dora\] \/register/u);
    await tmux.keys('first', 'C-u', 'F10');
    await see('first', /Quit Parley\?/u);
    await tmux.keys('first', 'y');
    expect(await tmux.waitForExit('first')).toBe(0);

    // 2. Starting again as dora: the masked prompt.
    await tmux.start('again', client('dora'), 100, 24);
    s = await see('again', /Password for dora \(Esc: another nickname\):/u);
    expect(s).toMatch(/dora is a registered nickname: type its password/u);
    await tmux.type('again', WRONG);
    await see('again', new RegExp(`Password for dora \\(Esc: another nickname\\): \\*{${WRONG.length}}`, 'u'));
    await tmux.keys('again', 'Enter');
    // Wrong: said so, and asked again (the prompt is back, empty).
    s = await see('again', /wrong password for dora \[LOGIN_FAILED\]/u);
    await see('again', /Password for dora \(Esc: another nickname\): *$/mu);
    await tmux.type('again', PASSWORD);
    await tmux.keys('again', 'Enter');
    s = await see('again', /account identified: /u);
    expect(s).toMatch(/Welcome to Parley, dora!/u);
    expect(s).toMatch(/dora \(registered\)/u);

    // 3. The server restarts on the same port: the client reconnects and logs in with the password it kept in memory.
    const port = server.port;
    await server.stop();
    await see('again', /reconnecting|retrying/u);
    server = await startServer(dir.path, { port, extra: ['--data-dir', join(dir.path, 'data')] });
    s = await see('again', /reconnected as dora/u);
    screens.push(await tmux.waitFor('again', (screen) => screen.split('account identified: ').length - 1 === 2));
    s = await see('again', /dora \(registered\)/u);
    expect(s).not.toMatch(/Password for dora/u);

    // 4. /password: the old one, then the new one twice, all masked.
    await tmux.type('again', '/password');
    await tmux.keys('again', 'Enter');
    await see('again', /Current password \(Esc cancels\):/u);
    await tmux.type('again', PASSWORD);
    await tmux.keys('again', 'Enter');
    await see('again', /New password:/u);
    await tmux.type('again', NEW);
    await tmux.keys('again', 'Enter');
    await see('again', /The same password again:/u);
    await tmux.type('again', NEW);
    await see('again', new RegExp(`The same password again: \\*{${NEW.length}}`, 'u'));
    await tmux.keys('again', 'Enter');
    await see('again', /account password-changed: /u);
    // 5. A password typed the nc way (on the visible line, so not one of the real ones) is refused and wiped: not sent, not in the history.
    await tmux.type('again', 'unregister,typed-in-the-open');
    await tmux.keys('again', 'Enter');
    s = await see('again', /use \/unregister: the password is asked for without showing it/u);
    await tmux.keys('again', 'Up');
    s = await see('again', /\[dora\] \/password\s*$/mu);
    expect(s).not.toContain('typed-in-the-open');
    await tmux.keys('again', 'C-u');
    // 6. /unregister: asked once, masked; the status bar goes back to guest.
    await tmux.type('again', '/unregister');
    await tmux.keys('again', 'Enter');
    await see('again', /Password, to unregister this nickname/u);
    await tmux.type('again', NEW);
    await tmux.keys('again', 'Enter');
    s = await see('again', /account unregistered: /u);
    await see('again', /dora \(guest\)/u);

    // The password never showed, and no file the client wrote holds it.
    for (const screen of screens) {
      expect(screen).not.toContain(PASSWORD);
      expect(screen).not.toContain(WRONG);
      expect(screen).not.toContain(NEW);
    }
    const written = await filesUnder(join(dir.path, 'home'));
    expect(written.some((f) => f.endsWith('dora.log'))).toBe(true);
    for (const f of written) {
      const text = await readFile(f, 'utf8');
      expect(text, f).not.toContain(PASSWORD);
      expect(text, f).not.toContain(WRONG);
      expect(text, f).not.toContain(NEW);
      // Nor one key at a time: "&" is typed only inside the password.
      expect(text, f).not.toMatch(/"ch":"&"/u);
    }
    // The trace log does hold keys typed outside the prompt (so the check above can see them).
    expect(await readFile(join(dir.path, 'home', 'dora.log'), 'utf8')).toMatch(/"ch":"\/"/u);
  }, 60_000);
});
