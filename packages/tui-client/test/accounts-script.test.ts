import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServerEvent } from '@parley/protocol';
import { Connection } from '../src/net/connection.js';
import { runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { WAIT } from './helpers/wait.js';

// Loopback may send passwords in plain text (PROTOCOL.md §2.4), so no TLS is needed here.
const PASSWORD = 'pw-Sesame 4711';
let server: RunningServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let right: string;
let wrong: string;

beforeAll(async () => {
  dir = await tempDir('parley-acc-');
  server = await startServer(dir.path, { extra: ['--data-dir', join(dir.path, 'data')] });
  // carol registers her nickname over a real socket, then leaves.
  const events: ServerEvent[] = [];
  const carol = new Connection({ host: '127.0.0.1', port: server.port, nick: 'carol', reconnect: false }, { onEvent: (e) => events.push(e) });
  carol.start();
  await vi.waitFor(() => expect(carol.state).toBe('online'), WAIT);
  carol.send({ type: 'register', password: PASSWORD });
  await vi.waitFor(() => expect(events.some((e) => e.type === 'account' && e.state === 'registered')).toBe(true), WAIT);
  await carol.quit();
  right = join(dir.path, 'right.txt');
  wrong = join(dir.path, 'wrong.txt');
  await writeFile(right, `${PASSWORD}\n`, { mode: 0o600 });
  await writeFile(wrong, 'not-the-password\n', { mode: 0o600 });
});

afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

const at = (): string[] => ['--host', '127.0.0.1', '--port', String(server.port), '--nick', 'carol'];

describe('parley scripted commands with a registered nickname', () => {
  it('logs in with --password-file and does the job', async () => {
    const r = await runClient(['send', '--all', 'hello from a script', ...at(), '--password-file', right]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const listed = await runClient(['online', ...at()], { env: { PARLEY_CLIENT_PASSWORD_FILE: right } });
    expect(listed).toMatchObject({ code: 0, stdout: '' });
  });

  it('exits 5 with a clear message on a wrong password', async () => {
    const r = await runClient(['online', ...at(), '--password-file', wrong]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/wrong password for carol .*\[LOGIN_FAILED\]/u);
    expect(r.stderr + r.stdout).not.toContain('not-the-password');
  });

  it('exits 5 and names --password-file when the nickname is registered and no password was given', async () => {
    const r = await runClient(['files', ...at()], { env: { PARLEY_CLIENT_PASSWORD_FILE: '' } });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/carol is a registered nickname: give its password with --password-file FILE/u);
  });

  it('exits 2 when the password file is missing or empty, and warns about one others can read', async () => {
    expect(await runClient(['online', ...at(), '--password-file', join(dir.path, 'nope')])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--password-file .*nope: ENOENT/u),
    });
    const empty = join(dir.path, 'empty.txt');
    await writeFile(empty, '\nsecond line\n', { mode: 0o600 });
    expect(await runClient(['online', ...at(), '--password-file', empty])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/the first line is empty/u),
    });
    const open = join(dir.path, 'open.txt');
    await writeFile(open, `${PASSWORD}\r\n`);
    await chmod(open, 0o644);
    const r = await runClient(['online', ...at(), '--password-file', open]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: --password-file .* can be read by other users \(mode 644\)/u);
  });

  it('says in --help why the password is never an argument or an environment variable', async () => {
    const r = await runClient(['--help']);
    expect(r.stdout).toMatch(/--password-file/u);
    expect(r.stdout).toMatch(/Never on the command line or in\s+an\s+environment variable/u);
    expect(r.stdout).toMatch(/5 the nickname is registered/u);
  });
});
