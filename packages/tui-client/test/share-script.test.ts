import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Connection } from '../src/net/connection.js';
import { runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { WAIT } from './helpers/wait.js';

let server: RunningServer;
let files: Awaited<ReturnType<typeof tempDir>>;
let data: Awaited<ReturnType<typeof tempDir>>;
let work: Awaited<ReturnType<typeof tempDir>>;
let bob: Connection;
const bobHeard: string[] = [];

beforeAll(async () => {
  files = await tempDir('parley-files-');
  data = await tempDir('parley-data-');
  work = await tempDir('parley-work-');
  server = await startServer(files.path, { extra: ['--data-dir', data.path, '--share-min-free-disk', '0', '--share-max-file-size', '8M'] });
  bob = new Connection(
    { host: '127.0.0.1', port: server.port, nick: 'bob', reconnect: false },
    {
      onEvent: (e) =>
        (e.type === 'shared' || e.type === 'broadcast') &&
        bobHeard.push(e.type === 'shared' ? `shared ${e.from} ${e.name} ${e.to ?? '-'}` : `broadcast ${e.text}`),
    },
  );
  bob.start();
  await vi.waitFor(() => expect(bob.state).toBe('online'), WAIT);
});

afterAll(async () => {
  bob?.close();
  await server?.stop();
  for (const d of [files, data, work]) await d?.remove();
});

const at = (): string[] => ['--host', '127.0.0.1', '--port', String(server.port)];

async function localFile(name: string, bytes: number): Promise<{ path: string; content: Buffer; sha256: string }> {
  const content = randomBytes(bytes);
  const path = join(work.path, name);
  await writeFile(path, content);
  return { path, content, sha256: createHash('sha256').update(content).digest('hex') };
}

describe('parley share', () => {
  it('shares a file with everyone: exits 0 once the server verified it, and another user downloads it byte-identical', async () => {
    const f = await localFile('report.pdf', 3_000_000);
    const r = await runClient(['share', f.path, ...at(), '--nick', 'alice']);
    expect(r.stderr).toMatch(/sharing report\.pdf .* with everyone/u);
    expect(r.stderr).toMatch(/100% of/u);
    expect(r).toMatchObject({ code: 0, stdout: `report.pdf\t${f.sha256}\n` });
    await vi.waitFor(() => expect(bobHeard).toContain('shared alice report.pdf -'), WAIT);
    const dl = await tempDir('parley-dl-');
    const d = await runClient(['download', 'report.pdf', ...at(), '--nick', 'dave', '--download-dir', dl.path]);
    expect(d.code).toBe(0);
    expect((await readFile(join(dl.path, 'report.pdf'))).equals(f.content)).toBe(true);
    await dl.remove();
  });

  it('shares with one user only: a third user neither sees nor downloads it', async () => {
    const f = await localFile('private.log', 100_000);
    const r = await runClient(['share', f.path, '--to', 'bob', ...at(), '--nick', 'alice2']);
    expect(r).toMatchObject({ code: 0, stdout: `private.log\t${f.sha256}\n` });
    await vi.waitFor(() => expect(bobHeard).toContain('shared alice2 private.log bob'), WAIT);
    // A later marker first, so that "carol saw nothing" is not just "not yet".
    const marker = await runClient(['send', '--all', 'marker-after-share', ...at(), '--nick', 'marker']);
    expect(marker.code).toBe(0);
    await vi.waitFor(() => expect(bobHeard).toContain('broadcast marker-after-share'), WAIT);
    const list = await runClient(['files', ...at(), '--nick', 'carol']);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('private.log');
    const dl = await tempDir('parley-dl-');
    const d = await runClient(['download', 'private.log', ...at(), '--nick', 'carol', '--download-dir', dl.path]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/FILE_NOT_FOUND/u);
    await dl.remove();
  });

  it('exits 1 with the server\u2019s reason when the file is too large', async () => {
    const f = await localFile('huge.bin', 9 * 1024 * 1024);
    const r = await runClient(['share', f.path, ...at(), '--nick', 'alice3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SHARE_TOO_LARGE/u);
  });

  it('exits 1 before connecting anywhere useful when the path is not a file', async () => {
    const r = await runClient(['share', work.path, ...at(), '--nick', 'alice4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a regular file/u);
  });
});
