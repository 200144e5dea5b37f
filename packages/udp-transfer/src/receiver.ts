import { timingSafeEqual } from 'node:crypto';
import {
  MAX_ACK_RANGES,
  ParleyProtocolError,
  decodePacket,
  encodePacket,
  type DataPacket,
  type PacketSealer,
  type ErrorCode,
  type UdpPacket,
} from '@parley/protocol';
import { RangeSet } from './range-set.js';
import { emptyObjectArray } from './arrays.js';

export interface ReceiverOptions {
  readonly transferId: number;
  readonly token: Buffer;
  readonly size: number;
  readonly payloadSize: number;
  /** Chunks already on disk (resume); the sender starts here. */
  readonly resumeFrom?: number;
  /** Chunks buffered beyond the in-order point (memory bound: window × payload). Default 4096. */
  readonly window?: number;
  readonly now: number;
  /** No valid packet from the sender for this long → failed. Default 10 s. */
  readonly idleTimeoutMs?: number;
  /** Acknowledge at least every this many DATA packets. Default 8. */
  readonly ackEveryPackets?: number;
  /** Longest an ACK is held back (RFC 9002 max_ack_delay). Default 5 ms; the sender assumes ≤ 10. */
  readonly maxAckDelayMs?: number;
  /** First REQUEST retry delay, doubled each time up to 2 s. Default 200 ms. */
  readonly requestRetryMs?: number;
  /** Cap on disjoint ranges of received chunks (hostile-peer guard). Default 1024. */
  readonly maxChunkRanges?: number;
  /** Cap on remembered ranges of packet numbers. Default 256. */
  readonly maxPacketRanges?: number;
  /**
   * An encrypted transfer (the offer carried a key): every packet sent is sealed
   * with it, and a packet that does not open with it is dropped before anything
   * reads it (counted in `stats.unauthenticated`).
   */
  readonly sealer?: PacketSealer;
  /**
   * The peer opened the transfer (an upload, received by the server): never send
   * REQUEST; start receiving and acknowledge at once, so that the first ACK tells
   * the sender where to start (its cumulative point, after a resume) and the
   * window. A retransmitted REQUEST from the bound peer is answered with an ACK.
   */
  readonly passive?: boolean;
}

export type ReceiverState = 'requesting' | 'receiving' | 'complete' | 'done' | 'failed';

export type ReceiverDrop = 'beyond_window' | 'bad_chunk' | 'ranges_full' | 'bad_token' | 'unexpected_type' | 'wrong_transfer' | 'late';

/**
 * The receiving half of a transfer, as a clock-free state machine. It sends
 * REQUEST until data flows (echoing the server's CHALLENGE nonce once it has one), buffers out-of-order chunks inside its window,
 * hands in-order payloads to the caller (`takeChunks`) to append to the file,
 * acknowledges with a cumulative chunk count plus SACK ranges of packet numbers,
 * and answers END with END_ACK (again for every repeated END). Once it holds
 * every chunk it sends its final ACK and then END_ACK twice unasked (its FIN),
 * so that the sender can finish without a reply and the receiver can leave at
 * once (docs/PROTOCOL.md §5.2).
 */
export class Receiver {
  state: ReceiverState = 'requesting';
  failure: { code: ErrorCode; text: string; fromPeer: boolean } | undefined;
  /** END seen (false when the receiver stopped waiting for it after all data had arrived). */
  endConfirmed = false;
  /** The FIN (END_ACK sent before END, twice) has been queued. */
  finSent = false;
  readonly totalChunks: number;
  readonly stats = { packets: 0, duplicates: 0, dropped: 0, unauthenticated: 0, acksSent: 0, requestsSent: 0, challenges: 0 };

  private readonly o: ReceiverOptions;
  private readonly window: number;
  /** Nothing from the sender for this long: the transfer has failed (or, once complete, ended). */
  readonly idleTimeoutMs: number;
  private readonly ackEvery: number;
  private readonly maxAckDelayMs: number;
  private readonly lastChunkBytes: number;
  private readonly chunks: RangeSet;
  private readonly packets: RangeSet;
  private readonly slots: (Buffer | undefined)[];
  private cum: number;
  private readonly delivered: Buffer[] = emptyObjectArray<Buffer>();
  private deliveredBytes = 0;
  private largestPn = -1;
  private largestTime = 0;
  private unacked = 0;
  private ackDue = Infinity;
  private ackNow = false;
  private requestDue: number;
  private requestDelay: number;
  private lastHeard: number;
  private control: Buffer[] = [];
  /** The server's address-validation nonce, echoed in every REQUEST once known. */
  private nonce: Buffer | undefined;

