import dgram from 'node:dgram';
import { join } from 'node:path';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { decodePacket, peekPacketType } from '@parley/protocol';
import { LossyRelay } from '@parley/test-support';
import { UploadService, uploadFile, type UploadOutcome } from '../src/index.js';
import { fileSha256, makeFile, waitFor, type TestFile } from './helpers/files.js';
import { useTransferFixture } from './helpers/transfer-fixture.js';
import { requestPacket } from './helpers/setup.js';

const t = useTransferFixture();

/** Registers an upload of `file` into `dest` and returns the ticket (the `upload` event) and the outcome to come. */
function expectUpload(service: UploadService, file: TestFile, dest: string, extra: { encrypt?: boolean; owner?: string } = {}) {
  let done!: (o: UploadOutcome) => void;
  const outcome = new Promise<UploadOutcome>((r) => (done = r));
  const { id, token, key } = service.expect(
    {
      owner: extra.owner ?? 'session-1',
      name: file.name,
      size: file.size,
      sha256: file.sha256,
      partialPath: dest,
      ...(extra.encrypt ? { encrypt: true } : {}),
    },
    done,
  );
  const ticket = { id, token, name: file.name, size: file.size, sha256: file.sha256, udpPort: service.port, ...(key !== undefined ? { key } : {}) };
  return { ticket, outcome };
}

describe('uploads on the download socket', () => {
  it('receives a file byte-identical, plain and sealed, and frees the slot', async () => {
    const service = new UploadService((r) => t.server.attach(r));
    for (const encrypt of [false, true]) {
      const f = await makeFile(t.dir.path, `up-${encrypt}.bin`, 3 * 1024 * 1024 + 17);
      const dest = join(t.dir.path, `dest-${encrypt}.part`);
      const { ticket, outcome } = expectUpload(service, f, dest, { encrypt });
      const result = await uploadFile({ host: '127.0.0.1', ticket, path: f.path });
      expect(result.bytes).toBe(f.size);
      const o = await outcome;
      expect(o.ok).toBe(true);
      expect(await fileSha256(dest)).toBe(f.sha256);
      await waitFor(() => service.size === 0, 'the upload slot to be freed');
    }
  });

  it('through a relay with 5 % loss, reordering and duplication each way', async () => {
    const service = new UploadService((r) => t.server.attach(r));
    const f = await makeFile(t.dir.path, 'lossy.bin', 4 * 1024 * 1024);
    t.relay = await LossyRelay.start({ targetPort: t.server.port, loss: 0.05, reorder: 0.02, duplicate: 0.02, delayMs: 1, jitterMs: 1, seed: 7 });
    const dest = join(t.dir.path, 'lossy.part');
    const { ticket, outcome } = expectUpload(service, f, dest);
    const result = await uploadFile({ host: '127.0.0.1', port: t.relay.port, ticket, path: f.path });
    expect((await outcome).ok).toBe(true);
    expect(await fileSha256(dest)).toBe(f.sha256);
    // The impairments really happened, and the sender made up for them.
    expect(t.relay.counts.dropped).toBeGreaterThan(0);
    expect(t.relay.counts.reordered).toBeGreaterThan(0);
    expect(t.relay.counts.duplicated).toBeGreaterThan(0);
    expect(result.retransmissions).toBeGreaterThan(0);
  });

  it('refuses a file whose bytes do not match the announced SHA-256 and keeps nothing', async () => {
    const service = new UploadService((r) => t.server.attach(r));
    const f = await makeFile(t.dir.path, 'liar.bin', 100_000);
    const dest = join(t.dir.path, 'liar.part');
    const { ticket, outcome } = expectUpload(service, { ...f, sha256: 'ab'.repeat(32) }, dest);
    await uploadFile({ host: '127.0.0.1', ticket, path: f.path }).catch(() => undefined);
    const o = await outcome;
    expect(o).toMatchObject({ ok: false, code: 'TRANSFER_CORRUPT' });
    await expect(stat(dest)).rejects.toThrow();
  });

  it('resumes from the whole chunks a partial file already holds', async () => {
    const service = new UploadService((r) => t.server.attach(r));
    const f = await makeFile(t.dir.path, 'resume.bin', 1_000_000);
    const dest = join(t.dir.path, 'resume.part');
    const bytes = await readFile(f.path);
    await writeFile(dest, bytes.subarray(0, 600_000));
    const { ticket, outcome } = expectUpload(service, f, dest);
    const result = await uploadFile({ host: '127.0.0.1', ticket, path: f.path });
    expect(result.resumedBytes).toBe(Math.floor(600_000 / 1452) * 1452);
    const o = await outcome;
    expect(o).toMatchObject({ ok: true, resumedBytes: result.resumedBytes });
    expect(await fileSha256(dest)).toBe(f.sha256);
  });

  it('sends nothing but one small CHALLENGE to an address replaying a token, and no ACK or data', async () => {
    const service = new UploadService((r) => t.server.attach(r));
    const f = await makeFile(t.dir.path, 'stolen.bin', 200_000);
    const dest = join(t.dir.path, 'stolen.part');
    const { ticket, outcome } = expectUpload(service, f, dest);
    // The real client uploads; an attacker who saw the token replays REQUESTs from its own address.
    const attacker = dgram.createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
    const got: Buffer[] = [];
    attacker.on('message', (m) => got.push(m));
    const upload = uploadFile({ host: '127.0.0.1', ticket, path: f.path });
    for (let i = 0; i < 5; i++) attacker.send(requestPacket(ticket), t.server.port, '127.0.0.1');
    await upload;
    expect((await outcome).ok).toBe(true);
    // A later marker: one more REQUEST after the upload, answered (a small ERROR or CHALLENGE) or not, then look.
    attacker.send(requestPacket(ticket), t.server.port, '127.0.0.1');
    await waitFor(() => got.length >= 1, 'the attacker to get at least one reply');
    await new Promise((r) => setTimeout(r, 100));
    attacker.close();
    for (const m of got) {
      expect(m.length).toBeLessThanOrEqual(256);
      expect(['challenge', 'error']).toContain(peekPacketType(m));
    }
    expect(got.some((m) => decodePacket(m).type === 'ack')).toBe(false);
  });
});
