import dgram from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, type UdpPacket } from '@parley/protocol';
import type { TransferServer } from '../src/index.js';
import { readAheadBlockBytes } from '../src/block-reader.js';
import { fileSha256, makeFile, makeTempDir, waitFor, type TempDir } from './helpers/files.js';
import { download, offerFile, rawHandshake, startServer } from './helpers/setup.js';

let dir: TempDir;
let server: TransferServer;
const sockets: dgram.Socket[] = [];

/** A raw UDP socket that records what it receives. */
async function rawSocket(address = '127.0.0.1'): Promise<{ sock: dgram.Socket; got: Buffer[]; send: (b: Buffer) => void }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, address, r));
  sockets.push(sock);
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return { sock, got, send: (b) => sock.send(b, server.port, '127.0.0.1') };
}

function request(id: number, token: string | Buffer): Buffer {
  const t = typeof token === 'string' ? Buffer.from(token, 'hex') : token;
  return encodePacket({ type: 'request', transferId: id, token: t, resumeFrom: 0, payloadSize: 1452, window: 64 });
}

beforeEach(async () => {
  dir = await makeTempDir();
  // A slow sender (2 MB/s) keeps the victim transfer running while we attack.
  server = await startServer({ maxRateBytesPerSec: 2_000_000, maxPayloadBytes: 1452 });
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server.close(0);
  await dir.remove();
});

describe('what the server does with bad input while another transfer goes on', () => {
  it('drops and counts garbage of every kind, replies to none of it, and the honest download completes', async () => {
    const f = await makeFile(dir.path, 'victim.bin', 600_000);
    const offer = offerFile(server, f);
    let progressed = false;
    const victim = download(server.port, offer, dir.path, { onProgress: (p) => (progressed ||= p.bytes > 0) });
    await waitFor(() => progressed, 'the honest download to start');

    const attacker = await rawSocket();
    const valid = encodePacket({ type: 'end-ack', transferId: offer.id, totalChunks: 1 });
    attacker.send(valid.subarray(0, 5)); // truncated
    attacker.send(Buffer.alloc(2000, 1)); // oversized for this server (limit 1472)
    const unknown = Buffer.from(valid);
    unknown[3] = 42;
    unknown.writeUInt32BE(crc32(unknown.subarray(0, unknown.length - 4)), unknown.length - 4);
    attacker.send(unknown); // unknown type
    const badCrc = Buffer.from(valid);
    badCrc[9] = (badCrc[9] ?? 0) ^ 1;
    attacker.send(badCrc); // corrupted
    attacker.send(Buffer.from('GET / HTTP/1.1\r\n\r\n')); // not ours at all
    // An ACK and a CANCEL for the running transfer, from an address that is not its receiver.
    attacker.send(encodePacket({ type: 'ack', transferId: offer.id, largest: 3, ackDelayUs: 0, cumulative: 0, window: 64, ranges: [{ first: 0, last: 3 }] }));
    attacker.send(encodePacket({ type: 'cancel', transferId: offer.id, token: Buffer.from(offer.token, 'hex'), code: 'TRANSFER_CANCELLED', text: 'x' }));

    await waitFor(() => {
      const d = server.stats().dropped;
      return (
        (d['truncated'] ?? 0) +
          (d['oversized'] ?? 0) +
          (d['unknown_type'] ?? 0) +
          (d['bad_checksum'] ?? 0) +
          (d['bad_magic'] ?? 0) +
          (d['wrong_address'] ?? 0) >=
        7
      );
    }, 'every bad datagram to be counted');
    const d = server.stats().dropped;
    expect(d).toMatchObject({ truncated: 1, oversized: 1, unknown_type: 1, bad_checksum: 1, bad_magic: 1, wrong_address: 2 });
    const res = await victim;
    expect(res.sha256).toBe(f.sha256);
    // A marker: a REQUEST for a transfer that does not exist, which is answered with an ERROR.
    // Datagrams from one source are handled in order, so a reply to any of the garbage would come first.
    attacker.send(request((offer.id + 7777) >>> 0, offer.token));
    await waitFor(() => attacker.got.length > 0, 'the ERROR answering the marker');
    expect(attacker.got.map((b) => decodePacket(b).type)).toEqual(['error']); // nothing but REQUESTs ever gets a reply
  });

  it('refuses a wrong token and a valid token from a second address, with replies smaller than the request', async () => {
    const f = await makeFile(dir.path, 'v.bin', 400_000);
    const offer = offerFile(server, f);
    let progressed = false;
    const victim = download(server.port, offer, dir.path, { onProgress: (p) => (progressed ||= p.bytes > 0) });
    await waitFor(() => progressed, 'the honest download to start');

    const thief = await rawSocket();
    thief.send(request(offer.id, '00'.repeat(16))); // wrong token
    thief.send(request(offer.id, offer.token)); // the right token, already bound to another address
    thief.send(request(12345, offer.token)); // no such transfer
    await waitFor(() => thief.got.length >= 3, 'three small ERROR replies');
    for (const reply of thief.got) {
      expect(reply.length).toBeLessThan(256);
      const p = decodePacket(reply) as UdpPacket;
      expect(p).toMatchObject({ type: 'error', code: 'TRANSFER_REJECTED' });
    }
    expect(server.stats().dropped).toMatchObject({ bad_token: 1, token_reused: 1, unknown_transfer: 1 });
    expect((await victim).sha256).toBe(f.sha256);
    // No DATA ever went to the thief.
    expect(thief.got.every((b) => decodePacket(b).type === 'error')).toBe(true);
  });

  it('accepts a token once: a second download with the same offer is refused', async () => {
    const f = await makeFile(dir.path, 'once.bin', 3000);
    const offer = offerFile(server, f);
    expect((await download(server.port, offer, dir.path)).sha256).toBe(f.sha256);
    await expect(download(server.port, offer, dir.path, { destPath: `${dir.path}/second` })).rejects.toMatchObject({
      code: 'PARLEY_ERR_TRANSFER_REJECTED',
    });
  });

  it('drops an ACK for packet numbers it never sent from the bound address, and the transfer goes on', async () => {
    const f = await makeFile(dir.path, 'ack.bin', 200_000);
    const offer = offerFile(server, f);
    const client = await rawSocket();
    await rawHandshake(client.sock, server, offer);
    await waitFor(() => client.got.some((b) => decodePacket(b).type === 'data'), 'the first DATA');
    client.send(
      encodePacket({
        type: 'ack',
        transferId: offer.id,
        largest: 1_000_000,
        ackDelayUs: 0,
        cumulative: 0,
        window: 64,
        ranges: [{ first: 0, last: 1_000_000 }],
      }),
    );
    await waitFor(() => (server.stats().dropped['ack_unsent'] ?? 0) === 1, 'the bogus ACK to be counted');
    const before = client.got.length;
    // The sender is still alive: it keeps retransmitting to the bound address.
    await waitFor(() => client.got.length > before, 'more packets for the bound address');
    expect(server.stats().active).toBe(1);
  });

  it('expires an unused token', async () => {
    await server.close(0);
    server = await startServer({ tokenTtlMs: 30 });
    const f = await makeFile(dir.path, 'exp.bin', 10);
    const offer = offerFile(server, f);
    await waitFor(() => server.stats().pendingOffers === 0, 'the offer to expire');
    await expect(download(server.port, offer, dir.path)).rejects.toMatchObject({ code: 'PARLEY_ERR_TRANSFER_REJECTED' });
  });

  it('limits transfers per owner', async () => {
    const f = await makeFile(dir.path, 'lim.bin', 10);
    for (let i = 0; i < 4; i++) offerFile(server, f, 'greedy');
    expect(() => offerFile(server, f, 'greedy')).toThrowError(expect.objectContaining({ code: 'PARLEY_ERR_TRANSFER_LIMIT' }));
    expect(() => offerFile(server, f, 'modest')).not.toThrow();
    server.cancelOwner('greedy');
    expect(server.stats().pendingOffers).toBe(1);
    expect(() => offerFile(server, f, 'greedy')).not.toThrow();
  });
});

