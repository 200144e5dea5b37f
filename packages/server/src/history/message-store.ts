import type { HistoryQuery, MessageStamp } from '@parley/protocol';

/** A message to store: who sent it to whom, in which tenure of their nicknames (PROTOCOL.md §2.3). */
export type NewMessage =
  | { readonly kind: 'broadcast'; readonly from: string; readonly fromKey: string; readonly fromTenure: number; readonly text: string }
  | {
      readonly kind: 'private';
      readonly from: string;
      readonly fromKey: string;
      readonly fromTenure: number;
      readonly to: string;
      readonly toKey: string;
      readonly toTenure: number;
      readonly text: string;
    };

/** A message as stored, with its id and time. */
export interface StoredMessage extends MessageStamp {
  readonly kind: 'broadcast' | 'private';
  readonly from: string;
  /** The recipient of a private message. */
  readonly to: string | undefined;
  readonly text: string;
}

export interface HistoryStats {
  /** Messages committed since start. */
  readonly stored: number;
  /** Commits that failed (their messages were delivered but not kept). */
  readonly commitFailures: number;
  /** Messages deleted by retention since start. */
  readonly trimmed: number;
}

/** Whose history: a nickname key and its current tenure. Sees every broadcast and the privates of this tenure. */
export interface Viewer {
  readonly key: string;
  readonly tenure: number;
}

export interface HistoryPage {
  /** Oldest first. */
  readonly messages: readonly StoredMessage[];
  /** The answer was cut short by its count or its byte cap. */
  readonly more: boolean;
}

/**
 * Where messages are kept. The SQLite store serves one node; the Redis
 * Streams store (`cluster/stream-history.ts`) serves a cluster, where the
 * stream id is the message id. `append` answers now, with the id: the
 * message is staged and written by `commitPending()`, which the server calls
 * before it writes anything to any socket, so no copy of a message is ever
 * sent before it is stored. (In a cluster the hub stores messages as it
 * sends them — `ChatHub.storing` — and the store only answers questions.)
 */
export interface MessageStore {
  append(message: NewMessage, now: number): MessageStamp;
  /** Writes every staged message (one transaction). Cheap when nothing is staged. */
  commitPending(): void;
  /**
   * The messages `viewer` may see that answer `query`, oldest first, at most
   * `query.count` and at most `maxBytes` of `bytesOf(message)`. Throws a
   * `ParleyProtocolError` (BAD_ARGUMENTS) for an id this store cannot have made.
   */
  query(viewer: Viewer, query: HistoryQuery, maxBytes: number, bytesOf: (m: StoredMessage) => number): HistoryPage | Promise<HistoryPage>;
  /**
   * The join history of `viewer`, up to the message `newest`, has been
   * written to it (or could not be read: undefined). A store that is also the
   * delivery (the cluster's streams) holds a new user's live messages until
   * then and drops those its join history already had.
   */
  replayed?(viewer: Viewer, newest: string | undefined): void;
  /** `key` took its nickname: its tenure goes on if it was free for at most the grace time, else a new one begins. */
  beginTenure(key: string, now: number, account?: boolean): number;
  /** The current tenure of a nickname that is held now (undefined when nobody holds it). */
  tenureOf(key: string): number | undefined;
  endTenure(key: string, now: number): void;
  /** Counters for /metrics. */
  stats?(): HistoryStats;
  /** Deletes at most `batch` messages past the retention limits; returns how many. */
  trim(now: number, batch?: number): number;
  close(): void;
}
