import { isUtf8 } from 'node:buffer';
import { crc32 } from 'node:zlib';
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
  PACKET_TYPES,
  SEALED_FLAG,
  CHALLENGE_PACKET_BYTES,
  REQUEST_NONCE_OFFSET,
  REQUEST_PACKET_BYTES,
  TOKEN_BYTES,
  TRAILER_BYTES,
  UDP_MAGIC,
  UDP_VERSION,
} from './constants.js';

/** An inclusive range of packet numbers, `first <= last`. */
export interface PacketRange {
  readonly first: number;
  readonly last: number;
}

export interface RequestPacket {
  readonly type: 'request';
  readonly transferId: number;
  /** 16 bytes; a view into the datagram when decoded. */
  readonly token: Buffer;
  /** First chunk the receiver still needs (resume), 0 for a fresh download. */
  readonly resumeFrom: number;
  readonly payloadSize: number;
  /** Receive window in chunks beyond the cumulative point. */
  readonly window: number;
  /**
   * The nonce of the server's CHALLENGE, echoed to prove this address receives
   * what is sent to it (16 bytes, a view when decoded). Absent (all zero on the
   * wire) in the first REQUEST.
   */
  readonly nonce?: Buffer;
}

export interface DataPacket {
  readonly type: 'data';
  readonly transferId: number;
  /** Never reused: a retransmitted chunk gets a new packet number. */
  readonly packetNumber: number;
  readonly chunk: number;
  /** A view into the datagram when decoded. */
  readonly payload: Buffer;
}

export interface AckPacket {
  readonly type: 'ack';
  readonly transferId: number;
  /** Largest packet number received so far. */
  readonly largest: number;
  /** Microseconds between receiving `largest` and sending this ACK. */
  readonly ackDelayUs: number;
  /** Chunks received in order: every chunk below this index has arrived. */
  readonly cumulative: number;
  /** Chunks the receiver accepts beyond `cumulative`. */
  readonly window: number;
  /** Received packet numbers, newest range first, at most MAX_ACK_RANGES. */
  readonly ranges: readonly PacketRange[];
}

export interface EndPacket {
  readonly type: 'end';
  readonly transferId: number;
  readonly totalChunks: number;
  readonly size: number;
}

export interface EndAckPacket {
  readonly type: 'end-ack';
  readonly transferId: number;
  readonly totalChunks: number;
}

export interface CancelPacket {
  readonly type: 'cancel';
  readonly transferId: number;
  /** The transfer token: only the two ends of a transfer know it. */
  readonly token: Buffer;
  readonly code: ErrorCode;
  readonly text: string;
}

export interface ErrorPacket {
  readonly type: 'error';
  readonly transferId: number;
  readonly code: ErrorCode;
  readonly text: string;
}

/**
 * The server's answer to a valid REQUEST from an address it has not validated:
 * no data until a REQUEST from that address echoes this nonce (RFC 9000 §8.1).
 */
export interface ChallengePacket {
  readonly type: 'challenge';
  readonly transferId: number;
  /** 16 unpredictable bytes; a view into the datagram when decoded. */
  readonly nonce: Buffer;
}

export type UdpPacket = RequestPacket | DataPacket | AckPacket | EndPacket | EndAckPacket | CancelPacket | ErrorPacket | ChallengePacket;
export type UdpPacketType = UdpPacket['type'];

export interface DecodeOptions {
  /** Datagrams longer than this are refused (PACKET_OVERSIZED). Default MAX_DATAGRAM_BYTES. */
  readonly maxDatagramBytes?: number;
}

const U32_MAX = 0xffff_ffff;

function fail(code: 'PACKET_TRUNCATED' | 'PACKET_OVERSIZED' | 'PACKET_MALFORMED', why: string): never {
  throw protocolError(code, why);
}

