import { protocolError, type ErrorCode } from '../errors.js';
import {
  CONTROL_TEXT_MAX_BYTES,
  DATA_HEADER_BYTES,
  DATA_OVERHEAD_BYTES,
  HEADER_BYTES,
  MAX_ACK_RANGES,
  MAX_DATAGRAM_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_RECEIVE_WINDOW,
  MIN_PAYLOAD_BYTES,
  NONCE_BYTES,
  PACKET_TYPES,
  CHALLENGE_PACKET_BYTES,
  REQUEST_NONCE_OFFSET,
  REQUEST_PACKET_BYTES,
  TOKEN_BYTES,
  TRAILER_BYTES,
  UDP_MAGIC,
  UDP_VERSION,
} from './constants.js';

import { trailerChecksum } from './checksum.js';
import { ACK_FIXED_BYTES, U32_MAX, type UdpPacket } from './packet-types.js';

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw protocolError('PACKET_MALFORMED', `${what} must be a u32, got ${value}`);
  }
}

function writeHeader(buf: Buffer, type: number, transferId: number): void {
  checkU32(transferId, 'transfer id');
  buf.writeUInt16BE(UDP_MAGIC, 0);
  buf[2] = UDP_VERSION;
  buf[3] = type;
  buf.writeUInt32BE(transferId, 4);
}

/** Writes the CRC trailer over `buf[0, length - 4)` and returns the packet view. */
function seal(buf: Buffer, length: number): Buffer {
  const end = length - TRAILER_BYTES;
  buf.writeUInt32BE(trailerChecksum(buf, end), end);
  return buf.subarray(0, length);
}

/**
 * Writes a DATA packet into `target` whose payload the caller has already put at
 * `target[DATA_HEADER_BYTES, DATA_HEADER_BYTES + payloadLength)` (e.g. read from
 * the file straight into it). Returns the packet (a view of `target`). No allocation.
 */
export function encodeDataInto(target: Buffer, transferId: number, packetNumber: number, chunk: number, payloadLength: number): Buffer {
  if (payloadLength < 1 || payloadLength > MAX_PAYLOAD_BYTES) {
    throw protocolError('PACKET_MALFORMED', `DATA payload length ${payloadLength} is outside 1..${MAX_PAYLOAD_BYTES}`);
  }
  const length = DATA_OVERHEAD_BYTES + payloadLength;
  if (target.length < length) throw protocolError('PACKET_OVERSIZED', 'target buffer is too small for this DATA packet');
  checkU32(packetNumber, 'packet number');
  checkU32(chunk, 'chunk index');
  writeHeader(target, PACKET_TYPES.DATA, transferId);
  target.writeUInt32BE(packetNumber, 8);
  target.writeUInt32BE(chunk, 12);
  return seal(target, length);
}

/** Exact encoded size of a packet. */
export function encodedLength(packet: UdpPacket): number {
  switch (packet.type) {
    case 'request':
      return REQUEST_PACKET_BYTES;
    case 'data':
      return DATA_OVERHEAD_BYTES + packet.payload.length;
    case 'ack':
      return ACK_FIXED_BYTES + packet.ranges.length * 8 + TRAILER_BYTES;
    case 'end':
      return HEADER_BYTES + 12 + TRAILER_BYTES;
    case 'end-ack':
      return HEADER_BYTES + 4 + TRAILER_BYTES;
    case 'cancel':
      return HEADER_BYTES + TOKEN_BYTES + reasonLength(packet.code, packet.text) + TRAILER_BYTES;
    case 'error':
      return HEADER_BYTES + reasonLength(packet.code, packet.text) + TRAILER_BYTES;
    case 'challenge':
      return CHALLENGE_PACKET_BYTES;
  }
}

/** Cuts `text` to at most CONTROL_TEXT_MAX_BYTES of UTF-8 without splitting a character. */
export function clampControlText(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= CONTROL_TEXT_MAX_BYTES) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > CONTROL_TEXT_MAX_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function reasonLength(code: ErrorCode, text: string): number {
  return 1 + code.length + 1 + Buffer.byteLength(clampControlText(text), 'utf8');
}

function writeReason(buf: Buffer, at: number, code: ErrorCode, text: string): number {
  buf[at] = code.length;
  buf.write(code, at + 1, 'latin1');
  const clamped = clampControlText(text);
  const n = buf.write(clamped, at + 2 + code.length, 'utf8');
  buf[at + 1 + code.length] = n;
  return at + 2 + code.length + n;
}

/**
 * Encodes any packet. Writes into `target` when given (it must be large
 * enough; see `encodedLength`) and returns a view of it; otherwise allocates.
 */
