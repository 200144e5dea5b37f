import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { protocolError } from '@parley/protocol';
import {
  DownloadManager,
  MAX_DOWNLOADS,
  REQUEST_TTL_MS,
  fileNameProblem,
  firstRequestRetryMs,
  safeBaseName,
  uniquePath,
  type DownloadFn,
  type Offer,
} from '../src/transfer/downloads.js';
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
function started(o: ReturnType<DownloadManager['accept']>): Promise<void> {
  if (!o.ok) throw new Error(`offer ignored: ${o.reason}`);
  return o.done;
}
/** A download that never ends until aborted, and counts its starts. */
function hanging(starts: string[]): DownloadFn {
  return (o) =>
    new Promise((_, reject) => {
      starts.push(o.destPath);
      if (o.signal?.aborted) reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      o.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    });
}

describe('download paths', () => {
  it('keeps only the base name of what the server calls the file', () => {
    expect(safeBaseName('../../etc/passwd')).toBe('passwd');
    expect(safeBaseName('..\\win\\x.txt')).toBe('x.txt');
    expect(safeBaseName('...')).toBe('download');
    expect(safeBaseName('.bashrc')).toBe('bashrc');
    expect(safeBaseName('a\u202egnp.exe')).toBe('agnp.exe');
  });
  it('refuses offered names with separators, dot names, control or bidi characters, or too many bytes', () => {
    for (const bad of ['../x', 'a/b', 'a\\b', '.', '..', '', 'a\u001b]0;x', 'a\u009bb', 'x\u202etxt.exe', 'x\u2066y', 'é'.repeat(128)]) {
      expect(fileNameProblem(bad), JSON.stringify(bad)).toBeDefined();
    }
    for (const good of ['photo.jpg', 'notes v2.txt', '陈.txt', '.env', 'a'.repeat(255)]) expect(fileNameProblem(good), good).toBeUndefined();
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
  it('times the first REQUEST retry from how long the server took to offer: 3 × that + 10 ms, within 30–200 ms', async () => {
    expect([0, 2, 10, 40, 63, 64, 1000].map(firstRequestRetryMs)).toEqual([30, 30, 40, 130, 199, 200, 200]);
    expect(firstRequestRetryMs(Number.NaN)).toBe(200);
    expect(firstRequestRetryMs(-5)).toBe(200);
    const d = await tmp();
    let clock = 1000;
    const asked: Array<number | undefined> = [];
    const download: DownloadFn = async (o) => {
      asked.push(o.requestRetryMs);
      return { path: o.destPath, bytes: 10, sha256: o.offer.sha256 };
    };
    const m = new DownloadManager({ dir: d, host: 'h', transfers: new TransferTable(), download, now: () => clock });
    m.request('near.bin');
    clock += 10; // the offer came 10 ms after the request
    await started(m.accept(offer(1, 'near.bin')));
    m.request('far.bin');
    clock += 120;
    await started(m.accept(offer(2, 'far.bin')));
    expect(asked).toEqual([40, 200]);
  });
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
    expect(m.request('a.txt')).toBeUndefined();
    expect(m.request('a.txt')).toBeUndefined();
    const a = started(m.accept(offer(1, 'a.txt')));
    const b = started(m.accept(offer(2, 'a.txt')));
    await vi.waitFor(() =>
      expect(transfers.active.map((t) => [t.state, t.bytes])).toEqual([
        ['active', 5],
        ['active', 5],
      ]),
    );
    expect(m.running).toBe(2);
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
    m.request('z.bin');
    await started(m.accept(offer(3, 'z.bin')));
    expect(failed).toEqual(['hash mismatch [TRANSFER_CORRUPT]']);
    expect(transfers.get(3)?.state).toBe('failed');
  });
});

describe('DownloadManager only downloads what the user asked for', () => {
  it('ignores an offer nobody asked for, and a second offer for one request', async () => {
    const d = await tmp();
    const starts: string[] = [];
    const m = new DownloadManager({ dir: d, host: 'h', transfers: new TransferTable(), download: hanging(starts) });
    expect(m.accept(offer(1, 'evil.sh'))).toEqual({ ok: false, reason: 'nobody asked for it' });
    m.request('a.txt');
    expect(m.accept(offer(2, 'b.txt'))).toEqual({ ok: false, reason: 'nobody asked for it' });
    expect(m.accept(offer(3, 'a.txt')).ok).toBe(true);
    expect(m.accept(offer(4, 'a.txt'))).toEqual({ ok: false, reason: 'nobody asked for it' });
    await vi.waitFor(() => expect(starts).toEqual([join(d, 'a.txt')]));
    await m.stopAll();
  });
  it('refuses an asked-for name that is not a plain file name', async () => {
    const d = await tmp();
    const starts: string[] = [];
    const m = new DownloadManager({ dir: d, host: 'h', transfers: new TransferTable(), download: hanging(starts) });
    m.request('../x');
    expect(m.accept(offer(1, '../x'))).toEqual({ ok: false, reason: 'its name has a path separator' });
    expect(starts).toEqual([]);
  });
  it(`allows at most ${MAX_DOWNLOADS} downloads asked for or running at once`, async () => {
    const d = await tmp();
    const starts: string[] = [];
    const m = new DownloadManager({ dir: d, host: 'h', transfers: new TransferTable(), download: hanging(starts) });
    for (let i = 0; i < MAX_DOWNLOADS; i++) expect(m.request(`f${i}`)).toBeUndefined();
    expect(m.request('one-more')).toMatch(/already asked for or running/u);
    for (let i = 0; i < MAX_DOWNLOADS; i++) expect(m.accept(offer(i, `f${i}`)).ok).toBe(true);
    expect(m.running).toBe(MAX_DOWNLOADS);
    expect(m.request('one-more')).toMatch(/already asked for or running/u);
    m.cancel(0);
    await vi.waitFor(() => expect(m.running).toBe(MAX_DOWNLOADS - 1));
    expect(m.request('one-more')).toBeUndefined();
    await m.stopAll();
  });
  it('forgets a request the server refused, or did not answer in time', async () => {
    const d = await tmp();
    let now = 1000;
    const m = new DownloadManager({ dir: d, host: 'h', transfers: new TransferTable(), download: hanging([]), now: () => now });
    m.request('missing.bin');
    m.refused('UNKNOWN_USER');
    expect(m.pending).toBe(1);
    m.refused('FILE_NOT_FOUND');
    expect(m.pending).toBe(0);
    expect(m.accept(offer(1, 'missing.bin')).ok).toBe(false);
    m.request('slow.bin');
    now += REQUEST_TTL_MS + 1;
    expect(m.accept(offer(2, 'slow.bin'))).toEqual({ ok: false, reason: 'nobody asked for it' });
  });
});