function expectLength(buf: Buffer, exact: number, what: string): void {
  if (buf.length < exact) fail('PACKET_TRUNCATED', `${what} packet is ${buf.length} bytes, expected ${exact}`);
  if (buf.length > exact) fail('PACKET_OVERSIZED', `${what} packet is ${buf.length} bytes, expected ${exact}`);
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw protocolError('PACKET_MALFORMED', `${what} must be a u32, got ${value}`);
  }
}

/** Reads the transfer id without validating anything else (for logging a dropped packet). */
export function peekTransferId(buf: Buffer): number | undefined {
  return buf.length >= HEADER_BYTES ? buf.readUInt32BE(4) : undefined;
}

/** The packet type name at offset 3, or undefined (no validation; used by test relays). */
export function peekPacketType(buf: Buffer): UdpPacketType | undefined {
  if (buf.length < HEADER_BYTES || buf.readUInt16BE(0) !== UDP_MAGIC) return undefined;
  return TYPE_NAMES[(buf[3] ?? 0) & ~SEALED_FLAG];
}

/** Whether the datagram's type byte says it is sealed (no validation). */
export function isSealed(buf: Buffer): boolean {
  return buf.length >= HEADER_BYTES && ((buf[3] ?? 0) & SEALED_FLAG) !== 0;
}

export const TYPE_NAMES: Readonly<Record<number, UdpPacketType | undefined>> = {
  [PACKET_TYPES.REQUEST]: 'request',
  [PACKET_TYPES.DATA]: 'data',
  [PACKET_TYPES.ACK]: 'ack',
  [PACKET_TYPES.END]: 'end',
  [PACKET_TYPES.END_ACK]: 'end-ack',
  [PACKET_TYPES.CANCEL]: 'cancel',
  [PACKET_TYPES.ERROR]: 'error',
  [PACKET_TYPES.CHALLENGE]: 'challenge',
};

/** CRC-32 (IEEE) of `buf[0, end)`: the packet trailer. */
export type Crc32Function = (buf: Uint8Array, end: number) => number;

const zlibChecksum: Crc32Function = (buf, end) => crc32(buf.subarray(0, end));
let checksum: Crc32Function = zlibChecksum;

/**
 * Installs a faster implementation of the trailer's CRC-32 (e.g. a carry-less
 * multiply one in native code). It must compute exactly what `zlib.crc32`
 * does: it is checked against it on test data first, and refused (with a
 * thrown Error, nothing changed) if it differs. Packets are the same bytes
 * either way. `useCrc32(undefined)` goes back to `zlib.crc32`.
 */
export function useCrc32(impl: Crc32Function | undefined): void {
  if (impl === undefined) {
    checksum = zlibChecksum;
    return;
  }
  const data = new Uint8Array(4099);
  for (let i = 0, x = 0x9e3779b9; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x >>> 24;
  }
  for (const [from, to] of [[0, 0], [0, 1], [3, 66], [1, 1473], [0, 4099], [7, 2900]] as const) {
    const view = data.subarray(from, to);
    if (impl(view, view.length) !== crc32(view)) throw new Error(`useCrc32: the implementation differs from zlib.crc32 on ${view.length} bytes`);
  }
  checksum = impl;
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
  if (checksum(buf, end) !== buf.readUInt32BE(end)) throw protocolError('PACKET_BAD_CHECKSUM');
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

const ACK_FIXED_BYTES = HEADER_BYTES + 17;

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

// ---------------------------------------------------------------- encoding

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
  buf.writeUInt32BE(checksum(buf, end), end);
  return buf.subarray(0, length);
}

/**
 * Writes a DATA packet into `target` whose payload the caller has already put at
 * `target[DATA_HEADER_BYTES, DATA_HEADER_BYTES + payloadLength)` (e.g. read from
 * the file straight into it). Returns the packet (a view of `target`). No allocation.
 */
export function encodeDataInto(
  target: Buffer,
  transferId: number,
  packetNumber: number,
  chunk: number,
  payloadLength: number,
): Buffer {
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