  constructor(options: ReceiverOptions) {
    this.o = options;
    if (options.token.length !== 16) throw new RangeError('token must be 16 bytes');
    this.totalChunks = Math.ceil(options.size / options.payloadSize);
    // `| 0`: a small integer for V8 even when `size` is a double (see Sender).
    this.lastChunkBytes = (options.size - (this.totalChunks - 1) * options.payloadSize) | 0;
    this.window = options.window ?? 4096;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
    this.ackEvery = options.ackEveryPackets ?? 8;
    this.maxAckDelayMs = options.maxAckDelayMs ?? 5;
    this.cum = Math.min(options.resumeFrom ?? 0, this.totalChunks);
    this.chunks = new RangeSet({ maxRanges: options.maxChunkRanges ?? 1024, whenFull: 'refuse' });
    this.chunks.seed(0, this.cum);
    this.packets = new RangeSet({ maxRanges: options.maxPacketRanges ?? 256, whenFull: 'evict-lowest' });
    this.slots = new Array<Buffer | undefined>(this.window);
    this.lastHeard = options.now;
    this.requestDelay = options.requestRetryMs ?? 200;
    this.requestDue = options.now; // first REQUEST goes out on the first poll
    if (options.passive === true) {
      this.state = 'receiving';
      this.ackNow = true;
    }
  }

  /** Chunks received in order (everything below is in `takeChunks` output or on disk). */
  get cumulative(): number {
    return this.cum;
  }

  /** Bytes handed out in order so far in this session (not counting a resumed prefix). */
  get bytesDelivered(): number {
    return this.deliveredBytes;
  }

  onDatagram(buf: Buffer, now: number): ReceiverDrop | ErrorCode | undefined {
    let packet: UdpPacket;
    try {
      packet = this.o.sealer !== undefined ? this.o.sealer.open(buf) : decodePacket(buf);
    } catch (err) {
      if (err instanceof ParleyProtocolError) {
        this.stats.dropped++;
        if (err.wireCode === 'PACKET_UNAUTHENTICATED') this.stats.unauthenticated++;
        return err.wireCode;
      }
      throw err;
    }
    const drop = this.onPacket(packet, now);
    if (drop !== undefined) this.stats.dropped++;
    return drop;
  }

  onPacket(packet: UdpPacket, now: number): ReceiverDrop | undefined {
    if (packet.transferId !== this.o.transferId) return 'wrong_transfer';
    if (this.state === 'failed') return 'late';
    switch (packet.type) {
      case 'data':
        return this.onData(packet, now);
      case 'end':
        if (packet.totalChunks !== this.totalChunks || packet.size !== this.o.size) return 'bad_chunk';
        this.lastHeard = now;
        if (this.state === 'requesting') this.state = 'receiving';
        if (this.cum >= this.totalChunks) {
          this.state = 'done';
          this.endConfirmed = true;
          this.ackDue = Infinity;
          this.control.push(this.encode({ type: 'end-ack', transferId: this.o.transferId, totalChunks: this.totalChunks }));
        } else {
          this.ackNow = true; // the sender thinks we are done: tell it what we have
        }
        return undefined;
      case 'cancel':
        if (!timingSafeEqual(packet.token, this.o.token)) return 'bad_token';
        this.fail(packet.code, packet.text, true);
        return undefined;
      case 'challenge':
        // The server validates our address before it sends data: echo its nonce in
        // the next REQUEST, at once (and in every retry after it).
        if (this.state !== 'requesting') return 'unexpected_type';
        this.nonce = Buffer.from(packet.nonce);
        this.lastHeard = now;
        this.requestDue = now;
        this.requestDelay = this.o.requestRetryMs ?? 200;
        this.stats.challenges++;
        return undefined;
      case 'request':
        // An upload's sender repeats REQUEST until our first ACK arrives: send it again.
        // Not a sign of life (a replayed REQUEST costs nothing to forge).
        if (this.o.passive !== true) return 'unexpected_type';
        if (this.state === 'receiving' || this.state === 'complete') this.ackNow = true;
        return undefined;
      case 'error':
        // Only a REQUEST is answered with ERROR; later ones are stale or spoofed.
        if (this.state !== 'requesting') return 'unexpected_type';
        this.fail(packet.code, packet.text, true);
        return undefined;
      default:
        return 'unexpected_type';
    }
  }

  private onData(p: DataPacket, now: number): ReceiverDrop | undefined {
    if (this.state === 'done') return 'late';
    if (p.chunk >= this.totalChunks) return 'bad_chunk';
    const expected = p.chunk === this.totalChunks - 1 ? this.lastChunkBytes : this.o.payloadSize;
    if (p.payload.length !== expected) return 'bad_chunk';
    if (p.chunk >= this.cum + this.window) return 'beyond_window';
    this.lastHeard = now;
    if (this.state === 'requesting') this.state = 'receiving';
    let outOfOrder = p.packetNumber !== this.largestPn + 1;
    if (p.chunk >= this.cum) {
      const r = this.chunks.insert(p.chunk);
      if (r === 'full') return 'ranges_full'; // not acknowledged: the sender will send it again
      if (r === 'new') {
        this.slots[p.chunk % this.window] = p.payload;
        if (p.chunk !== this.cum) outOfOrder = true;
        this.deliverInOrder();
      } else {
        this.stats.duplicates++;
        outOfOrder = true;
      }
    } else {
      this.stats.duplicates++;
      outOfOrder = true;
    }
    this.stats.packets++;
    this.packets.insert(p.packetNumber);
    if (p.packetNumber > this.largestPn) {
      this.largestPn = p.packetNumber;
      this.largestTime = now;
    }
    this.unacked++;
    if (outOfOrder || this.unacked >= this.ackEvery || this.cum >= this.totalChunks) this.ackNow = true;
    else if (this.ackDue === Infinity) this.ackDue = now + this.maxAckDelayMs;
    if (this.cum >= this.totalChunks && this.state === 'receiving') this.state = 'complete';
    return undefined;
  }

