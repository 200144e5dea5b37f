import type { ResolvedFile } from './file-library.js';

/** What the chat server needs from the UDP file service (implemented by `@parley/udp-transfer`). */
export interface DownloadService {
  /** The UDP port clients send their transfer requests to. */
  readonly port: number;
  /**
   * Registers a one-time transfer of `file` for the session `owner`, opening the file
   * now (without following a link at `path`) so that what is at the path later does not
   * matter. Throws `ParleyProtocolError`: TRANSFER_LIMIT (the session's or the server's
   * limit), FILE_UNREADABLE (replaced by a link, no longer a regular file of that size).
   * With `encrypt`, also returns the transfer's key (64 hex digits): every UDP packet of
   * the transfer is then sealed with it.
   */
  offer(input: { owner: string; path: string; name: string; size: number; sha256: string; encrypt?: boolean }): { id: number; token: string; key?: string };
  cancel(owner: string, id: number): boolean;
  /** The session is gone: forget its offers and stop its transfers. */
  cancelOwner(owner: string): void;
  close(graceMs?: number): Promise<void>;
  /** Counters for the metrics endpoint. */
  stats?(): { active: number; pendingOffers: number; bytesSent: number; retransmissions: number; dropped: Record<string, number>; io?: 'batched' | 'dgram' };
}

export function offerInput(owner: string, file: ResolvedFile): Parameters<DownloadService['offer']>[0] {
  return { owner, path: file.path, name: file.name, size: file.size, sha256: file.sha256 };
}