export function encodePacket(packet: UdpPacket, target?: Buffer): Buffer {
  const length = encodedLength(packet);
  if (length > MAX_DATAGRAM_BYTES) throw protocolError('PACKET_OVERSIZED', `packet would be ${length} bytes`);
  if (target !== undefined && target.length < length) {
    throw protocolError('PACKET_OVERSIZED', `target buffer holds ${target.length} bytes, packet needs ${length}`);
  }
  const buf = target ?? Buffer.allocUnsafe(length);
  switch (packet.type) {
    case 'request': {
      if (packet.token.length !== TOKEN_BYTES) throw protocolError('PACKET_MALFORMED', 'token must be 16 bytes');
      checkU32(packet.resumeFrom, 'resume-from');
      if (!Number.isInteger(packet.payloadSize) || packet.payloadSize < MIN_PAYLOAD_BYTES || packet.payloadSize > MAX_PAYLOAD_BYTES) {
        throw protocolError('PACKET_MALFORMED', `payload size ${packet.payloadSize} is outside ${MIN_PAYLOAD_BYTES}..${MAX_PAYLOAD_BYTES}`);
      }
      if (!Number.isInteger(packet.window) || packet.window < 1 || packet.window > MAX_RECEIVE_WINDOW) {
        throw protocolError('PACKET_MALFORMED', `window ${packet.window} is outside 1..${MAX_RECEIVE_WINDOW}`);
      }
      writeHeader(buf, PACKET_TYPES.REQUEST, packet.transferId);
      packet.token.copy(buf, 8);
      buf.writeUInt32BE(packet.resumeFrom, 24);
      buf.writeUInt16BE(packet.payloadSize, 28);
      buf.writeUInt32BE(packet.window, 30);
      if (packet.nonce !== undefined) {
        if (packet.nonce.length !== NONCE_BYTES) throw protocolError('PACKET_MALFORMED', 'nonce must be 16 bytes');
        packet.nonce.copy(buf, REQUEST_NONCE_OFFSET);
      } else {
        buf.fill(0, REQUEST_NONCE_OFFSET, REQUEST_NONCE_OFFSET + NONCE_BYTES);
      }
      buf.fill(0, REQUEST_NONCE_OFFSET + NONCE_BYTES, length - TRAILER_BYTES); // anti-amplification padding
      break;
    }
    case 'data':
      packet.payload.copy(buf, DATA_HEADER_BYTES);
      return encodeDataInto(buf, packet.transferId, packet.packetNumber, packet.chunk, packet.payload.length);
    case 'ack': {
      if (packet.ranges.length > MAX_ACK_RANGES) throw protocolError('PACKET_MALFORMED', `more than ${MAX_ACK_RANGES} ACK ranges`);
      checkU32(packet.largest, 'largest');
      checkU32(packet.cumulative, 'cumulative');
      checkU32(packet.window, 'window');
      writeHeader(buf, PACKET_TYPES.ACK, packet.transferId);
      buf.writeUInt32BE(packet.largest, 8);
      buf.writeUInt32BE(Math.min(U32_MAX, Math.max(0, Math.round(packet.ackDelayUs))), 12);
      buf.writeUInt32BE(packet.cumulative, 16);
      buf.writeUInt32BE(packet.window, 20);
      buf[24] = packet.ranges.length;
      let at = ACK_FIXED_BYTES;
      for (const r of packet.ranges) {
        checkU32(r.first, 'range start');
        checkU32(r.last, 'range end');
        buf.writeUInt32BE(r.first, at);
        buf.writeUInt32BE(r.last, at + 4);
        at += 8;
      }
      break;
    }
    case 'end':
      if (!Number.isSafeInteger(packet.size) || packet.size < 0) throw protocolError('PACKET_MALFORMED', 'END size must be a safe integer');
      checkU32(packet.totalChunks, 'total chunks');
      writeHeader(buf, PACKET_TYPES.END, packet.transferId);
      buf.writeUInt32BE(packet.totalChunks, 8);
      buf.writeUInt32BE(Math.floor(packet.size / 2 ** 32), 12);
      buf.writeUInt32BE(packet.size % 2 ** 32, 16);
      break;
    case 'end-ack':
      checkU32(packet.totalChunks, 'total chunks');
      writeHeader(buf, PACKET_TYPES.END_ACK, packet.transferId);
      buf.writeUInt32BE(packet.totalChunks, 8);
      break;
    case 'cancel':
      if (packet.token.length !== TOKEN_BYTES) throw protocolError('PACKET_MALFORMED', 'token must be 16 bytes');
      writeHeader(buf, PACKET_TYPES.CANCEL, packet.transferId);
      packet.token.copy(buf, HEADER_BYTES);
      writeReason(buf, HEADER_BYTES + TOKEN_BYTES, packet.code, packet.text);
      break;
    case 'error':
      writeHeader(buf, PACKET_TYPES.ERROR, packet.transferId);
      writeReason(buf, HEADER_BYTES, packet.code, packet.text);
      break;
    case 'challenge':
      if (packet.nonce.length !== NONCE_BYTES) throw protocolError('PACKET_MALFORMED', 'nonce must be 16 bytes');
      writeHeader(buf, PACKET_TYPES.CHALLENGE, packet.transferId);
      packet.nonce.copy(buf, HEADER_BYTES);
      break;
  }
  return seal(buf, length);
}
