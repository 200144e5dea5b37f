/*
 * Sealed packets: the UDP packets of an encrypted transfer (PROTOCOL.md §5.7).
 *
 *   offset 0   magic, version, type | 0x80, transfer id   ┐ associated data
 *   offset 8   sealing number u32                         ┘ (authenticated, in clear)
 *   offset 12  the plain packet's fields from offset 8 on, encrypted
 *   len − 16   Poly1305 tag (replaces the CRC)
 *
 * DATA is the one exception to "fields from offset 8": its packet number is the
 * sealing number, so only chunk index and payload are encrypted and a sealed
 * DATA is 12 bytes longer than a plain one (16 for the others).
 *
 * Nonce (12 bytes): direction (0x53 'S' server → client, 0x43 'C' client →
 * server), the plain type code, six zero bytes, the sealing number. DATA uses its
 * packet number, which a sender never reuses (a retransmission gets a new one);
 * every other packet takes the next number of its sealer's control counter, so a
 * re-sent END, ACK or CANCEL is sealed again under a new nonce. The direction
 * byte keeps the two ends' numbers apart and makes a reflected packet fail.
 */
import { createCipheriv, createDecipheriv, randomInt } from 'node:crypto';
import { protocolError } from '../errors.js';
import {
  AEAD_ALGORITHM,
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
  DATA_HEADER_BYTES,
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  MAX_SEALED_PAYLOAD_BYTES,
  PACKET_TYPES,
  SEALED_FLAG,
  SEALED_HEADER_BYTES,
  TRAILER_BYTES,
  UDP_MAGIC,
  UDP_VERSION,
} from './constants.js';
import { decodeFields } from './packet-decode.js';
import { encodePacket } from './packet-encode.js';
import { TYPE_NAMES, type DecodeOptions, type UdpPacket } from './packet-types.js';

/** Which end of the transfer a sealer belongs to. */
export type SealRole = 'server' | 'client';

const DIRECTION = { server: 0x53, client: 0x43 } as const;
const U32_MAX = 0xffff_ffff;
/** Sealed DATA: header, packet number, chunk index, at least one payload byte, tag. */
const MIN_SEALED_DATA_BYTES = DATA_HEADER_BYTES + 1 + AEAD_TAG_BYTES;

function unauthenticated(why: string): never {
  throw protocolError('PACKET_UNAUTHENTICATED', why);
}

/**
 * A faster ChaCha20-Poly1305 for sealing in place (e.g. a native one that keeps
 * one cipher context per key). `buf[0, aadEnd)` is the associated data.
 */
export interface AeadBackend {
  /** A context for one 32-byte key, made once per sealer. */
  context(key: Uint8Array): unknown;
  /** Encrypts `buf[aadEnd, end)` in place and writes the 16-byte tag at `buf[end]`. */
  seal(context: unknown, nonce: Uint8Array, buf: Uint8Array, aadEnd: number, end: number): void;
  /** Decrypts `buf[aadEnd, tagAt)` in place; true when the tag at `buf[tagAt]` verifies (else the bytes are garbage). */
  open(context: unknown, nonce: Uint8Array, buf: Uint8Array, aadEnd: number, tagAt: number): boolean;
}

/** node:crypto: a cipher object per packet (no in-place update: the output is copied back). */
function cryptoSeal(key: Buffer, nonce: Buffer, buf: Buffer, aadEnd: number, end: number): void {
  const cipher = createCipheriv(AEAD_ALGORITHM, key, nonce, { authTagLength: AEAD_TAG_BYTES });
  cipher.setAAD(buf.subarray(0, aadEnd), { plaintextLength: end - aadEnd });
  cipher.update(buf.subarray(aadEnd, end)).copy(buf, aadEnd);
  cipher.final();
  cipher.getAuthTag().copy(buf, end);
}

function cryptoOpen(key: Buffer, nonce: Buffer, buf: Buffer, aadEnd: number, tagAt: number): boolean {
  const decipher = createDecipheriv(AEAD_ALGORITHM, key, nonce, { authTagLength: AEAD_TAG_BYTES });
  decipher.setAAD(buf.subarray(0, aadEnd), { plaintextLength: tagAt - aadEnd });
  decipher.setAuthTag(buf.subarray(tagAt, tagAt + AEAD_TAG_BYTES));
  const plain = decipher.update(buf.subarray(aadEnd, tagAt));
  try {
    decipher.final();
  } catch {
    return false;
  }
  plain.copy(buf, aadEnd);
  return true;
}

let backend: AeadBackend | undefined;

/**
 * Installs a faster AEAD for sealed packets. It must produce exactly the bytes of
 * node:crypto's chacha20-poly1305: checked on test data first (sealing, opening,
 * and refusing an altered packet), and refused with a thrown Error, nothing
 * changed, if it differs. The wire is the same either way. `useAead(undefined)`
 * goes back to node:crypto. Sealers already made switch at their next packet.
 */