  private deliverInOrder(): void {
    for (;;) {
      const i = this.cum % this.window;
      const payload = this.slots[i];
      if (payload === undefined) break;
      this.slots[i] = undefined;
      this.delivered.push(payload);
      this.deliveredBytes += payload.length;
      this.cum++;
    }
    // Keep the chunk set small: everything below the cumulative point is one range.
    if (this.chunks.rangeCount > 1 || this.cum > 0) this.chunks.dropBelow(Math.max(0, this.cum - 1));
  }

  /** In-order payloads to append to the file, oldest first (drains). */
  takeChunks(): Buffer[] {
    if (this.delivered.length === 0) return [];
    return this.delivered.splice(0, this.delivered.length);
  }

  /** Appends the in-order payloads to `out` (drains), without allocating a new array. */
  takeChunksInto(out: Buffer[]): void {
    const d = this.delivered;
    for (let i = 0; i < d.length; i++) out.push(d[i] as Buffer);
    d.length = 0;
  }

  cancel(code: ErrorCode, text: string): void {
    if (this.state === 'failed' || this.state === 'done') return;
    const cancel: UdpPacket = { type: 'cancel', transferId: this.o.transferId, token: this.o.token, code, text };
    // Twice (a lost CANCEL would leave the server sending until its idle timeout), each
    // encoded on its own: on an encrypted transfer the copies have their own nonces.
    this.control.push(this.encode(cancel), this.encode(cancel));
    this.fail(code, text, false);
  }

  /** A packet to send, sealed under a fresh number on an encrypted transfer. */
  private encode(packet: UdpPacket): Buffer {
    return this.o.sealer !== undefined ? this.o.sealer.seal(packet) : encodePacket(packet);
  }

  private fail(code: ErrorCode, text: string, fromPeer: boolean): void {
    this.state = 'failed';
    this.failure = { code, text, fromPeer };
    this.ackDue = Infinity;
    this.ackNow = false;
  }

  nextDeadline(): number {
    if (this.state === 'failed' || this.state === 'done') return Infinity;
    const idle = this.lastHeard + this.idleTimeoutMs;
    if (this.state === 'requesting') return Math.min(this.requestDue, idle);
    return Math.min(this.ackNow ? -Infinity : this.ackDue, idle);
  }

  onTimer(now: number): void {
    if (this.state === 'failed' || this.state === 'done') return;
    if (now - this.lastHeard >= this.idleTimeoutMs) {
      if (this.state === 'complete') {
        // Every byte is here; only the END never came. Good enough.
        this.state = 'done';
        return;
      }
      const secs = Math.round(this.idleTimeoutMs / 100) / 10;
      this.fail('TRANSFER_TIMEOUT', `no packet from the server for ${secs} s`, false);
      return;
    }
    if (now >= this.ackDue) this.ackNow = true;
  }

  /** The next datagram to send now, or undefined. */
  poll(now: number): Buffer | undefined {
    const control = this.control.shift();
    if (control !== undefined) return control;
    if (this.state === 'requesting') {
      if (now < this.requestDue) return undefined;
      this.requestDue = now + this.requestDelay;
      this.requestDelay = Math.min(this.requestDelay * 2, 2000);
      this.stats.requestsSent++;
      return this.encode({
        type: 'request',
        transferId: this.o.transferId,
        token: this.o.token,
        resumeFrom: this.cum,
        payloadSize: this.o.payloadSize,
        window: this.window,
        ...(this.nonce !== undefined ? { nonce: this.nonce } : {}),
      });
    }
    if (this.state === 'failed' || this.state === 'done') return undefined;
    if (!this.ackNow && now < this.ackDue) return undefined;
    this.ackNow = false;
    this.ackDue = Infinity;
    this.unacked = 0;
    this.stats.acksSent++;
    const ranges = this.largestPn >= 0 ? this.packets.newest(MAX_ACK_RANGES) : [];
    if (this.state === 'complete' && !this.finSent) {
      // The final ACK goes first; the FIN right behind it, twice (a lone lost FIN
      // would leave the sender to its idle timeout; it ignores the second).
      this.finSent = true;
      const fin = { type: 'end-ack', transferId: this.o.transferId, totalChunks: this.totalChunks } as const;
      this.control.push(this.encode(fin), this.encode(fin));
    }
    return this.encode({
      type: 'ack',
      transferId: this.o.transferId,
      largest: Math.max(0, this.largestPn),
      ackDelayUs: this.largestPn >= 0 ? (now - this.largestTime) * 1000 : 0,
      cumulative: this.cum,
      window: this.window,
      ranges,
    });
  }
}
