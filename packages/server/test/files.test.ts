import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent } from '@parley/protocol';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
afterEach(async () => {
  await t?.stop();
});

const isError = (code: string) => (l: string) => l.startsWith(`error ${code} `);

async function withFiles(): Promise<TestServer> {
  t = await startTestServer();
  await writeFile(join(t.filesDir, 'a.jpg'), Buffer.alloc(1234, 7));
  await writeFile(join(t.filesDir, 'my notes.txt'), 'hello');
  await writeFile(join(t.filesDir, '.hidden'), 'secret');
  await mkdir(join(t.filesDir, 'subdir'));
  await writeFile(join(t.filesDir, 'subdir', 'inner.txt'), 'inner');
  const outside = await mkdtemp(join(tmpdir(), 'parley-outside-'));
  await writeFile(join(outside, 'passwd'), 'root:x:0:0');
  await symlink(join(outside, 'passwd'), join(t.filesDir, 'escape'));
  await symlink(join(t.filesDir, 'a.jpg'), join(t.filesDir, 'alias.jpg'));
  return t;
}

describe('files', () => {
  it('lists only regular files in the folder, with sizes (links only when they stay inside)', async () => {
    await withFiles();
    const c = await t.join('alice');
    const line = await c.ask('files', (l) => l.startsWith('files '));
    expect(decodeEvent(line)).toEqual({
      type: 'files',
      files: [
        { name: 'a.jpg', size: 1234 },
        { name: 'alias.jpg', size: 1234 },
        { name: 'my notes.txt', size: 5 },
      ],
    });
  });

  it('refuses names that leave the folder or are not files, before reading anything', async () => {
    await withFiles();
    const c = await t.join('alice');
    const cases: Array<[string, string]> = [
      ['../etc/passwd', 'FILE_NAME_INVALID'],
      ['/etc/passwd', 'FILE_NAME_INVALID'],
      ['..', 'FILE_NAME_INVALID'],
      ['subdir/inner.txt', 'FILE_NAME_INVALID'],
      ['..\\windows', 'FILE_NAME_INVALID'],
      ['a\u0000.jpg', 'FILE_NAME_INVALID'],
      ['escape', 'FILE_NAME_INVALID'],
      ['subdir', 'NOT_A_FILE'],
      ['nope.bin', 'FILE_NOT_FOUND'],
      ['.hidden', 'FILE_NOT_FOUND'],
      ['x'.repeat(300), 'FILE_NAME_INVALID'],
    ];
    for (const [name, code] of cases) {
      const line = await c.ask(`download,${name}`, (l) => l.startsWith('error ') || l.startsWith('offer '));
      expect(line.split(' ')[1], name).toBe(code);
    }
    expect(t.server.stats.rejected.get('FILE_NAME_INVALID')).toBe(8);
  });

  it('says so when downloads are switched off', async () => {
    await withFiles();
    const c = await t.join('alice');
    expect(await c.ask('download,a.jpg', isError('FILE_UNREADABLE'))).toContain('downloads are switched off');
  });
});