export function useAead(impl: AeadBackend | undefined): void {
  if (impl === undefined) {
    backend = undefined;
    return;
  }
  const key = Buffer.alloc(AEAD_KEY_BYTES);
  const nonce = Buffer.alloc(AEAD_NONCE_BYTES);
  for (let i = 0; i < key.length; i++) key[i] = (i * 7 + 3) & 0xff;
  for (let i = 0; i < nonce.length; i++) nonce[i] = (i * 13 + 1) & 0xff;
  const context = impl.context(key);
  for (const [aadEnd, end] of [
    [12, 12],
    [12, 13],
    [12, 45],
    [12, 1456],
    [12, 1500],
  ] as const) {
    const data = Buffer.alloc(end + AEAD_TAG_BYTES);
    for (let i = 0; i < end; i++) data[i] = (i * 31 + end) & 0xff;
    const expected = Buffer.from(data);
    cryptoSeal(key, nonce, expected, aadEnd, end);
    const got = Buffer.from(data);
    impl.seal(context, nonce, got, aadEnd, end);
    if (!got.equals(expected)) throw new Error(`useAead: sealing differs from node:crypto on ${end} bytes`);
    if (!impl.open(context, nonce, got, aadEnd, end) || !got.subarray(0, end).equals(data.subarray(0, end))) {
      throw new Error(`useAead: opening fails on ${end} bytes`);
    }
    expected[end - 1] = (expected[end - 1] as number) ^ 1;
    if (impl.open(context, nonce, expected, aadEnd, end)) throw new Error(`useAead: an altered packet of ${end} bytes opens`);
  }
  backend = impl;
}

/** Which AEAD implementation seals packets now. */
export function aeadImplementation(): 'native' | 'node:crypto' {
  return backend === undefined ? 'node:crypto' : 'native';
}

/**
 * Seals and opens the packets of one transfer at one end, under its 32-byte key.
 * Holds the control counter, so one sealer per end per transfer: the server's is
 * shared by its CHALLENGE / ERROR replies and its sender; the client's belongs to
 * its receiver. A client sealer starts its counter at a random point below 2^31, so
 * that a second download attempt with the same offer does not repeat its nonces.
 */
export class PacketSealer {
  private readonly key: Buffer;
  private readonly sendDirection: number;
  private readonly receiveDirection: number;
  private readonly sendNonce = Buffer.alloc(AEAD_NONCE_BYTES);
  private readonly receiveNonce = Buffer.alloc(AEAD_NONCE_BYTES);
  private controlNumber: number;
  /** The backend `context` was made for (contexts are made lazily, per backend). */
  private contextOf: AeadBackend | undefined;
  private context: unknown;

