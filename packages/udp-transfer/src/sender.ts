/*
 * Why this is one file (about 530 lines): the sending half of a transfer is one
 * state machine whose parts share their state on every ACK and every `poll`:
 * the packet history (`sent`), the per-chunk ring of ACKED/QUEUED flags and
 * `sndUna`, loss detection (RFC 9002 §6.1, packet and time thresholds), the
 * probe timeout and the END handshake. Each reads and writes the others' fields
 * in the same loop, so a split would pass half the object to each part on the
 * per-packet path this file is tuned for (see `ChunkSource`). What stands
 * alone already does: congestion and pacing (congestion.ts), the RTT estimate
 * (rtt.ts), ranges (range-set.ts), packet encoding (@parley/protocol).
 */
import { timingSafeEqual } from 'node:crypto';
import {
  DATA_HEADER_BYTES,
  DATA_OVERHEAD_BYTES,
  decodePacket,
  encodeDataInto,
  encodePacket,
  ParleyProtocolError,
  SEALED_DATA_EXTRA_BYTES,
  type AckPacket,
  type PacketSealer,
  type ErrorCode,
  type UdpPacket,
} from '@parley/protocol';
import { BbrLite } from './congestion.js';
import { RttEstimator } from './rtt.js';
import { emptyObjectArray } from './arrays.js';

/**
 * The file being sent. An object with a method, not a function: every transfer's
 * source is then the same call target to V8 (one class, one method), so the code
 * optimized for the first transfer keeps serving the next ones; a closure per
 * transfer is a new target each time, and the sender's hot path is deoptimized
 * and compiled again for every new transfer.
 */
export interface ChunkSource {
  /** Reads `length` bytes of the file at `position` into `target[offset…]`. */
  read(position: number, target: Buffer, offset: number, length: number): void;
}

export interface SenderOptions {
  readonly transferId: number;
  readonly token: Buffer;
  readonly size: number;
  readonly payloadSize: number;
  readonly resumeFrom: number;
  /** Receive window (chunks) from the REQUEST. */
  readonly window: number;
  readonly source: ChunkSource;
  readonly now: number;
  /** No valid packet from the receiver for this long → failed. Default 15 s. */
  readonly idleTimeoutMs?: number;
  /** The receiver's promised maximum ACK delay (RFC 9002 max_ack_delay). Default 10 ms. */
  readonly maxAckDelayMs?: number;
  readonly initialRttMs?: number;
  /** The most chunks in flight beyond the cumulative point, whatever the receiver offers. Default 16384. */
  readonly maxWindow?: number;
  /** END retransmissions before giving up waiting for END_ACK (all data is acknowledged by then). Default 6. */
  readonly maxEndRetries?: number;
  readonly maxRateBytesPerSec?: number;
  /**
   * Allocates the buffer for one outgoing DATA packet (default `Buffer.allocUnsafe`).
   * A caller that knows when its socket has finished with earlier packets may hand
   * out reused memory here.
   */
  readonly allocPacket?: (bytes: number) => Buffer;
  /**
   * An encrypted transfer: every packet sent is sealed with it and every packet
   * received must open with it (the server's sealer for this offer).
   */
  readonly sealer?: PacketSealer;
}

export type SenderState = 'sending' | 'closing' | 'done' | 'failed';

/** Why `onPacket` ignored a packet (counted by the caller). */
export type SenderDrop = 'ack_unsent' | 'ack_malformed' | 'bad_token' | 'unexpected_type' | 'late';

interface SentPacket {
  readonly pn: number;
  readonly chunk: number;
  readonly bytes: number;
  readonly sentTime: number;
  readonly delivered: number;
  readonly deliveredTime: number;
  readonly firstSentTime: number;
  /** 0 pending, 1 acked, 2 declared lost. */
  status: 0 | 1 | 2;
}

