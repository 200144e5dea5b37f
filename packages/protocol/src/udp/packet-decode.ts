import { isUtf8 } from 'node:buffer';
import { isErrorCode, protocolError, type ErrorCode } from '../errors.js';
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
  PACKET_OVERHEAD_BYTES,
  CHALLENGE_PACKET_BYTES,
  REQUEST_NONCE_OFFSET,
  REQUEST_PACKET_BYTES,
  TOKEN_BYTES,
  TRAILER_BYTES,
  UDP_MAGIC,
  UDP_VERSION,
} from './constants.js';

import { trailerChecksum } from './checksum.js';
import {
  ACK_FIXED_BYTES,
  TYPE_NAMES,
  type AckPacket,
  type DataPacket,
  type DecodeOptions,
  type PacketRange,
  type RequestPacket,
  type UdpPacket,
  type UdpPacketType,
} from './packet-types.js';

function fail(code: 'PACKET_TRUNCATED' | 'PACKET_OVERSIZED' | 'PACKET_MALFORMED', why: string): never {
  throw protocolError(code, why);
}

function expectLength(buf: Buffer, exact: number, what: string): void {
  if (buf.length < exact) fail('PACKET_TRUNCATED', `${what} packet is ${buf.length} bytes, expected ${exact}`);
  if (buf.length > exact) fail('PACKET_OVERSIZED', `${what} packet is ${buf.length} bytes, expected ${exact}`);
}

/**
 * Decodes one datagram. Throws only ParleyProtocolError (PACKET_*); never
 * reads past a length it has not checked. DATA payloads and tokens are views.
 */
export function decodePacket(buf: Buffer, options: DecodeOptions = {}): UdpPacket {
  const maxBytes = options.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
  if (buf.length > maxBytes) fail('PACKET_OVERSIZED', `datagram is ${buf.length} bytes, limit ${maxBytes}`);
  if (buf.length < PACKET_OVERHEAD_BYTES) fail('PACKET_TRUNCATED', `datagram is ${buf.length} bytes, shorter than a header`);
  if (buf.readUInt16BE(0) !== UDP_MAGIC) throw protocolError('PACKET_BAD_MAGIC');
  const version = buf[2];
  if (version !== UDP_VERSION) throw protocolError('PACKET_BAD_VERSION', `packet version ${version} is not supported`);
  const typeName = TYPE_NAMES[buf[3] ?? 0];
  if (typeName === undefined) throw protocolError('PACKET_UNKNOWN_TYPE', `unknown packet type ${buf[3]}`);
  const end = buf.length - TRAILER_BYTES;
  if (trailerChecksum(buf, end) !== buf.readUInt32BE(end)) throw protocolError('PACKET_BAD_CHECKSUM');
  return decodeFields(typeName, buf, buf.readUInt32BE(4), end);
}

/**
 * Decodes the type-specific fields of a packet whose envelope was checked. They
 * start at offset 8 of `buf` and end at `end` (the trailer starts there; the
 * sealed-packet decoder passes a view shifted so that its plaintext sits at 8).
 */
export function decodeFields(typeName: UdpPacketType, buf: Buffer, transferId: number, end: number): UdpPacket {
  switch (typeName) {
    case 'request':
      return decodeRequest(buf, transferId);
    case 'data':
      return decodeData(buf, transferId, end);
    case 'ack':
      return decodeAck(buf, transferId);
    case 'end': {
      expectLength(buf, HEADER_BYTES + 12 + TRAILER_BYTES, 'END');
      const size = buf.readUInt32BE(12) * 2 ** 32 + buf.readUInt32BE(16);
      if (!Number.isSafeInteger(size)) fail('PACKET_MALFORMED', 'END size is not a safe integer');
      return { type: 'end', transferId, totalChunks: buf.readUInt32BE(8), size };
    }
    case 'end-ack':
      expectLength(buf, HEADER_BYTES + 4 + TRAILER_BYTES, 'END_ACK');
      return { type: 'end-ack', transferId, totalChunks: buf.readUInt32BE(8) };
    case 'cancel': {
      if (buf.length < HEADER_BYTES + TOKEN_BYTES + TRAILER_BYTES) fail('PACKET_TRUNCATED', 'CANCEL has no token');
      const token = buf.subarray(HEADER_BYTES, HEADER_BYTES + TOKEN_BYTES);
      const { code, text } = decodeReason(buf, HEADER_BYTES + TOKEN_BYTES, end, 'CANCEL');
      return { type: 'cancel', transferId, token, code, text };
    }
    case 'error': {
      const { code, text } = decodeReason(buf, HEADER_BYTES, end, 'ERROR');
      return { type: 'error', transferId, code, text };
    }
    case 'challenge':
      expectLength(buf, CHALLENGE_PACKET_BYTES, 'CHALLENGE');
      return { type: 'challenge', transferId, nonce: buf.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES) };
  }
}

function isAllZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function decodeRequest(buf: Buffer, transferId: number): RequestPacket {
  expectLength(buf, REQUEST_PACKET_BYTES, 'REQUEST');
  const token = buf.subarray(8, 8 + TOKEN_BYTES);
  const resumeFrom = buf.readUInt32BE(24);
  const payloadSize = buf.readUInt16BE(28);
  const window = buf.readUInt32BE(30);
  if (payloadSize < MIN_PAYLOAD_BYTES || payloadSize > MAX_PAYLOAD_BYTES) {
    fail('PACKET_MALFORMED', `REQUEST payload size ${payloadSize} is outside ${MIN_PAYLOAD_BYTES}..${MAX_PAYLOAD_BYTES}`);
  }
  if (window < 1 || window > MAX_RECEIVE_WINDOW) fail('PACKET_MALFORMED', `REQUEST window ${window} is outside 1..${MAX_RECEIVE_WINDOW}`);
  const nonce = buf.subarray(REQUEST_NONCE_OFFSET, REQUEST_NONCE_OFFSET + NONCE_BYTES);
  if (isAllZero(nonce)) return { type: 'request', transferId, token, resumeFrom, payloadSize, window };
  return { type: 'request', transferId, token, resumeFrom, payloadSize, window, nonce };
}

function decodeData(buf: Buffer, transferId: number, end: number): DataPacket {
  if (buf.length < DATA_OVERHEAD_BYTES + 1) fail('PACKET_TRUNCATED', 'DATA packet has no payload');
  if (end - DATA_HEADER_BYTES > MAX_PAYLOAD_BYTES) fail('PACKET_OVERSIZED', 'DATA payload is too long');
  return {
    type: 'data',
    transferId,
    packetNumber: buf.readUInt32BE(8),
    chunk: buf.readUInt32BE(12),
    payload: buf.subarray(DATA_HEADER_BYTES, end),
  };
}

function decodeAck(buf: Buffer, transferId: number): AckPacket {
  if (buf.length < ACK_FIXED_BYTES + TRAILER_BYTES) fail('PACKET_TRUNCATED', 'ACK is shorter than its fixed fields');
  const count = buf[24] ?? 0;
  if (count > MAX_ACK_RANGES) fail('PACKET_MALFORMED', `ACK has ${count} ranges, limit ${MAX_ACK_RANGES}`);
  expectLength(buf, ACK_FIXED_BYTES + count * 8 + TRAILER_BYTES, 'ACK');
  const largest = buf.readUInt32BE(8);
  const window = buf.readUInt32BE(20);
  if (window > MAX_RECEIVE_WINDOW) fail('PACKET_MALFORMED', `ACK window ${window} is above ${MAX_RECEIVE_WINDOW}`);
  const ranges: PacketRange[] = [];
  let floor = largest + 1;
  for (let i = 0; i < count; i++) {
    const first = buf.readUInt32BE(ACK_FIXED_BYTES + i * 8);
    const last = buf.readUInt32BE(ACK_FIXED_BYTES + i * 8 + 4);
    // Newest first, each range strictly below the previous one with a gap.
    if (first > last || last >= floor || (i > 0 && last + 1 >= floor)) {
      fail('PACKET_MALFORMED', 'ACK ranges are not descending and disjoint');
    }
    if (i === 0 && last !== largest) fail('PACKET_MALFORMED', 'first ACK range does not end at the largest packet');
    ranges.push({ first, last });
    floor = first;
  }
  return {
    type: 'ack',
    transferId,
    largest,
    ackDelayUs: buf.readUInt32BE(12),
    cumulative: buf.readUInt32BE(16),
    window,
    ranges,
  };
}

function decodeReason(buf: Buffer, at: number, end: number, what: string): { code: ErrorCode; text: string } {
  if (at + 2 > end) fail('PACKET_TRUNCATED', `${what} has no reason`);
  const codeLen = buf[at] ?? 0;
  if (at + 1 + codeLen + 1 > end) fail('PACKET_TRUNCATED', `${what} code is cut off`);
  const code = buf.toString('latin1', at + 1, at + 1 + codeLen);
  if (!isErrorCode(code)) fail('PACKET_MALFORMED', `${what} has an unknown error code`);
  const textAt = at + 1 + codeLen;
  const textLen = buf[textAt] ?? 0;
  if (textLen > CONTROL_TEXT_MAX_BYTES) fail('PACKET_MALFORMED', `${what} text is longer than ${CONTROL_TEXT_MAX_BYTES} bytes`);
  if (textAt + 1 + textLen < end) fail('PACKET_OVERSIZED', `${what} has bytes after its text`);
  if (textAt + 1 + textLen > end) fail('PACKET_TRUNCATED', `${what} text is cut off`);
  const textBytes = buf.subarray(textAt + 1, textAt + 1 + textLen);
  if (!isUtf8(textBytes)) fail('PACKET_MALFORMED', `${what} text is not UTF-8`);
  return { code, text: textBytes.toString('utf8') };
}
