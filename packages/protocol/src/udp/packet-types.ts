/*
 * The UDP packets as values, and what can be read from a datagram without
 * decoding it. Encoding is in packet-encode.ts, decoding in packet-decode.ts,
 * the trailer checksum in checksum.ts; the layouts are in docs/PROTOCOL.md.
 */
import type { ErrorCode } from '../errors.js';
import { HEADER_BYTES, PACKET_TYPES, SEALED_FLAG, UDP_MAGIC } from './constants.js';

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

export const U32_MAX = 0xffff_ffff;

/** Bytes of an ACK before its ranges: header, largest, delay, cumulative, window, range count. */
export const ACK_FIXED_BYTES = HEADER_BYTES + 17;

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

/** Packet type byte (without the sealed flag) → name. */
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
