import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PAYLOAD_BYTES } from '@parley/protocol';
import { partialPath, type TransferServer } from '../src/index.js';
import { fileSha256, makeFile, makeTempDir, waitFor, type TempDir } from './helpers/files.js';
import { LossyRelay } from '@parley/test-support';
import { download, offerFile, rawHandshake, startServer } from './helpers/setup.js';

let dir: TempDir;
let server: TransferServer;
let relay: LossyRelay | undefined;

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  await server.close(0);
  await dir.remove();
});

describe('cleanup when a side goes away', () => {
  it('frees a transfer after its idle timeout when the client vanishes', async () => {
    server = await startServer({ idleTimeoutMs: 300 });
    const f = await makeFile(dir.path, 'gone.bin', 2_000_000);
    const offer = offerFile(server, f);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    let got = 0;
    sock.on('message', () => got++);
    await rawHandshake(sock, server, offer);
    await waitFor(() => got > 1 && server.stats().active === 1, 'the transfer to start');
    sock.close(); // killed: no ACK, no CANCEL, ever
    await waitFor(() => server.stats().active === 0, 'the server to free the transfer', 5000);
  });

  it('tells the client clearly when the server shuts down mid-transfer', async () => {
    server = await startServer({ maxRateBytesPerSec: 1_000_000 });
    const f = await makeFile(dir.path, 'big.bin', 3_000_000);
    let bytes = 0;
    const dest = join(dir.path, 'shutdown-out.bin');
    const p = download(server.port, offerFile(server, f), dir.path, { destPath: dest, onProgress: (x) => (bytes = x.bytes) });
    const outcome = p.then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await waitFor(() => bytes > 0, 'some progress');
    await server.close();
    expect(await outcome).toMatchObject({ code: 'PARLEY_ERR_TRANSFER_CANCELLED', message: expect.stringContaining('shutting down') });
    expect(existsSync(dest)).toBe(false);
  });

  it('gives up with TRANSFER_TIMEOUT when the server goes silent', async () => {
    server = await startServer({ maxRateBytesPerSec: 1_000_000 });
    const f = await makeFile(dir.path, 'silent.bin', 3_000_000);
    relay = await LossyRelay.start({ targetPort: server.port });
    let bytes = 0;
    const p = download(relay.port, offerFile(server, f), dir.path, { idleTimeoutMs: 300, onProgress: (x) => (bytes = x.bytes) });
    await waitFor(() => bytes > 0, 'some progress');
    relay.impair = { loss: 1 }; // the path dies
    await expect(p).rejects.toMatchObject({ code: 'PARLEY_ERR_TRANSFER_TIMEOUT', message: expect.stringContaining('no packet from the server') });
    expect(relay.counts.dropped).toBeGreaterThan(0);
  });

  it('times out clearly when nothing listens on the server port', async () => {
    server = await startServer();
    const f = await makeFile(dir.path, 'nobody.bin', 1000);
    const offer = offerFile(server, f);
    const port = server.port;
    await server.close(0); // the port is now closed: ICMP unreachable, then silence
    await expect(download(port, offer, dir.path, { idleTimeoutMs: 300 })).rejects.toMatchObject({
      code: 'PARLEY_ERR_TRANSFER_TIMEOUT',
      message: expect.stringContaining('no packet from the server'),
    });
  });

  it('stops the server side at once when the client aborts (CANCEL), and keeps the partial file', async () => {
    server = await startServer({ maxRateBytesPerSec: 1_000_000 });
    const f = await makeFile(dir.path, 'abort.bin', 3_000_000);
    const offer = offerFile(server, f);
    const ac = new AbortController();
    let bytes = 0;
    const dest = join(dir.path, 'abort-out.bin');
    const p = download(server.port, offer, dir.path, { destPath: dest, signal: ac.signal, onProgress: (x) => (bytes = x.bytes) });
    await waitFor(() => bytes > 0, 'some progress');
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'PARLEY_ERR_TRANSFER_CANCELLED' });
    await waitFor(() => server.stats().active === 0, 'the server to drop the cancelled transfer', 2000);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(partialPath(dest, f.sha256))).toBe(true);
  });

  it('stops a transfer when its TCP session goes away (cancelOwner)', async () => {
    server = await startServer({ maxRateBytesPerSec: 1_000_000 });
    const f = await makeFile(dir.path, 'owner.bin', 3_000_000);
    let bytes = 0;
    const p = download(server.port, offerFile(server, f, 'tcp-7'), dir.path, { onProgress: (x) => (bytes = x.bytes) });
    await waitFor(() => bytes > 0, 'some progress');
    server.cancelOwner('tcp-7');
    expect(server.stats().active).toBe(0);
    await expect(p).rejects.toMatchObject({ code: 'PARLEY_ERR_TRANSFER_CANCELLED', message: expect.stringContaining('session closed') });
  });
});

