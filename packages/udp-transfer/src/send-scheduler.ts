import type { TransferLogger } from './logger.js';
import type { Sender } from './sender.js';

/** Datagrams queued in dgram beyond which a turn stops: the kernel's send buffer is full. */
const MAX_SEND_QUEUE = 64;
/** DATA packets per turn before incoming ACKs get their turn on the event loop. */
export const MAX_PACKETS_PER_TURN = 512;

/** What the scheduler needs of a transfer. */
export interface ScheduledTransfer {
  readonly sender: Sender;
  readonly log: TransferLogger;
}

/** Where DATA goes (the transfer server's socket). */
export interface DataOutput<T> {
  /** Datagrams handed to dgram whose send has not completed. */
  queued(): number;
  /** Hands a burst of one transfer's DATA packets to the kernel; false when its send buffer filled up. */
  send(transfer: T, burst: Buffer[]): boolean;
}

export interface TurnResult {
  /** DATA packets handed out this turn. */
  readonly sent: number;
  /** Stopped early: the send queue is full or the turn's packet budget is spent. */
  readonly blocked: boolean;
}

/**
 * Shares the socket among transfers: round-robin, a burst each per round (one
 * packet through dgram, up to `burstMax` through the batch addon: one system
 * call per burst), as long as congestion control and pacing let a sender
 * produce packets, the send queue has room and the turn's budget lasts.
 */
export class SendScheduler<T extends ScheduledTransfer> {
  /** The burst being filled, reused every time (no allocation per burst). */
  private readonly burst: Buffer[] = [];

  constructor(
    private readonly out: DataOutput<T>,
    private readonly burstMax: number,
  ) {}

  turn(transfers: readonly T[], now: number): TurnResult {
    let sent = 0;
    let blocked = false;
    for (let progress = true; progress && !blocked; ) {
      progress = false;
      for (const t of transfers) {
        if (this.out.queued() > MAX_SEND_QUEUE || sent >= MAX_PACKETS_PER_TURN) {
          blocked = true;
          break;
        }
        const s = t.sender;
        const burst = this.burst;
        burst.length = 0;
        try {
          for (let dg = s.poll(now); dg !== undefined; dg = burst.length < this.burstMax ? s.poll(now) : undefined) burst.push(dg);
        } catch (err) {
          t.log.error({ err }, 'reading the file failed');
          s.cancel('FILE_UNREADABLE', 'file cannot be read');
        }
        if (burst.length === 0) continue;
        if (!this.out.send(t, burst)) blocked = true;
        sent += burst.length;
        progress = true;
      }
    }
    return { sent, blocked };
  }
}
