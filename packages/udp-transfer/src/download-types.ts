/** What `downloadFile` takes and gives: the offer, the options, progress and the result. */

export interface DownloadProgress {
  /** Bytes on disk, including a resumed prefix. */
  bytes: number;
  total: number;
  /** Average over this session. */
  rateBytesPerSec: number;
  /** Seconds left at that rate (Infinity before any data). */
  etaSec: number;
}

/** The fields of the TCP `offer` event. */
export interface DownloadOffer {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly token: string;
  readonly udpPort?: number;
  /**
   * The transfer key (64 hex digits), present on an encrypted offer: every UDP
   * packet is then sealed with it, and nothing unsealed is accepted.
   */
  readonly key?: string;
}

export interface DownloadOptions {
  readonly host: string;
  /** Server UDP port; defaults to `offer.udpPort`. */
  readonly port?: number;
  readonly offer: DownloadOffer;
  readonly destPath: string;
  /** Chunk payload bytes. Default 1452, or 1440 on an encrypted offer (1472-byte datagrams either way). */
  readonly payloadSize?: number;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  /** Continue a partial temp file from an earlier attempt. Default true. */
  readonly resume?: boolean;
  /** Give up when the server sends nothing for this long. Default 10 s. */
  readonly idleTimeoutMs?: number;
  /** Receive window in chunks. Default 4096. */
  readonly window?: number;
  /**
   * First REQUEST retry (a lost REQUEST or CHALLENGE), doubled each time up to
   * 2 s. Default 200 ms; a client that has timed a round trip to the server
   * (its chat connection's) can pass a shorter one (see the client's
   * `firstRequestRetryMs`).
   */
  readonly requestRetryMs?: number;
  /**
   * Only when the sender's END came before this receiver sent its FIN (END_ACK
   * behind the final ACK): keep answering repeated ENDs this long, in the
   * background. Default 1 s; 0 closes at once. Normally the FIN goes first, and
   * the download resolves and closes its socket as soon as the file is verified.
   */
  readonly lingerMs?: number;
  /** Milliseconds between progress callbacks. Default 100. */
  readonly progressIntervalMs?: number;
  /**
   * Read datagrams in batches (recvmmsg) through the optional native addon when
   * it is built. Default true; false, or PARLEY_UDP_BATCH=0, reads one per callback.
   */
  readonly batchIo?: boolean;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Datagrams dropped unread because they did not authenticate (encrypted offers; always 0 otherwise). */
  unauthenticated: number;
}