/** RFC 9002 kPacketThreshold; raised when reordering is seen. */
const INITIAL_PACKET_THRESHOLD = 3;
const MAX_PACKET_THRESHOLD = 256;
const REORDER_LOOKBACK = 256;
const MAX_END_INTERVAL_MS = 1000;
/**
 * Longest wait between probe timeouts once backed off (never below the un-backed-off PTO
 * of a long path). RFC 9002 doubles without a limit; at 30 % loss both ways, a tail
 * whose probes or their ACKs are lost four times in a row then waits 5 s and more, and
 * after an outage the transfer would resume only seconds after the path is back. Two
 * probes a second until the idle timeout is no load worth saving.
 */
const MAX_PTO_INTERVAL_MS = 1000;
/** Settled packet records kept before the history is compacted (memory per transfer). */
const COMPACT_AFTER = 512 + REORDER_LOOKBACK;
const ACKED = 1;
const QUEUED = 2;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The sending half of a transfer, as a clock-free state machine. Feed it the
 * receiver's packets (`onPacket`/`onDatagram`) and timer expiries (`onTimer`);
 * pull datagrams with `poll(now)` until it returns undefined; sleep until
 * `nextDeadline()`. It never reads a clock and never touches a socket.
 */
export class Sender {
  state: SenderState = 'sending';
  failure: { code: ErrorCode; text: string } | undefined;
  /** END_ACK seen (false when the sender gave up waiting for it after all data was acknowledged). */
  endConfirmed = false;
  readonly totalChunks: number;
  readonly rtt: RttEstimator;
  readonly cc: BbrLite;
  readonly stats = { packetsSent: 0, bytesSent: 0, retransmissions: 0, lost: 0, spurious: 0, ptoFired: 0 };

  private readonly o: SenderOptions;
  private readonly idleTimeoutMs: number;
  private readonly maxAckDelayMs: number;
  private readonly maxEndRetries: number;
  private readonly lastChunkBytes: number;
  /** A full DATA packet on the wire (sealed DATA is 12 bytes longer). */
  private readonly packetBytes: number;
  private readonly sealer: PacketSealer | undefined;
  // Chunks.
  private sndUna: number; // lowest chunk not known delivered
  private nextChunk: number; // next never-sent chunk
  private peerWindow: number;
  private readonly maxWindow: number;
  private readonly ring: Uint8Array; // per chunk flags ACKED | QUEUED, indexed chunk & mask
  private readonly mask: number;
  private retransmitQueue: number[] = [];
  private rqHead = 0;
  // Packets.
  private nextPn = 0;
  private sent: SentPacket[] = emptyObjectArray<SentPacket>();
  private sentHead = 0; // index in `sent` of the oldest packet not yet settled
  private sentBase = 0; // packet number of sent[0]
  private bytesInFlight = 0;
  private largestAcked = -1;
  private lastAckElicitingTime = -Infinity;
  private lossTime = Infinity;
  private ptoCount = 0;
  private packetThreshold = INITIAL_PACKET_THRESHOLD;
  private timeThreshold = 9 / 8;
  private probesOwed = 0;
  // Control packets.
  private lastHeard: number;
  private endDue = Infinity;
  private endTries = 0;
  private control: Buffer[] = [];

  constructor(options: SenderOptions) {
    this.o = options;
    if (options.token.length !== 16) throw new RangeError('token must be 16 bytes');
    this.totalChunks = Math.ceil(options.size / options.payloadSize);
    // `| 0`: a small integer for V8 even when `size` is stored as a double (fs.stat's sizes
    // are), so the last chunk does not deoptimize the send path of every transfer.
    this.lastChunkBytes = (options.size - (this.totalChunks - 1) * options.payloadSize) | 0;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
    this.maxAckDelayMs = options.maxAckDelayMs ?? 10;
    this.maxEndRetries = options.maxEndRetries ?? 6;
    this.maxWindow = options.maxWindow ?? 16_384;
    this.ring = new Uint8Array(nextPowerOfTwo(this.maxWindow));
    this.mask = this.ring.length - 1;
    this.peerWindow = Math.min(options.window, this.maxWindow);
    this.sndUna = Math.min(options.resumeFrom, this.totalChunks);
    this.nextChunk = this.sndUna;
    this.lastHeard = options.now;
    this.rtt = new RttEstimator(options.initialRttMs ?? 100);
    this.sealer = options.sealer;
    this.packetBytes = options.payloadSize + DATA_OVERHEAD_BYTES + (this.sealer !== undefined ? SEALED_DATA_EXTRA_BYTES : 0);
    this.cc = new BbrLite({
      packetBytes: this.packetBytes,
      now: options.now,
      initialRttMs: options.initialRttMs ?? 100,
      ...(options.maxRateBytesPerSec !== undefined ? { maxRateBytesPerSec: options.maxRateBytesPerSec } : {}),
    });
    if (this.sndUna >= this.totalChunks) this.startClosing(options.now);
  }

