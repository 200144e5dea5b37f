import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Connection } from '../src/net/connection.js';
import { runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { WAIT } from './helpers/wait.js';

let server: RunningServer;
let files: Awaited<ReturnType<typeof tempDir>>;
let downloads: Awaited<ReturnType<typeof tempDir>>;
const payload = Buffer.alloc(200_000, 0).map((_, i) => (i * 7919) % 251);
let bob: Connection;
const bobHeard: string[] = [];

beforeAll(async () => {
  files = await tempDir('parley-files-');
  downloads = await tempDir('parley-dl-');
  await writeFile(join(files.path, 'data.bin'), payload);
  await writeFile(join(files.path, 'notes.txt'), 'hello\n');
  server = await startServer(files.path);
  bob = new Connection(
    { host: '127.0.0.1', port: server.port, nick: 'bob', reconnect: false },
    { onEvent: (e) => (e.type === 'broadcast' || e.type === 'private') && bobHeard.push(`${e.type} ${e.from} ${e.text}`) },
  );
  bob.start();
  await vi.waitFor(() => expect(bob.state).toBe('online'), WAIT);
});

afterAll(async () => {
  bob?.close();
  await server?.stop();
  await files?.remove();
  await downloads?.remove();
});

const at = (): string[] => ['--host', '127.0.0.1', '--port', String(server.port)];

describe('parley scripted commands against the real server', () => {
  it('prints its usage with --help and exits 0', async () => {
    const r = await runClient(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parley send --to <nick> <text>/u);
  });

  it("prints a command's own help, and its usage error, as yargs lays them out", async () => {
    const help = await runClient(['download', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^parley download <file>\n\ndownload a file into --download-dir/u);
    expect(help.stdout).toMatch(/--download-dir/u);
    const missing = await runClient(['download', ...at()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Not enough non-option arguments/u);
  });

  it('exits 2 on a usage error', async () => {
    const r = await runClient(['send', 'hi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exactly one of --to <nick> or --all/u);
  });

  it('refuses to start the chat screen without a terminal, pointing at the scripted commands', async () => {
    const r = await runClient([...at(), '--nick', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs a terminal.*parley online\|files\|send\|download/u);
  });

  it('lists who is online (without itself)', async () => {
    const r = await runClient(['online', ...at(), '--nick', 'lister']);
    expect(r).toMatchObject({ code: 0, stdout: 'bob\n' });
  });

  it('takes host, port and nick from PARLEY_CLIENT_* environment variables', async () => {
    const r = await runClient(['online'], { env: { PARLEY_CLIENT_HOST: '127.0.0.1', PARLEY_CLIENT_PORT: String(server.port), PARLEY_CLIENT_NICK: 'envy' } });
    expect(r).toMatchObject({ code: 0, stdout: 'bob\n' });
  });

  it("ignores the server's PARLEY_HOST/PARLEY_PORT and variables named PARLEY or PARLEY_CLIENT", async () => {
    // PARLEY_PORT 1 would fail with ECONNREFUSED if the client dialled it.
    const env = { PARLEY: '', PARLEY_CLIENT: 'x', PARLEY_HOST: '0.0.0.0', PARLEY_PORT: '1', PARLEY_CLIENT_PORT: String(server.port) };
    const r = await runClient(['online', '--host', '127.0.0.1', '--nick', 'envy2'], { env });
    expect(r).toMatchObject({ code: 0, stdout: 'bob\n' });
    expect((await runClient(['--help'], { env })).stdout).toMatch(/PARLEY_CLIENT_HOST.*PARLEY_CLIENT_PORT.*PARLEY_CLIENT_NICK/su);
  });

  it('answers --version with the package version', async () => {
    const r = await runClient(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('lists the files with their sizes', async () => {
    const r = await runClient(['files', ...at()]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['data.bin\t200000', 'notes.txt\t6']));
  });

  it('sends a private message and a broadcast that another user receives', async () => {
    expect((await runClient(['send', '--to', 'BOB', 'hi', 'there', ...at(), '--nick', 'ann'])).code).toBe(0);
    expect((await runClient(['send', '--all', 'hello everyone 👋', ...at(), '--nick', 'ann'])).code).toBe(0);
    await vi.waitFor(() => expect(bobHeard).toHaveLength(2), WAIT);
    expect(bobHeard).toEqual(['private ann hi there', 'broadcast ann hello everyone 👋']);
  });

  it('fails with exit code 1 when the recipient is not online or the nick is taken', async () => {
    const r = await runClient(['send', '--to', 'nobody', 'hi', ...at()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nobody is not online/u);
    const taken = await runClient(['online', ...at(), '--nick', 'bob']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/nickname refused: .*taken/u);
  });

  it('fails with exit code 1 when nothing listens', async () => {
    const r = await runClient(['online', '--host', '127.0.0.1', '--port', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot talk to 127.0.0.1:1: ECONNREFUSED/u);
  });

  it('fails a download of a file the server does not have', async () => {
    const r = await runClient(['download', 'missing.bin', ...at(), '--download-dir', downloads.path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FILE_NOT_FOUND|FILE_UNREADABLE/u);
  });

  it('downloads a file over UDP with progress on stderr, verifies it, and never overwrites', async ({ skip }) => {
    if (server.udpPort === undefined) skip('this server build has downloads off');
    const sha = createHash('sha256').update(payload).digest('hex');
    const r = await runClient(['download', 'data.bin', ...at(), '--download-dir', downloads.path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${join(downloads.path, 'data.bin')}\t${sha}\n`);
    expect(r.stderr).toMatch(/data\.bin: \d+% of 195 KB/u);
    expect(r.stderr).toMatch(/SHA-256 verified/u);
    expect(Buffer.compare(await readFile(join(downloads.path, 'data.bin')), payload)).toBe(0);
    const again = await runClient(['download', 'data.bin', ...at(), '--download-dir', downloads.path]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${join(downloads.path, 'data-1.bin')}\t${sha}\n`);
  });
});
