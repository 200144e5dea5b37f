import type { TransferLogger } from './logger.js';

export interface TransferServerOptions {
  readonly host?: string;
  /** 0 = ephemeral. */
  readonly port?: number;
  readonly logger?: TransferLogger;
  /** How long an offered token may wait for its REQUEST. Default 30 s. */
  readonly tokenTtlMs?: number;
  /** A transfer with no valid packet from its receiver for this long is dropped. Default 15 s. */
  readonly idleTimeoutMs?: number;
  /** Offers plus active transfers per TCP session. Default 4. */
  readonly maxTransfersPerOwner?: number;
  /** Per-transfer pacing ceiling in bytes/s (default: none; the congestion controller decides). */
  readonly maxRateBytesPerSec?: number;
  /** SO_SNDBUF / SO_RCVBUF to ask for. Default 4 MiB (the kernel may cap it). */
  readonly socketBufferBytes?: number;
  /**
   * Replies (ERROR, CHALLENGE) to an address that has not been validated, per second
   * per IP address (a token bucket each). Default 100.
   */
  readonly maxErrorRepliesPerSec?: number;
  /** IP addresses whose reply budget is remembered at once (least recently seen forgotten first). Default 4096. */
  readonly maxReplyAddresses?: number;
  /** File bytes read ahead per transfer, whatever the payload size (at least one chunk). Default 256 KiB. */
  readonly readAheadBytes?: number;
  /** Active transfers per client IP address (checked when its REQUEST is validated). Default 8. */
  readonly maxTransfersPerAddress?: number;
  /** Offers plus active transfers on the whole server (checked by `offer`). Default 256. */
  readonly maxTransfers?: number;
  /** Largest DATA payload a REQUEST may ask for. Default 65487 (protocol maximum). */
  readonly maxPayloadBytes?: number;
  /**
   * Hand DATA packets to the kernel in batches (UDP GSO or sendmmsg) through the
   * optional native addon when it is built. Default true; false, or
   * PARLEY_UDP_BATCH=0 in the environment, sends one datagram per call.
   */
  readonly batchIo?: boolean;
}

export interface TransferServerStats {
  active: number;
  pendingOffers: number;
  bytesSent: number;
  retransmissions: number;
  dropped: Record<string, number>;
  /** How DATA leaves: 'batched' (native addon) or 'dgram' (one send per datagram). */
  io: 'batched' | 'dgram';
}