  get inFlight(): number {
    return this.bytesInFlight;
  }

  /** Chunks the receiver is known to hold (all below this index). */
  get deliveredChunks(): number {
    return this.sndUna;
  }

  /** Decodes and handles one datagram; returns the drop reason or a decode error code. */
  onDatagram(buf: Buffer, now: number): SenderDrop | ErrorCode | undefined {
    let packet: UdpPacket;
    try {
      packet = this.sealer !== undefined ? this.sealer.open(buf) : decodePacket(buf);
    } catch (err) {
      if (err instanceof ParleyProtocolError) return err.wireCode;
      throw err;
    }
    if (packet.transferId !== this.o.transferId) return 'unexpected_type';
    return this.onPacket(packet, now);
  }

  /** Handles one decoded packet from the receiver. Returns why it was dropped, if it was. */
  onPacket(packet: UdpPacket, now: number): SenderDrop | undefined {
    if (this.state === 'done' || this.state === 'failed') return 'late';
    switch (packet.type) {
      case 'ack':
        return this.onAck(packet, now);
      case 'end-ack':
        if (packet.totalChunks !== this.totalChunks) return 'ack_malformed';
        // Before END, an END_ACK is the receiver's FIN: it holds every chunk and has
        // left (docs/PROTOCOL.md §5.2). Believed only once every chunk has been sent,
        // as an ACK may acknowledge only what was sent; then nothing is left to send
        // it or to wait for (a lost final ACK would otherwise cost probes to a closed
        // port until the idle timeout).
        if (this.state === 'sending' && this.nextChunk < this.totalChunks) return 'unexpected_type';
        this.lastHeard = now;
        if (this.state === 'sending') this.advanceCumulative(this.totalChunks);
        this.state = 'done';
        this.endConfirmed = true;
        return undefined;
      case 'cancel':
        if (!timingSafeEqual(packet.token, this.o.token)) return 'bad_token';
        this.lastHeard = now;
        this.fail(packet.code, packet.text || 'cancelled by the receiver');
        return undefined;
      case 'request':
        // A retransmitted REQUEST from the bound address: we are already sending. It
        // acknowledges nothing, so it is not a sign of life either.
        return undefined;
      default:
        return 'unexpected_type';
    }
  }

