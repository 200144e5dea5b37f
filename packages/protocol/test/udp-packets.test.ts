import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DATA_HEADER_BYTES,
  DEFAULT_PAYLOAD_BYTES,
  MAX_ACK_RANGES,
  MAX_ERROR_PACKET_BYTES,
  MTU_SAFE_DATAGRAM_BYTES,
  ParleyProtocolError,
  CHALLENGE_PACKET_BYTES,
  REQUEST_NONCE_OFFSET,
  REQUEST_PACKET_BYTES,
  UDP_VERSION,
  decodePacket,
  encodeDataInto,
  encodePacket,
  peekPacketType,
  useCrc32,
  type UdpPacket,
} from '../src/index.js';
import { expectCode } from './helpers/expect-code.js';

const token = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** Recomputes the CRC trailer after a test has edited a packet. */
function reseal(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
  return buf;
}

const samples: UdpPacket[] = [
  { type: 'request', transferId: 7, token, resumeFrom: 12, payloadSize: 1452, window: 4096 },
  { type: 'request', transferId: 7, token, resumeFrom: 0, payloadSize: 1452, window: 64, nonce: Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex') },
  { type: 'data', transferId: 0xffffffff, packetNumber: 5, chunk: 3, payload: Buffer.from('hello') },
  {
    type: 'ack',
    transferId: 1,
    largest: 100,
    ackDelayUs: 250,
    cumulative: 40,
    window: 512,
    ranges: [
      { first: 90, last: 100 },
      { first: 50, last: 88 },
      { first: 0, last: 0 },
    ],
  },
  { type: 'ack', transferId: 1, largest: 0, ackDelayUs: 0, cumulative: 0, window: 1, ranges: [] },
  { type: 'end', transferId: 2, totalChunks: 7, size: 2 ** 40 + 3 },
  { type: 'end-ack', transferId: 2, totalChunks: 7 },
  { type: 'cancel', transferId: 3, token, code: 'TRANSFER_CANCELLED', text: 'user pressed ctrl-c' },
  { type: 'error', transferId: 4, code: 'TRANSFER_REJECTED', text: 'ünknown token' },
  { type: 'challenge', transferId: 5, nonce: Buffer.from('0123456789abcdeffedcba9876543210', 'hex') },
];

describe('UDP packet codec', () => {
  it.each(samples.map((p) => [p.type, p] as const))('round-trips a %s packet', (_name, packet) => {
    const bytes = encodePacket(packet);
    expect(decodePacket(bytes)).toEqual(packet);
  });

  it('lays out a DATA packet byte by byte', () => {
    const bytes = encodePacket({ type: 'data', transferId: 0x01020304, packetNumber: 9, chunk: 2, payload: Buffer.from([0xaa]) });
    expect([...bytes.subarray(0, 17)]).toEqual([
      0x50,
      0x4c, // magic "PL"
      0x02, // version
      0x02, // type DATA
      0x01,
      0x02,
      0x03,
      0x04, // transfer id
      0,
      0,
      0,
      9, // packet number
      0,
      0,
      0,
      2, // chunk index
      0xaa, // payload
    ]);
    expect(bytes.readUInt32BE(17)).toBe(crc32(bytes.subarray(0, 17))); // CRC-32 trailer
  });

  it('makes a default DATA packet exactly 1472 bytes so it never fragments on a 1500 MTU', () => {
    const buf = Buffer.alloc(2048);
    const packet = encodeDataInto(buf, 1, 0, 0, DEFAULT_PAYLOAD_BYTES);
    expect(packet.length).toBe(MTU_SAFE_DATAGRAM_BYTES);
    expect(packet.buffer).toBe(buf.buffer); // written in place, no allocation
  });

  it('encodes DATA in place around a payload already in the buffer', () => {
    const buf = Buffer.alloc(64);
    buf.write('abc', DATA_HEADER_BYTES);
    const packet = decodePacket(encodeDataInto(buf, 5, 6, 7, 3));
    expect(packet).toMatchObject({ type: 'data', transferId: 5, packetNumber: 6, chunk: 7 });
    expect(packet.type === 'data' && packet.payload.toString()).toBe('abc');
  });

  it('pads REQUEST so that the largest ERROR reply is smaller than it (no amplification)', () => {
    expect(encodePacket(samples[0]!).length).toBe(REQUEST_PACKET_BYTES);
    expect(MAX_ERROR_PACKET_BYTES).toBeLessThan(REQUEST_PACKET_BYTES);
    const longest = encodePacket({ type: 'error', transferId: 1, code: 'TRANSFER_REJECTED', text: 'x'.repeat(500) });
    expect(longest.length).toBeLessThanOrEqual(MAX_ERROR_PACKET_BYTES);
  });

  it('lays out a CHALLENGE in 28 bytes, and the nonce echo at REQUEST offset 34 (zero: none)', () => {
    const nonce = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    const challenge = encodePacket({ type: 'challenge', transferId: 0x0a0b0c0d, nonce });
    expect(challenge.length).toBe(CHALLENGE_PACKET_BYTES);
    expect(CHALLENGE_PACKET_BYTES).toBe(28);
    expect([...challenge.subarray(0, 8)]).toEqual([0x50, 0x4c, UDP_VERSION, 8, 0x0a, 0x0b, 0x0c, 0x0d]);
    expect(challenge.subarray(8, 24)).toEqual(nonce); // the nonce, then the CRC-32
    expect(challenge.readUInt32BE(24)).toBe(crc32(challenge.subarray(0, 24)));
    // Never more than the REQUEST that caused it: a forged REQUEST cannot be amplified.
    expect(CHALLENGE_PACKET_BYTES * 3).toBeLessThan(REQUEST_PACKET_BYTES);

    const echo = encodePacket({ type: 'request', transferId: 1, token, resumeFrom: 0, payloadSize: 1452, window: 8, nonce });
    expect(echo.length).toBe(REQUEST_PACKET_BYTES);
    expect(echo.subarray(REQUEST_NONCE_OFFSET, REQUEST_NONCE_OFFSET + 16)).toEqual(nonce);
    const first = encodePacket({ type: 'request', transferId: 1, token, resumeFrom: 0, payloadSize: 1452, window: 8 });
    expect(first.subarray(REQUEST_NONCE_OFFSET, REQUEST_NONCE_OFFSET + 16)).toEqual(Buffer.alloc(16));
    expect(decodePacket(first)).not.toHaveProperty('nonce');
  });

  it('refuses a CHALLENGE of the wrong length', () => {
    const long = Buffer.concat([encodePacket(samples[samples.length - 1]!), Buffer.alloc(1)]);
    expectCode(() => decodePacket(reseal(long)), 'PACKET_OVERSIZED');
  });

  it('cuts control text at 64 bytes without splitting a character', () => {
    const bytes = encodePacket({ type: 'error', transferId: 1, code: 'QUIT', text: 'é'.repeat(40) });
    const decoded = decodePacket(bytes);
    expect(decoded.type === 'error' && decoded.text).toBe('é'.repeat(32));
  });

  it('refuses a datagram shorter than a header', () => {
    expectCode(() => decodePacket(Buffer.from([0x50, 0x4c, 1])), 'PACKET_TRUNCATED');
  });

  it('refuses a datagram longer than the configured limit', () => {
    const bytes = encodePacket({ type: 'data', transferId: 1, packetNumber: 1, chunk: 1, payload: Buffer.alloc(3000) });
    expectCode(() => decodePacket(bytes, { maxDatagramBytes: 2000 }), 'PACKET_OVERSIZED');
  });

  it('refuses a wrong magic, version or type', () => {
    const base = encodePacket(samples[6]!);
    const magic = Buffer.from(base);
    magic[0] = 0x51;
    expectCode(() => decodePacket(magic), 'PACKET_BAD_MAGIC');
    const version = Buffer.from(base);
    version[2] = 9;
    expectCode(() => decodePacket(version), 'PACKET_BAD_VERSION');
    const type = Buffer.from(base);
    type[3] = 99;
    expectCode(() => decodePacket(type), 'PACKET_UNKNOWN_TYPE');
  });

  it('refuses a packet with one flipped bit (CRC-32)', () => {
    const bytes = Buffer.from(encodePacket(samples[2]!));
    bytes[DATA_HEADER_BYTES] = (bytes[DATA_HEADER_BYTES] ?? 0) ^ 0x01;
    expectCode(() => decodePacket(bytes), 'PACKET_BAD_CHECKSUM');
  });

  it('refuses a REQUEST that is not padded to full size', () => {
    const bytes = encodePacket(samples[0]!);
    const short = reseal(Buffer.from(bytes.subarray(0, 100)));
    expectCode(() => decodePacket(short), 'PACKET_TRUNCATED');
  });

  it('refuses a REQUEST with an impossible payload size or window', () => {
    const bytes = Buffer.from(encodePacket(samples[0]!));
    bytes.writeUInt16BE(2, 28);
    expectCode(() => decodePacket(reseal(bytes)), 'PACKET_MALFORMED');
    const w = Buffer.from(encodePacket(samples[0]!));
    w.writeUInt32BE(0, 30);
    expectCode(() => decodePacket(reseal(w)), 'PACKET_MALFORMED');
  });

  it('refuses DATA without payload', () => {
    const bytes = Buffer.alloc(20);
    bytes.writeUInt16BE(0x504c, 0);
    bytes[2] = UDP_VERSION;
    bytes[3] = 2;
    expectCode(() => decodePacket(reseal(bytes)), 'PACKET_TRUNCATED');
  });

  it('refuses ACK ranges that overlap, ascend or exceed the cap', () => {
    const overlapping = encodePacket({
      type: 'ack',
      transferId: 1,
      largest: 10,
      ackDelayUs: 0,
      cumulative: 0,
      window: 1,
      ranges: [
        { first: 5, last: 10 },
        { first: 3, last: 5 },
      ],
    });
    expectCode(() => decodePacket(overlapping), 'PACKET_MALFORMED');
    const adjacent = encodePacket({
      type: 'ack',
      transferId: 1,
      largest: 10,
      ackDelayUs: 0,
      cumulative: 0,
      window: 1,
      ranges: [
        { first: 5, last: 10 },
        { first: 3, last: 4 },
      ],
    });
    expectCode(() => decodePacket(adjacent), 'PACKET_MALFORMED');
    const wrongTop = encodePacket({
      type: 'ack',
      transferId: 1,
      largest: 10,
      ackDelayUs: 0,
      cumulative: 0,
      window: 1,
      ranges: [{ first: 5, last: 9 }],
    });
    expectCode(() => decodePacket(wrongTop), 'PACKET_MALFORMED');
    const many = Buffer.from(encodePacket(samples[4]!));
    many[24] = MAX_ACK_RANGES + 1;
    expectCode(() => decodePacket(reseal(many)), 'PACKET_MALFORMED');
  });

  it('refuses an ACK whose length disagrees with its range count', () => {
    const bytes = Buffer.from(encodePacket(samples[3]!));
    bytes[24] = 2;
    expectCode(() => decodePacket(reseal(bytes)), 'PACKET_OVERSIZED');
    const more = Buffer.from(encodePacket(samples[3]!));
    more[24] = 4;
    expectCode(() => decodePacket(reseal(more)), 'PACKET_TRUNCATED');
  });

  it('refuses CANCEL and ERROR with an unknown code or invalid UTF-8', () => {
    const bytes = Buffer.from(encodePacket({ type: 'error', transferId: 1, code: 'QUIT', text: 'ab' }));
    bytes.write('QUIX', 9, 'latin1');
    expectCode(() => decodePacket(reseal(bytes)), 'PACKET_MALFORMED');
    const utf = Buffer.from(encodePacket({ type: 'error', transferId: 1, code: 'QUIT', text: 'ab' }));
    utf[14] = 0xff;
    expectCode(() => decodePacket(reseal(utf)), 'PACKET_MALFORMED');
  });

  it('reports the type of a packet without decoding it', () => {
    expect(peekPacketType(encodePacket(samples[5]!))).toBe('end');
    expect(peekPacketType(Buffer.from('nope nope'))).toBeUndefined();
  });

  it('never throws anything but ParleyProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), (bytes) => {
        try {
          decodePacket(Buffer.from(bytes));
        } catch (err) {
          if (!(err instanceof ParleyProtocolError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but ParleyProtocolError on mutated valid packets with a fixed CRC', () => {
    const encoded = samples.map((p) => encodePacket(p));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: encoded.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(400),
        (which, edits, cut) => {
          const original = encoded[which]!;
          const bytes = Buffer.from(original.subarray(0, Math.max(12, Math.min(original.length, cut + 12))));
          for (const [at, value] of edits) bytes[8 + (at % Math.max(1, bytes.length - 12))] = value;
          try {
            decodePacket(reseal(bytes));
          } catch (err) {
            if (!(err instanceof ParleyProtocolError)) throw err;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('useCrc32: a faster CRC-32 for the trailer', () => {
  /** A table CRC-32 in plain JS: the same function as zlib's, computed another way. */
  const table = Array.from({ length: 256 }, (_, i) => {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let calls = 0;
  const tableCrc = (buf: Uint8Array, end: number): number => {
    calls++;
    let c = 0xffffffff;
    for (let i = 0; i < end; i++) c = (table[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };

  it('uses an equal implementation for encoding and decoding, with the same bytes on the wire', () => {
    const packet = { type: 'data', transferId: 7, packetNumber: 9, chunk: 3, payload: Buffer.from('hello, checksum') } as const;
    const before = encodePacket(packet);
    try {
      useCrc32(tableCrc);
      calls = 0;
      const after = encodePacket(packet);
      expect(after.equals(before)).toBe(true);
      expect(decodePacket(after)).toMatchObject({ type: 'data', chunk: 3 });
      expect(calls).toBe(2);
      const bad = Buffer.from(after);
      bad[20] = (bad[20] as number) ^ 1;
      expect(() => decodePacket(bad)).toThrow(expect.objectContaining({ code: 'PARLEY_ERR_PACKET_BAD_CHECKSUM' }));
    } finally {
      useCrc32(undefined);
    }
  });

  it('refuses an implementation that differs from zlib.crc32, and keeps zlib', () => {
    const wrong = (buf: Uint8Array, end: number): number => (tableCrc(buf, end) ^ (end > 1000 ? 1 : 0)) >>> 0;
    expect(() => useCrc32(wrong)).toThrow(/differs from zlib\.crc32/);
    calls = 0;
    const dg = encodePacket({ type: 'end', transferId: 1, totalChunks: 2, size: 3 });
    expect(dg.readUInt32BE(dg.length - 4)).toBe(crc32(dg.subarray(0, dg.length - 4)));
    expect(calls).toBe(0);
  });
});