  constructor(key: Buffer, role: SealRole) {
    if (key.length !== AEAD_KEY_BYTES) throw new RangeError(`transfer key must be ${AEAD_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
    this.sendDirection = DIRECTION[role];
    this.receiveDirection = DIRECTION[role === 'server' ? 'client' : 'server'];
    this.controlNumber = role === 'client' ? randomInt(0, 2 ** 31) : 0;
  }

  private nonce(into: Buffer, direction: number, type: number, number: number): Buffer {
    into[0] = direction;
    into[1] = type;
    into.writeUInt32BE(number, 8);
    return into;
  }

  private backendContext(b: AeadBackend): unknown {
    if (this.contextOf !== b) {
      this.context = b.context(this.key);
      this.contextOf = b;
    }
    return this.context;
  }

  /** Seals `buf[SEALED_HEADER_BYTES, end)` in place (header = associated data), tag at `end`. */
  private sealInPlace(buf: Buffer, end: number, type: number, number: number): void {
    const nonce = this.nonce(this.sendNonce, this.sendDirection, type, number);
    const b = backend;
    if (b !== undefined) b.seal(this.backendContext(b), nonce, buf, SEALED_HEADER_BYTES, end);
    else cryptoSeal(this.key, nonce, buf, SEALED_HEADER_BYTES, end);
  }

  /**
   * Seals a DATA packet in place: the caller has put the payload at
   * `target[DATA_HEADER_BYTES, DATA_HEADER_BYTES + payloadLength)`; `target` must
   * hold `DATA_HEADER_BYTES + payloadLength + AEAD_TAG_BYTES` bytes. The packet
   * number must never have been used under this key (a sender's never is).
   * Returns the packet, a view of `target`.
   */
  sealDataInto(target: Buffer, transferId: number, packetNumber: number, chunk: number, payloadLength: number): Buffer {
    if (payloadLength < 1 || payloadLength > MAX_SEALED_PAYLOAD_BYTES) {
      throw protocolError('PACKET_MALFORMED', `sealed DATA payload length ${payloadLength} is outside 1..${MAX_SEALED_PAYLOAD_BYTES}`);
    }
    const end = DATA_HEADER_BYTES + payloadLength;
    if (target.length < end + AEAD_TAG_BYTES) throw protocolError('PACKET_OVERSIZED', 'target buffer is too small for this sealed DATA packet');
    target.writeUInt16BE(UDP_MAGIC, 0);
    target[2] = UDP_VERSION;
    target[3] = PACKET_TYPES.DATA | SEALED_FLAG;
    target.writeUInt32BE(transferId, 4);
    target.writeUInt32BE(packetNumber, 8);
    target.writeUInt32BE(chunk, 12);
    // In place, in the packet's own memory (node:crypto copies its output back once).
    this.sealInPlace(target, end, PACKET_TYPES.DATA, packetNumber);
    return target.subarray(0, end + AEAD_TAG_BYTES);
  }

  /** Encodes and seals any packet but DATA under the next control number (a new buffer). */
  seal(packet: UdpPacket): Buffer {
    if (packet.type === 'data') {
      const buf = Buffer.allocUnsafe(DATA_HEADER_BYTES + packet.payload.length + AEAD_TAG_BYTES);
      packet.payload.copy(buf, DATA_HEADER_BYTES);
      return this.sealDataInto(buf, packet.transferId, packet.packetNumber, packet.chunk, packet.payload.length);
    }
    const plain = encodePacket(packet);
    const fieldsEnd = plain.length - TRAILER_BYTES;
    const out = Buffer.allocUnsafe(SEALED_HEADER_BYTES + fieldsEnd - HEADER_BYTES + AEAD_TAG_BYTES);
    if (out.length > MAX_DATAGRAM_BYTES) throw protocolError('PACKET_OVERSIZED', `sealed packet would be ${out.length} bytes`);
    if (this.controlNumber > U32_MAX) throw protocolError('PACKET_MALFORMED', 'control sealing numbers are exhausted for this key');
    const number = this.controlNumber++;
    const type = plain[3] as number;
    plain.copy(out, 0, 0, HEADER_BYTES);
    out[3] = type | SEALED_FLAG;
    out.writeUInt32BE(number, HEADER_BYTES);
    plain.copy(out, SEALED_HEADER_BYTES, HEADER_BYTES, fieldsEnd);
    this.sealInPlace(out, out.length - AEAD_TAG_BYTES, type, number);
    return out;
  }

  /**
   * Authenticates, decrypts and decodes one datagram from the other end. Throws
   * only ParleyProtocolError: the envelope codes of `decodePacket` (length, magic,
   * version, type), PACKET_UNAUTHENTICATED for a packet that is not sealed or whose
   * tag does not verify under this key (nothing of it is used), then the field
   * rules of its type. Decrypts in place: `buf` holds plaintext afterwards (a DATA
   * payload is a view of it).
   */
  open(buf: Buffer, options: DecodeOptions = {}): UdpPacket {
    const maxBytes = options.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
    if (buf.length > maxBytes) throw protocolError('PACKET_OVERSIZED', `datagram is ${buf.length} bytes, limit ${maxBytes}`);
    if (buf.length < HEADER_BYTES) throw protocolError('PACKET_TRUNCATED', `datagram is ${buf.length} bytes, shorter than a header`);
    if (buf.readUInt16BE(0) !== UDP_MAGIC) throw protocolError('PACKET_BAD_MAGIC');
    if (buf[2] !== UDP_VERSION) throw protocolError('PACKET_BAD_VERSION', `packet version ${buf[2]} is not supported`);
    const typeByte = buf[3] as number;
    const type = typeByte & ~SEALED_FLAG;
    const typeName = TYPE_NAMES[type];
    if (typeName === undefined) throw protocolError('PACKET_UNKNOWN_TYPE', `unknown packet type ${typeByte}`);
    if ((typeByte & SEALED_FLAG) === 0) unauthenticated(`a plain ${typeName} packet on an encrypted transfer`);
    const minBytes = typeName === 'data' ? MIN_SEALED_DATA_BYTES : SEALED_HEADER_BYTES + AEAD_TAG_BYTES;
    if (buf.length < minBytes) throw protocolError('PACKET_TRUNCATED', `sealed packet is ${buf.length} bytes, shorter than its header and tag`);
    const tagAt = buf.length - AEAD_TAG_BYTES;
    const number = buf.readUInt32BE(HEADER_BYTES);
    const nonce = this.nonce(this.receiveNonce, this.receiveDirection, type, number);
    const b = backend;
    const ok =
      b !== undefined ? b.open(this.backendContext(b), nonce, buf, SEALED_HEADER_BYTES, tagAt) : cryptoOpen(this.key, nonce, buf, SEALED_HEADER_BYTES, tagAt);
    if (!ok) unauthenticated('tag does not verify');
    const transferId = buf.readUInt32BE(4);
    // The plain decoder reads a type's fields from offset 8 and its trailer's place:
    // DATA's fields already sit where they would (its packet number is the sealing
    // number), the others are seen through a view shifted by the 4-byte number.
    if (typeName === 'data') return decodeFields(typeName, buf.subarray(0, tagAt + TRAILER_BYTES), transferId, tagAt);
    return decodeFields(typeName, buf.subarray(4, tagAt + TRAILER_BYTES), transferId, tagAt - 4);
  }
}