  private onAck(ack: AckPacket, now: number): SenderDrop | undefined {
    // Acknowledging what was never sent: a confused or hostile peer. Drop it whole.
    if (ack.largest >= this.nextPn && ack.ranges.length > 0) return 'ack_unsent';
    if (ack.cumulative > this.totalChunks || ack.cumulative > this.nextChunk) return 'ack_unsent';
    const unaBefore = this.sndUna;
    this.peerWindow = Math.max(1, Math.min(ack.window, this.maxWindow));

    let ackedBytes = 0;
    let newest: SentPacket | undefined;
    let rttSample: number | undefined;
    // Look a little behind the oldest pending packet too: an ACK for a packet we
    // already declared lost means the path reorders; widen the loss thresholds.
    const horizon = this.sentBase + Math.max(0, this.sentHead - REORDER_LOOKBACK);
    for (const r of ack.ranges) {
      const lo = Math.max(r.first, horizon);
      for (let pn = r.last; pn >= lo; pn--) {
        const p = this.sent[pn - this.sentBase];
        if (p === undefined || p.status === 1) continue;
        if (p.status === 0) {
          this.bytesInFlight -= p.bytes;
          ackedBytes += p.bytes;
        } else {
          this.stats.spurious++;
          this.onSpuriousLoss(p.pn, ack.largest);
        }
        p.status = 1;
        this.markChunkAcked(p.chunk);
        if (newest === undefined || p.pn > newest.pn) newest = p;
      }
    }
    if (newest !== undefined && newest.pn === ack.largest && ack.largest > this.largestAcked) {
      rttSample = now - newest.sentTime;
      this.rtt.update(rttSample, Math.min(ack.ackDelayUs / 1000, this.maxAckDelayMs));
    }
    if (ack.largest > this.largestAcked && ack.ranges.length > 0) this.largestAcked = ack.largest;
    this.advanceCumulative(ack.cumulative);
    // Only an ACK that acknowledges something new is a sign of life: one with no
    // ranges and an old cumulative point (cheap to forge or replay) must not keep a
    // transfer alive past its idle timeout.
    if (newest !== undefined || this.sndUna > unaBefore) this.lastHeard = now;
    if (newest !== undefined) this.ptoCount = 0;
    this.detectLosses(now);
    this.cc.onAck(ackedBytes, newest, rttSample, now, this.bytesInFlight, this.rtt.smoothed);
    this.compactSent();
    if (this.state === 'sending' && this.sndUna >= this.totalChunks) this.startClosing(now);
    return undefined;
  }

  /** RACK-style: a packet we called lost arrived after all; tolerate that much reordering from now on. */
  private onSpuriousLoss(pn: number, largest: number): void {
    this.packetThreshold = Math.min(MAX_PACKET_THRESHOLD, Math.max(this.packetThreshold, largest - pn + 1));
    this.timeThreshold = Math.min(2, this.timeThreshold + 0.125);
  }

  private markChunkAcked(chunk: number): void {
    if (chunk < this.sndUna) return;
    this.ring[chunk & this.mask] = (this.ring[chunk & this.mask] as number) | ACKED;
    while (this.sndUna < this.nextChunk && ((this.ring[this.sndUna & this.mask] as number) & ACKED) !== 0) {
      this.ring[this.sndUna & this.mask] = 0;
      this.sndUna++;
    }
  }

  private advanceCumulative(cumulative: number): void {
    while (this.sndUna < cumulative) {
      this.ring[this.sndUna & this.mask] = 0;
      this.sndUna++;
    }
    while (this.sndUna < this.nextChunk && ((this.ring[this.sndUna & this.mask] as number) & ACKED) !== 0) {
      this.ring[this.sndUna & this.mask] = 0;
      this.sndUna++;
    }
  }

  /** RFC 9002 §6.1: lost when 3 later packets were acknowledged, or when older than 9/8 RTT. */
  private detectLosses(now: number): void {
    this.lossTime = Infinity;
    if (this.largestAcked < 0) return;
    const lossDelay = this.rtt.lossDelay() * (this.timeThreshold / (9 / 8));
    const lostSendTime = now - lossDelay;
    let lostBytes = 0;
    for (let i = this.sentHead; i < this.sent.length; i++) {
      const p = this.sent[i] as SentPacket;
      if (p.pn > this.largestAcked) break;
      if (p.status !== 0) continue;
      if (p.sentTime <= lostSendTime || p.pn <= this.largestAcked - this.packetThreshold) {
        p.status = 2;
        this.bytesInFlight -= p.bytes;
        lostBytes += p.bytes;
        this.stats.lost++;
        this.queueRetransmit(p.chunk);
      } else if (p.sentTime + lossDelay < this.lossTime) {
        this.lossTime = p.sentTime + lossDelay;
      }
    }
    if (lostBytes > 0) this.cc.onLoss(lostBytes); // feeds the loss-rate estimate only (see congestion.ts)
  }