describe('reply budget per address', () => {
  it('gives each address its own ERROR budget: one flooding bad tokens does not silence another', async () => {
    await server.close(0);
    server = await startServer({ maxErrorRepliesPerSec: 10 });
    const flooder = await rawSocket('127.0.0.1');
    const other = await rawSocket('127.0.0.2');
    const bad = request(12345, '00'.repeat(16));
    let flooding = true;
    let sent = 0;
    const flood = (async () => {
      while (flooding) {
        for (let i = 0; i < 50; i++) flooder.send(bad);
        sent += 50;
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    try {
      await waitFor(() => (server.stats().dropped['unknown_transfer'] ?? 0) > 1000, 'the flood to reach the server');
      // While the flood goes on, the second address asks once and is answered.
      other.send(request(54321, '00'.repeat(16)));
      await waitFor(() => other.got.length > 0, 'the second address to get its ERROR', 3000);
    } finally {
      flooding = false;
      await flood;
    }
    expect(decodePacket(other.got[0]!)).toMatchObject({ type: 'error', transferId: 54321, code: 'TRANSFER_REJECTED' });
    // The flooder got its own budget's worth (10 at once, 10 a second), not one reply per request.
    expect(flooder.got.length).toBeLessThan(sent / 20);
    expect(server.stats().dropped['reply_budget']).toBeGreaterThan(1000);
  });
});

describe('transfer caps', () => {
  it('refuses a second transfer from one address past maxTransfersPerAddress with TRANSFER_LIMIT, and serves it once the first is over', async () => {
    await server.close(0);
    server = await startServer({ maxTransfersPerAddress: 1, maxRateBytesPerSec: 2_000_000 });
    const f = await makeFile(dir.path, 'cap.bin', 1_000_000);
    const first = offerFile(server, f);
    const second = offerFile(server, f);
    let progressed = false;
    const running = download(server.port, first, dir.path, { onProgress: (p) => (progressed ||= p.bytes > 0) });
    await waitFor(() => progressed, 'the first download to start');
    await expect(download(server.port, second, dir.path)).rejects.toMatchObject({
      code: 'PARLEY_ERR_TRANSFER_LIMIT',
      message: expect.stringContaining('at most 1 downloads at once from one address'),
    });
    expect(server.stats().dropped['address_limit']).toBeGreaterThan(0);
    expect((await running).sha256).toBe(f.sha256);
    await waitFor(() => server.stats().active === 0, 'the first transfer to be freed');
    expect((await download(server.port, second, dir.path)).sha256).toBe(f.sha256); // the offer was kept
  });

  it('refuses an offer past maxTransfers (offers plus transfers) with TRANSFER_LIMIT', async () => {
    await server.close(0);
    server = await startServer({ maxTransfers: 2 });
    const f = await makeFile(dir.path, 'g.bin', 10);
    offerFile(server, f, 'a');
    offerFile(server, f, 'b');
    expect(() => offerFile(server, f, 'c')).toThrowError(
      expect.objectContaining({ code: 'PARLEY_ERR_TRANSFER_LIMIT', message: expect.stringContaining('the server has 2 downloads at once') }),
    );
    server.cancelOwner('a');
    expect(() => offerFile(server, f, 'c')).not.toThrow();
  });

  it('reads ahead at most readAheadBytes whatever payload size the client asks for', () => {
    expect(readAheadBlockBytes(65_487, 256 * 1024)).toBe(4 * 65_487); // was 32 chunks: 2 MiB
    expect(readAheadBlockBytes(1452, 256 * 1024)).toBe(32 * 1452);
    expect(readAheadBlockBytes(65_487, 1000)).toBe(65_487); // never less than one chunk
  });
});

describe('the offered file', () => {
  it('is the file that was offered even when a symlink to an outside file is swapped in before the REQUEST', async () => {
    const pub = join(dir.path, 'pub');
    await mkdir(pub);
    const f = await makeFile(pub, 'report.bin', 300_000);
    const secret = await makeFile(dir.path, 'secret.bin', 300_000); // outside the folder, same size
    const offer = offerFile(server, f);
    // After the offer, before the REQUEST: report.bin becomes a link to the secret.
    await symlink(secret.path, join(pub, 'swap.lnk'));
    await rename(join(pub, 'swap.lnk'), f.path);
    const res = await download(server.port, offer, dir.path);
    expect(res.sha256).toBe(f.sha256);
    expect(await fileSha256(res.path)).not.toBe(secret.sha256);
  });

  it('refuses to offer a path that is a symlink (FILE_UNREADABLE)', async () => {
    const secret = await makeFile(dir.path, 'secret2.bin', 100);
    const link = join(dir.path, 'link.bin');
    await symlink(secret.path, link);
    expect(() => server.offer({ owner: 'o', path: link, name: 'link.bin', size: 100, sha256: secret.sha256 })).toThrowError(
      expect.objectContaining({ code: 'PARLEY_ERR_FILE_UNREADABLE', message: expect.stringContaining('link') }),
    );
  });

  it('closes the file when an offer is cancelled or expires', async () => {
    const f = await makeFile(dir.path, 'fd.bin', 100);
    /** Descriptors of this process open on `path` (other test files may run in this process too). */
    const openOn = (path: string): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path;
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    for (let i = 0; i < 3; i++) offerFile(server, f, 'closer');
    expect(openOn(f.path)).toBe(3);
    server.cancelOwner('closer');
    expect(openOn(f.path)).toBe(0);
    await server.close(0);
    server = await startServer({ tokenTtlMs: 20 });
    offerFile(server, f);
    expect(openOn(f.path)).toBe(1);
    await waitFor(() => server.stats().pendingOffers === 0, 'the offer to expire');
    expect(openOn(f.path)).toBe(0);
  });
});

describe('offer() input checks', () => {
  it('refuses an impossible size or hash, and offers nothing after close', async () => {
    const base = { owner: 'o', path: '/x', name: 'x', size: 1, sha256: 'a'.repeat(64) };
    expect(() => server.offer({ ...base, size: -1 })).toThrowError(expect.objectContaining({ code: 'PARLEY_ERR_BAD_ARGUMENTS' }));
    expect(() => server.offer({ ...base, sha256: 'xyz' })).toThrowError(expect.objectContaining({ code: 'PARLEY_ERR_BAD_ARGUMENTS' }));
    await server.close(0);
    expect(() => server.offer(base)).toThrowError(expect.objectContaining({ code: 'PARLEY_ERR_SHUTDOWN' }));
  });
});
