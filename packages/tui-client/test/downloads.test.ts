import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { protocolError } from '@parley/protocol';
import { DownloadManager, safeBaseName, uniquePath, type DownloadFn, type Offer } from '../src/transfer/downloads.js';
import { TransferTable } from '../src/model/transfers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'parley-dl-'));
  dirs.push(d);
  return d;
}
const offer = (id: number, name: string): Offer => ({ id, name, size: 10, sha256: 'a'.repeat(64), token: 'b'.repeat(32), udpPort: 9 });

describe('download paths', () => {
  it('keeps only the base name of what the server calls the file', () => {
    expect(safeBaseName('../../etc/passwd')).toBe('passwd');
    expect(safeBaseName('..\\win\\x.txt')).toBe('x.txt');
    expect(safeBaseName('...')).toBe('download');
  });
  it('never overwrites: numbers the name when it exists or is being downloaded', async () => {
    const d = await tmp();
    await writeFile(join(d, 'photo.jpg'), 'x');
    expect(uniquePath(d, 'photo.jpg')).toBe(join(d, 'photo-1.jpg'));
    expect(uniquePath(d, 'photo.jpg', new Set([join(d, 'photo-1.jpg')]))).toBe(join(d, 'photo-2.jpg'));
    expect(uniquePath(d, 'README')).toBe(join(d, 'README'));
  });
});

describe('DownloadManager', () => {
  it('runs several downloads at once into distinct files and reports progress and the hash', async () => {
    const d = await tmp();
    const transfers = new TransferTable();
    const done: string[] = [];
    const release: Array<() => void> = [];
    const download: DownloadFn = async (o) => {
      o.onProgress?.({ bytes: 5, total: 10, rateBytesPerSec: 5, etaSec: 1 });
      await new Promise<void>((r) => release.push(r));
      await writeFile(o.destPath, 'x');
      return { path: o.destPath, bytes: 10, sha256: o.offer.sha256 };
    };
    const m = new DownloadManager({ dir: d, host: 'h', transfers, download, onDone: (r) => done.push(r.path) });
    const a = m.start(offer(1, 'a.txt'));
    const b = m.start(offer(2, 'a.txt'));
    await new Promise((r) => setTimeout(r, 20));
    expect(m.running).toBe(2);
    expect(transfers.active.map((t) => [t.state, t.bytes])).toEqual([['active', 5], ['active', 5]]);
    for (const r of release) r();
    await Promise.all([a, b]);
    expect(done.sort()).toEqual([join(d, 'a-1.txt'), join(d, 'a.txt')]);
    expect(transfers.all.every((t) => t.state === 'done')).toBe(true);
  });
  it('says why a download failed', async () => {
    const d = await tmp();
    const transfers = new TransferTable();
    const failed: string[] = [];
    const download: DownloadFn = () => Promise.reject(protocolError('TRANSFER_CORRUPT', 'hash mismatch'));
    const m = new DownloadManager({ dir: d, host: 'h', transfers, download, onFail: (r) => failed.push(r.error) });
    await m.start(offer(3, 'z.bin'));
    expect(failed).toEqual(['hash mismatch [TRANSFER_CORRUPT]']);
    expect(transfers.get(3)?.state).toBe('failed');
  });
});