  private queueRetransmit(chunk: number): void {
    if (chunk < this.sndUna) return;
    const flags = this.ring[chunk & this.mask] as number;
    if ((flags & (ACKED | QUEUED)) !== 0) return;
    this.ring[chunk & this.mask] = flags | QUEUED;
    this.retransmitQueue.push(chunk);
  }

  private popRetransmit(): number | undefined {
    while (this.rqHead < this.retransmitQueue.length) {
      const chunk = this.retransmitQueue[this.rqHead++] as number;
      if (this.rqHead > 1024 && this.rqHead * 2 > this.retransmitQueue.length) {
        this.retransmitQueue = this.retransmitQueue.slice(this.rqHead);
        this.rqHead = 0;
      }
      if (chunk < this.sndUna) continue;
      const flags = this.ring[chunk & this.mask] as number;
      this.ring[chunk & this.mask] = flags & ~QUEUED;
      if ((flags & ACKED) !== 0) continue;
      return chunk;
    }
    return undefined;
  }

  /** Drops settled packets from the front of the history. */
  private compactSent(): void {
    while (this.sentHead < this.sent.length && (this.sent[this.sentHead] as SentPacket).status !== 0) this.sentHead++;
    if (this.sentHead > COMPACT_AFTER && this.sentHead * 2 > this.sent.length) {
      const cut = this.sentHead - REORDER_LOOKBACK;
      this.sent = this.sent.slice(cut);
      this.sentBase += cut;
      this.sentHead = REORDER_LOOKBACK;
    }
  }

  private oldestPendingChunk(): number | undefined {
    for (let i = this.sentHead; i < this.sent.length; i++) {
      const p = this.sent[i] as SentPacket;
      if (p.status === 0 && p.chunk >= this.sndUna && ((this.ring[p.chunk & this.mask] as number) & ACKED) === 0) return p.chunk;
    }
    return undefined;
  }

  private startClosing(now: number): void {
    this.state = 'closing';
    this.endTries = 0;
    this.sendEnd(now);
  }

  private sendEnd(now: number): void {
    this.control.push(this.encode({ type: 'end', transferId: this.o.transferId, totalChunks: this.totalChunks, size: this.o.size }));
    this.endDue = now + Math.min(this.rtt.pto(this.maxAckDelayMs) * 2 ** this.endTries, MAX_END_INTERVAL_MS);
    this.endTries++;
  }

  /** Stops the transfer and queues a CANCEL for the receiver. */
  cancel(code: ErrorCode, text: string): void {
    if (this.state === 'done' || this.state === 'failed') return;
    this.control.push(this.encode({ type: 'cancel', transferId: this.o.transferId, token: this.o.token, code, text }));
    this.fail(code, text);
  }

  /** A control packet, sealed under a fresh number on an encrypted transfer (a re-sent END too). */
  private encode(packet: UdpPacket): Buffer {
    return this.sealer !== undefined ? this.sealer.seal(packet) : encodePacket(packet);
  }

  private fail(code: ErrorCode, text: string): void {
    this.state = 'failed';
    this.failure = { code, text };
    this.lossTime = Infinity;
    this.endDue = Infinity;
  }

  private ptoDeadline(): number {
    if (this.state !== 'sending' || this.bytesInFlight <= 0) return Infinity;
    const pto = this.rtt.pto(this.maxAckDelayMs);
    return this.lastAckElicitingTime + Math.max(pto, Math.min(pto * 2 ** Math.min(this.ptoCount, 16), MAX_PTO_INTERVAL_MS));
  }

  /** The earliest time `onTimer` has work to do (loss timer, PTO, END retry, idle timeout). */
  nextDeadline(): number {
    if (this.state === 'done' || this.state === 'failed') return Infinity;
    return Math.min(this.lossTime, this.ptoDeadline(), this.endDue, this.lastHeard + this.idleTimeoutMs);
  }

  /** When `poll` may next produce a DATA packet (pacing), or Infinity when blocked on ACKs. */
  nextSendTime(now: number): number {
    if (this.control.length > 0) return now;
    if (this.state !== 'sending') return Infinity;
    if (this.probesOwed > 0) return now;
    if (!this.hasDataToSend() || this.bytesInFlight + this.packetBytes > this.cc.cwnd) return Infinity;
    return this.cc.nextSendTime(this.packetBytes, now);
  }