describe('integrity and resume', () => {
  it('resumes from a partial file and sends only the rest', async () => {
    server = await startServer();
    const f = await makeFile(dir.path, 'resume.bin', 100 * DEFAULT_PAYLOAD_BYTES + 5);
    const dest = join(dir.path, 'resume-out.bin');
    // An earlier attempt left 60.5 chunks; the half chunk is thrown away.
    await writeFile(partialPath(dest, f.sha256), f.data.subarray(0, 60 * DEFAULT_PAYLOAD_BYTES + 700));
    const res = await download(server.port, offerFile(server, f), dir.path, { destPath: dest });
    expect(res.sha256).toBe(f.sha256);
    expect(await fileSha256(dest)).toBe(f.sha256);
    expect(server.stats().bytesSent).toBeLessThan(45 * (DEFAULT_PAYLOAD_BYTES + 20));
    expect(existsSync(partialPath(dest, f.sha256))).toBe(false);
  });

  it('finishes with END alone when the partial file is already complete', async () => {
    server = await startServer();
    const f = await makeFile(dir.path, 'whole.bin', 3 * DEFAULT_PAYLOAD_BYTES + 9);
    const dest = join(dir.path, 'whole-out.bin');
    await writeFile(partialPath(dest, f.sha256), f.data);
    const res = await download(server.port, offerFile(server, f), dir.path, { destPath: dest });
    expect(res.sha256).toBe(f.sha256);
    expect(server.stats().bytesSent).toBeLessThan(100); // one END, no DATA
  });

  it('starts over when resume is off', async () => {
    server = await startServer();
    const f = await makeFile(dir.path, 'fresh.bin', 10 * DEFAULT_PAYLOAD_BYTES);
    const dest = join(dir.path, 'fresh-out.bin');
    await writeFile(partialPath(dest, f.sha256), Buffer.alloc(5 * DEFAULT_PAYLOAD_BYTES, 0xee)); // garbage
    const res = await download(server.port, offerFile(server, f), dir.path, { destPath: dest, resume: false });
    expect(res.sha256).toBe(f.sha256);
  });

  it('keeps nothing under the final name when the SHA-256 does not match the offer', async () => {
    server = await startServer();
    const f = await makeFile(dir.path, 'liar.bin', 50_000);
    const dest = join(dir.path, 'liar-out.bin');
    const { id, token } = server.offer({ owner: 's', path: f.path, name: f.name, size: f.size, sha256: 'ab'.repeat(32) });
    const offer = { id, token, name: f.name, size: f.size, sha256: 'ab'.repeat(32), udpPort: server.port };
    await expect(download(server.port, offer, dir.path, { destPath: dest })).rejects.toMatchObject({
      code: 'PARLEY_ERR_TRANSFER_CORRUPT',
      message: expect.stringContaining('SHA-256'),
    });
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(partialPath(dest, 'ab'.repeat(32)))).toBe(false);
  });

  it('serves several clients and several downloads per client at once on one port', async () => {
    server = await startServer();
    const files = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => makeFile(dir.path, `c${i}.bin`, 200_000 + i * 1000)));
    const results = await Promise.all(files.map((f, i) => download(server.port, offerFile(server, f, `user-${i % 2}`), dir.path)));
    for (const [i, r] of results.entries()) expect(r.sha256).toBe(files[i]!.sha256);
    await waitFor(() => server.stats().active === 0, 'all transfers to finish');
  });

  it('reports progress with bytes, total, rate and ETA, ending at the total', async () => {
    server = await startServer();
    const f = await makeFile(dir.path, 'prog.bin', 2_000_000);
    const seen: { bytes: number; total: number; rateBytesPerSec: number; etaSec: number }[] = [];
    await download(server.port, offerFile(server, f), dir.path, { onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ bytes: f.size, total: f.size, etaSec: 0 });
    expect(last.rateBytesPerSec).toBeGreaterThan(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
  });
});
