import { timingSafeEqual } from 'node:crypto';
import { ParleyProtocolError, decodePacket, encodePacket, type ErrorCode, type PacketSealer, type UdpPacket } from '@parley/protocol';

export interface UploadOpenerOptions {
  readonly transferId: number;
  readonly token: Buffer;
  readonly payloadSize: number;
  readonly now: number;
  /** First REQUEST retry delay, doubled up to 2 s. Default 200 ms. */
  readonly requestRetryMs?: number;
  /** Nothing from the server for this long → failed. Default 10 s. */
  readonly idleTimeoutMs?: number;
  readonly sealer?: PacketSealer;
}

export type UploadOpenerState = 'opening' | 'open' | 'failed';

/**
 * The client's first phase of an upload, as a clock-free state machine: REQUEST
 * (repeated 200 ms, doubling to 2 s) until the server's CHALLENGE, then REQUEST
 * echoing its nonce until the server's first ACK, which says from which chunk to
 * send (a resume) and the window. Then the caller hands over to a Sender.
 */
export class UploadOpener {
  state: UploadOpenerState = 'opening';
  failure: { code: ErrorCode; text: string } | undefined;
  /** Set once open: the server's cumulative point and window. */
  opened: { resumeFrom: number; window: number } | undefined;
  private nonce: Buffer | undefined;
  private due: number;
  private delay: number;
  private lastHeard: number;
  private readonly idleTimeoutMs: number;

  constructor(private readonly o: UploadOpenerOptions) {
    if (o.token.length !== 16) throw new RangeError('token must be 16 bytes');
    this.due = o.now;
    this.delay = o.requestRetryMs ?? 200;
    this.lastHeard = o.now;
    this.idleTimeoutMs = o.idleTimeoutMs ?? 10_000;
  }

  onDatagram(buf: Buffer, now: number): ErrorCode | 'ignored' | undefined {
    let packet: UdpPacket;
    try {
      packet = this.o.sealer !== undefined ? this.o.sealer.open(buf) : decodePacket(buf);
    } catch (err) {
      if (err instanceof ParleyProtocolError) return err.wireCode;
      throw err;
    }
    if (packet.transferId !== this.o.transferId || this.state !== 'opening') return 'ignored';
    switch (packet.type) {
      case 'challenge':
        this.nonce = Buffer.from(packet.nonce);
        this.lastHeard = now;
        this.due = now;
        this.delay = this.o.requestRetryMs ?? 200;
        return undefined;
      case 'ack':
        // Only a validated address gets an ACK: the upload is open.
        this.opened = { resumeFrom: packet.cumulative, window: packet.window };
        this.state = 'open';
        return undefined;
      case 'error':
        this.fail(packet.code, packet.text);
        return undefined;
      case 'cancel':
        if (!timingSafeEqual(packet.token, this.o.token)) return 'ignored';
        this.fail(packet.code, packet.text);
        return undefined;
      default:
        return 'ignored';
    }
  }

  private fail(code: ErrorCode, text: string): void {
    this.state = 'failed';
    this.failure = { code, text };
  }

  nextDeadline(): number {
    return this.state === 'opening' ? Math.min(this.due, this.lastHeard + this.idleTimeoutMs) : Infinity;
  }

  onTimer(now: number): void {
    if (this.state === 'opening' && now - this.lastHeard >= this.idleTimeoutMs) {
      this.fail('TRANSFER_TIMEOUT', `no answer from the server for ${Math.round(this.idleTimeoutMs / 1000)} s`);
    }
  }

  /** The REQUEST to send now, or undefined. */
  poll(now: number): Buffer | undefined {
    if (this.state !== 'opening' || now < this.due) return undefined;
    this.due = now + this.delay;
    this.delay = Math.min(this.delay * 2, 2000);
    const req: UdpPacket = {
      type: 'request',
      transferId: this.o.transferId,
      token: this.o.token,
      resumeFrom: 0,
      payloadSize: this.o.payloadSize,
      window: 1,
      ...(this.nonce !== undefined ? { nonce: this.nonce } : {}),
    };
    return this.o.sealer !== undefined ? this.o.sealer.seal(req) : encodePacket(req);
  }
}