  private hasDataToSend(): boolean {
    return this.rqHead < this.retransmitQueue.length || this.canSendNewChunk();
  }

  onTimer(now: number): void {
    if (this.state === 'done' || this.state === 'failed') return;
    if (now - this.lastHeard >= this.idleTimeoutMs) {
      this.fail('TRANSFER_TIMEOUT', `no packet from the receiver for ${Math.round(this.idleTimeoutMs / 1000)} s`);
      return;
    }
    if (this.state === 'closing' && now >= this.endDue) {
      if (this.endTries > this.maxEndRetries) {
        this.state = 'done'; // every chunk was acknowledged; only the END_ACK is missing
        return;
      }
      this.sendEnd(now);
      return;
    }
    if (now >= this.lossTime) {
      this.detectLosses(now);
      this.compactSent();
      return;
    }
    if (now >= this.ptoDeadline()) {
      this.ptoCount++;
      this.stats.ptoFired++;
      this.probesOwed = 2;
      if (this.ptoCount >= 3) this.cc.onPersistentCongestion();
    }
  }

  /** The next datagram to send now, or undefined (blocked by window, pacing, or nothing to send). */
  poll(now: number): Buffer | undefined {
    const control = this.control.shift();
    if (control !== undefined) return control;
    if (this.state !== 'sending') return undefined;
    let chunk: number | undefined;
    let fresh = false;
    const packetBytes = this.packetBytes;
    if (this.probesOwed > 0) {
      // A probe timeout fired: up to two packets regardless of window and pacing.
      this.probesOwed--;
      chunk = this.popRetransmit();
      if (chunk === undefined && this.canSendNewChunk()) {
        chunk = this.nextChunk++;
        fresh = true;
      }
      chunk ??= this.oldestPendingChunk();
      if (chunk === undefined) {
        this.probesOwed = 0;
        return undefined;
      }
    } else {
      if (this.bytesInFlight + packetBytes > this.cc.cwnd) return undefined;
      if (!this.cc.canSend(packetBytes, now)) return undefined;
      chunk = this.popRetransmit();
      if (chunk === undefined) {
        if (!this.canSendNewChunk()) return undefined;
        chunk = this.nextChunk++;
        fresh = true;
      }
    }
    return this.sendChunk(chunk, now, !fresh);
  }

  private canSendNewChunk(): boolean {
    return this.nextChunk < this.totalChunks && this.nextChunk < this.sndUna + this.peerWindow;
  }

  private sendChunk(chunk: number, now: number, isRetransmission: boolean): Buffer {
    const length = chunk === this.totalChunks - 1 ? this.lastChunkBytes : this.o.payloadSize;
    const bytes = this.packetBytes - this.o.payloadSize + length;
    const buf = this.o.allocPacket !== undefined ? this.o.allocPacket(bytes) : Buffer.allocUnsafe(bytes);
    this.o.source.read(chunk * this.o.payloadSize, buf, DATA_HEADER_BYTES, length);
    const pn = this.nextPn++;
    // Sealed in place in the packet's own memory (the slab), before any batching: the
    // batch addon only ever sees finished datagrams.
    const packet =
      this.sealer !== undefined
        ? this.sealer.sealDataInto(buf, this.o.transferId, pn, chunk, length)
        : encodeDataInto(buf, this.o.transferId, pn, chunk, length);
    this.cc.onSent(packet.length, now, this.bytesInFlight);
    this.sent.push({
      pn,
      chunk,
      bytes: packet.length,
      sentTime: now,
      delivered: this.cc.delivered,
      deliveredTime: this.cc.deliveredTime,
      firstSentTime: this.cc.firstSentTime,
      status: 0,
    });
    this.bytesInFlight += packet.length;
    this.lastAckElicitingTime = now;
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    if (isRetransmission) this.stats.retransmissions++;
    return packet;
  }
}
