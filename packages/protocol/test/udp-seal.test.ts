import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AEAD_TAG_BYTES,
  DATA_HEADER_BYTES,
  DEFAULT_SEALED_PAYLOAD_BYTES,
  MTU_SAFE_DATAGRAM_BYTES,
  PacketSealer,
  ParleyProtocolError,
  aeadImplementation,
  useAead,
  type AeadBackend,
  REQUEST_PACKET_BYTES,
  SEALED_CONTROL_EXTRA_BYTES,
  SEALED_DATA_EXTRA_BYTES,
  decodePacket,
  encodePacket,
  isSealed,
  peekPacketType,
  type UdpPacket,
} from '../src/index.js';
import { expectCode } from './helpers/expect-code.js';

const key = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const token = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** Packets each end sends: server → client, client → server. */
const fromServer: UdpPacket[] = [
  { type: 'data', transferId: 9, packetNumber: 5, chunk: 3, payload: Buffer.from('the secret file bytes, sixteen+') },
  { type: 'end', transferId: 9, totalChunks: 7, size: 2 ** 40 + 3 },
  { type: 'cancel', transferId: 9, token, code: 'SHUTDOWN', text: 'server is shutting down' },
  { type: 'error', transferId: 9, code: 'TRANSFER_REJECTED', text: 'token expired' },
  { type: 'challenge', transferId: 9, nonce: Buffer.from('0123456789abcdeffedcba9876543210', 'hex') },
];
const fromClient: UdpPacket[] = [
  { type: 'request', transferId: 9, token, resumeFrom: 2, payloadSize: 1440, window: 4096, nonce: Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex') },
  {
    type: 'ack',
    transferId: 9,
    largest: 100,
    ackDelayUs: 250,
    cumulative: 40,
    window: 512,
    ranges: [
      { first: 90, last: 100 },
      { first: 0, last: 88 },
    ],
  },
  { type: 'end-ack', transferId: 9, totalChunks: 7 },
  { type: 'cancel', transferId: 9, token, code: 'TRANSFER_CANCELLED', text: 'user pressed ctrl-c' },
];

function ends(): { server: PacketSealer; client: PacketSealer } {
  return { server: new PacketSealer(key, 'server'), client: new PacketSealer(key, 'client') };
}

describe('sealed UDP packets (encrypted transfers)', () => {
  it('round-trips every packet each end sends, with the type in clear and the fields encrypted', () => {
    const { server, client } = ends();
    for (const [from, to, packets] of [
      [server, client, fromServer],
      [client, server, fromClient],
    ] as const) {
      for (const p of packets) {
        const sealed = from.seal(p);
        expect(isSealed(sealed)).toBe(true);
        expect(peekPacketType(sealed)).toBe(p.type);
        const extra = p.type === 'data' ? SEALED_DATA_EXTRA_BYTES : SEALED_CONTROL_EXTRA_BYTES;
        expect(sealed.length).toBe(encodePacket(p).length + extra);
        expect(to.open(Buffer.from(sealed))).toEqual(p);
      }
    }
  });

  it('makes a default sealed DATA packet exactly 1472 bytes, and a sealed REQUEST 272', () => {
    const { server, client } = ends();
    const payload = Buffer.alloc(DEFAULT_SEALED_PAYLOAD_BYTES, 7);
    expect(server.seal({ type: 'data', transferId: 1, packetNumber: 0, chunk: 0, payload }).length).toBe(MTU_SAFE_DATAGRAM_BYTES);
    expect(client.seal(fromClient[0]!).length).toBe(REQUEST_PACKET_BYTES + 16);
  });

  it('carries no plaintext: the payload is not in the sealed DATA packet', () => {
    const { server } = ends();
    const payload = Buffer.from(`${'A'.repeat(64)}the secret file bytes`);
    const sealed = server.seal({ type: 'data', transferId: 1, packetNumber: 0, chunk: 0, payload });
    expect(sealed.includes(payload.subarray(0, 16))).toBe(false);
    expect(sealed.includes(payload.subarray(64, 80))).toBe(false);
  });

  it('never repeats a nonce: the same END sealed twice differs, and both open', () => {
    const { server, client } = ends();
    const a = server.seal(fromServer[1]!);
    const b = server.seal(fromServer[1]!);
    expect(a.equals(b)).toBe(false);
    expect(a.readUInt32BE(8) + 1).toBe(b.readUInt32BE(8));
    expect(client.open(a)).toEqual(fromServer[1]);
    expect(client.open(b)).toEqual(fromServer[1]);
  });

  it('refuses a packet with any one bit flipped, in the header, the number, the ciphertext or the tag', () => {
    const { server } = ends();
    const sealed = server.seal(fromServer[0]!);
    for (let bit = 3 * 8 + 7 + 1; bit < sealed.length * 8; bit++) {
      const bad = Buffer.from(sealed);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      // (Bits 0..31 are magic, version and the type: those fail with their own codes first.)
      expectCode(() => ends().client.open(bad), 'PACKET_UNAUTHENTICATED');
    }
  });

  it('refuses a plain packet, a packet sealed under another key and a reflected one', () => {
    const { server, client } = ends();
    expectCode(() => client.open(encodePacket(fromServer[1]!)), 'PACKET_UNAUTHENTICATED');
    const other = new PacketSealer(randomBytes(32), 'server');
    expectCode(() => client.open(other.seal(fromServer[1]!)), 'PACKET_UNAUTHENTICATED');
    // A client's own CANCEL sent back at it: the direction byte of the nonce differs.
    expectCode(() => client.open(client.seal(fromClient[3]!)), 'PACKET_UNAUTHENTICATED');
    expectCode(() => server.open(server.seal(fromServer[2]!)), 'PACKET_UNAUTHENTICATED');
  });

  it('is dropped by a plain decoder as an unknown type (an old peer ignores it)', () => {
    expectCode(() => decodePacket(ends().server.seal(fromServer[1]!)), 'PACKET_UNKNOWN_TYPE');
  });

  it('seals DATA in place around a payload already in the buffer', () => {
    const { server, client } = ends();
    const payload = Buffer.from('in place payload');
    const buf = Buffer.alloc(DATA_HEADER_BYTES + payload.length + AEAD_TAG_BYTES + 10);
    payload.copy(buf, DATA_HEADER_BYTES);
    const sealed = server.sealDataInto(buf, 4, 77, 2, payload.length);
    expect(sealed.buffer).toBe(buf.buffer);
    expect(client.open(Buffer.from(sealed))).toEqual({ type: 'data', transferId: 4, packetNumber: 77, chunk: 2, payload });
  });

  it('never throws anything but ParleyProtocolError on mutated or truncated sealed packets', () => {
    const { server, client } = ends();
    const sealed = [...fromServer.map((p) => server.seal(p))];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sealed.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(400),
        (which, edits, cut) => {
          const bytes = Buffer.from(sealed[which]!.subarray(0, Math.min(sealed[which]!.length, cut)));
          for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
          try {
            client.open(bytes);
          } catch (err) {
            if (!(err instanceof ParleyProtocolError)) throw err;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new PacketSealer(Buffer.alloc(16), 'server')).toThrow(RangeError);
  });
});

/** A correct backend built on node:crypto (as a native one must behave), counting its calls. */
function jsBackend(calls: { seal: number; open: number }, corrupt = false): AeadBackend {
  return {
    context: (key) => Buffer.from(key),
    seal(ctx, nonce, buf, aadEnd, end) {
      calls.seal++;
      const c = createCipheriv('chacha20-poly1305', ctx as Buffer, nonce, { authTagLength: 16 });
      c.setAAD(buf.subarray(0, aadEnd), { plaintextLength: end - aadEnd });
      Buffer.from(c.update(buf.subarray(aadEnd, end))).copy(buf, aadEnd);
      c.final();
      c.getAuthTag().copy(buf, end);
      if (corrupt) buf[end]! ^= 1;
    },
    open(ctx, nonce, buf, aadEnd, tagAt) {
      calls.open++;
      const d = createDecipheriv('chacha20-poly1305', ctx as Buffer, nonce, { authTagLength: 16 });
      d.setAAD(buf.subarray(0, aadEnd), { plaintextLength: tagAt - aadEnd });
      d.setAuthTag(buf.subarray(tagAt, tagAt + 16));
      const p = d.update(buf.subarray(aadEnd, tagAt));
      try {
        d.final();
      } catch {
        return false;
      }
      p.copy(buf, aadEnd);
      return true;
    },
  };
}

describe('useAead: a faster AEAD for sealed packets', () => {
  it('uses an equal implementation for sealing and opening, with the same bytes on the wire', () => {
    const before = ends().server.seal(fromServer[0]!);
    const calls = { seal: 0, open: 0 };
    try {
      useAead(jsBackend(calls));
      expect(aeadImplementation()).toBe('native');
      const { server, client } = ends();
      const sealed = server.seal(fromServer[0]!);
      expect(sealed.equals(before)).toBe(true);
      expect(client.open(Buffer.from(sealed))).toEqual(fromServer[0]);
      expectCode(() => client.open(Buffer.from(sealed).fill(1, 20, 21)), 'PACKET_UNAUTHENTICATED');
      expect(calls.seal).toBeGreaterThan(5);
      expect(calls.open).toBeGreaterThan(5);
    } finally {
      useAead(undefined);
    }
    expect(aeadImplementation()).toBe('node:crypto');
  });

  it('refuses an implementation that differs from node:crypto, and keeps node:crypto', () => {
    expect(() => useAead(jsBackend({ seal: 0, open: 0 }, true))).toThrow(/differs/u);
    expect(aeadImplementation()).toBe('node:crypto');
    const accepting = { ...jsBackend({ seal: 0, open: 0 }), open: () => true };
    expect(() => useAead(accepting)).toThrow(/altered/u);
    expect(aeadImplementation()).toBe('node:crypto');
  });
});
