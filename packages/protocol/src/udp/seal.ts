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
import { TYPE_NAMES, decodeFields, encodePacket, type DecodeOptions, type UdpPacket } from './packet.js';

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
    const cipher = createCipheriv(AEAD_ALGORITHM, this.key, this.nonce(this.sendNonce, this.sendDirection, PACKET_TYPES.DATA, packetNumber), {
      authTagLength: AEAD_TAG_BYTES,
    });
    cipher.setAAD(target.subarray(0, SEALED_HEADER_BYTES), { plaintextLength: payloadLength + 4 });
    // node:crypto has no in-place update: the ciphertext comes back in a new buffer
    // and is copied over the plaintext (one memcpy of the payload; see BENCHMARKS).
    cipher.update(target.subarray(SEALED_HEADER_BYTES, end)).copy(target, SEALED_HEADER_BYTES);
    cipher.final();
    cipher.getAuthTag().copy(target, end);
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
    const cipher = createCipheriv(AEAD_ALGORITHM, this.key, this.nonce(this.sendNonce, this.sendDirection, type, number), { authTagLength: AEAD_TAG_BYTES });
    cipher.setAAD(out.subarray(0, SEALED_HEADER_BYTES), { plaintextLength: fieldsEnd - HEADER_BYTES });
    const ct = cipher.update(plain.subarray(HEADER_BYTES, fieldsEnd));
    cipher.final();
    ct.copy(out, SEALED_HEADER_BYTES);
    cipher.getAuthTag().copy(out, SEALED_HEADER_BYTES + ct.length);
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
    const decipher = createDecipheriv(AEAD_ALGORITHM, this.key, this.nonce(this.receiveNonce, this.receiveDirection, type, number), {
      authTagLength: AEAD_TAG_BYTES,
    });
    decipher.setAAD(buf.subarray(0, SEALED_HEADER_BYTES), { plaintextLength: tagAt - SEALED_HEADER_BYTES });
    decipher.setAuthTag(buf.subarray(tagAt));
    const plain = decipher.update(buf.subarray(SEALED_HEADER_BYTES, tagAt));
    try {
      decipher.final();
    } catch {
      unauthenticated('tag does not verify');
    }
    plain.copy(buf, SEALED_HEADER_BYTES);
    const transferId = buf.readUInt32BE(4);
    // The plain decoder reads a type's fields from offset 8 and its trailer's place:
    // DATA's fields already sit where they would (its packet number is the sealing
    // number), the others are seen through a view shifted by the 4-byte number.
    if (typeName === 'data') return decodeFields(typeName, buf.subarray(0, tagAt + TRAILER_BYTES), transferId, tagAt);
    return decodeFields(typeName, buf.subarray(4, tagAt + TRAILER_BYTES), transferId, tagAt - 4);
  }
}
