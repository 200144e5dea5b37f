import dgram from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePacket, encodePacket } from '@parley/protocol';
import type { TransferServer } from '../src/index.js';
import { makeFile, makeTempDir, waitFor, type TempDir } from './helpers/files.js';
import { FORGE_AVAILABLE, forgeDatagrams } from './helpers/forge.js';
import { download, offerFile, requestPacket, startServer } from './helpers/setup.js';

let dir: TempDir;
let server: TransferServer;
let victim: dgram.Socket;

/** A socket at the victim's address (127.0.0.2, never used by the attacker) that records what reaches it. */
async function victimSocket(): Promise<{ address: string; port: number; got: Buffer[] }> {
  victim = dgram.createSocket('udp4');
  await new Promise<void>((r) => victim.bind(0, '127.0.0.2', r));
  const got: Buffer[] = [];
  victim.on('message', (m) => got.push(m));
  return { address: '127.0.0.2', port: victim.address().port, got };
}

beforeEach(async () => {
  dir = await makeTempDir();
  server = await startServer({ host: '127.0.0.1' });
});
afterEach(async () => {
  victim?.close();
  await server.close(0);
  await dir.remove();
});

describe.skipIf(!FORGE_AVAILABLE)("a REQUEST forged with a victim's source address (raw socket)", () => {
  it('draws at most 3× its bytes to the victim, never DATA, and the transfer never starts', async () => {
    const f = await makeFile(dir.path, 'loot.bin', 4_000_000);
    // The attacker's own token, from his own chat session.
    const offer = offerFile(server, f, 'mallory');
    const v = await victimSocket();

    // Three copies of the REQUEST (as a client retransmits), from the victim's address.
    let forged = forgeDatagrams(v, server.port, [requestPacket(offer), requestPacket(offer), requestPacket(offer)]);
    await waitFor(() => v.got.length > 0, 'the first reply to reach the victim');
    // ACKs that acknowledge nothing, as an attacker sends to keep a flow alive.
    const emptyAck = encodePacket({ type: 'ack', transferId: offer.id, largest: 0, ackDelayUs: 0, cumulative: 0, window: 4096, ranges: [] });
    forged += forgeDatagrams(v, server.port, [emptyAck, emptyAck, emptyAck]);
    // A marker: a REQUEST for a transfer that does not exist. Datagrams from one source are
    // handled in order, so once its ERROR is in, everything before it has been answered.
    const marker = requestPacket({ id: (offer.id + 7777) >>> 0, token: offer.token });
    forged += forgeDatagrams(v, server.port, [marker]);
    await waitFor(() => v.got.some((b) => decodePacket(b).type === 'error'), 'the ERROR answering the marker');

    const types = v.got.map((b) => decodePacket(b).type);
    const received = v.got.reduce((n, b) => n + b.length, 0);
    expect(types).not.toContain('data');
    expect(types.filter((t) => t === 'challenge')).toHaveLength(3);
    expect(received).toBeLessThanOrEqual(3 * forged);
    expect(server.stats()).toMatchObject({ active: 0, pendingOffers: 1 });
    expect(server.stats().dropped).toMatchObject({ challenged: 3, unknown_transfer: 4 }); // 3 empty ACKs + the marker

    // The offer is not spent: its owner, from his real address, still gets the file.
    const res = await download(server.port, offer, dir.path);
    expect(res.sha256).toBe(f.sha256);
  });

  it("cannot validate the victim's address by guessing: a forged REQUEST with a wrong nonce is challenged again", async () => {
    const f = await makeFile(dir.path, 'loot2.bin', 1_000_000);
    const offer = offerFile(server, f, 'mallory');
    const v = await victimSocket();
    const guess = Buffer.alloc(16, 0x5a);
    const forged = forgeDatagrams(v, server.port, [requestPacket(offer, guess), requestPacket(offer)]);
    await waitFor(() => v.got.length >= 2, 'two replies to reach the victim');
    await waitFor(() => (server.stats().dropped['challenged'] ?? 0) === 1, 'the second REQUEST to be counted');
    expect(v.got.map((b) => decodePacket(b).type)).toEqual(['challenge', 'challenge']);
    expect(v.got.reduce((n, b) => n + b.length, 0)).toBeLessThanOrEqual(3 * forged);
    expect(server.stats()).toMatchObject({ active: 0, pendingOffers: 1 });
    expect(server.stats().dropped).toMatchObject({ bad_nonce: 1 });
  });
});
