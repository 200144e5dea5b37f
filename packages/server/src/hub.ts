import type { ErrorCode, LeaveReason, MessageStamp, ServerEvent } from '@parley/protocol';

/** A value now, or later (the Redis hub answers later; the in-memory hub now). */
export type MaybePromise<T> = T | Promise<T>;

/** A user connected to this node, as the hub sees it. */
export interface HubMember {
  /** Unique per connection on this node. */
  readonly id: string;
  /** The nickname as the user typed it. */
  readonly nick: string;
  /**
   * Queues an encoded event for this user (never blocks, never throws). A `lazy`
   * frame (join and leave notices) may wait a few milliseconds to share a write
   * with others; it is never reordered with the user's other frames.
   */
  deliver(frame: Buffer, lazy?: boolean): void;
  /** The user sent `ids,on`: give it messages with their id and time. */
  readonly ids?: boolean;
  /** Ends this user's session (a cluster hub found its nick taken elsewhere after an outage). */
  evict?(code: ErrorCode, text: string): void;
}

/**
 * A refused claim says who holds the nick (when the hub knows) and how many
 * are online — never the whole list: the claimant has not joined yet.
 */
export type ClaimResult = { readonly ok: true } | { readonly ok: false; readonly holder?: string; readonly online: number };

/**
 * A hub whose delivery is its store (the Redis hub on streams: the XADD that
 * stores a message is what delivers it, and the stream id is its id). With
 * history on, the server sends chat messages through these instead of
 * `MessageStore.append` and `broadcast`/`privateMessage`.
 */
export interface StoringHub {
  /**
   * Stores a broadcast and delivers it to everyone but `from`. Resolves with
   * its stamp once Redis has it; with undefined when it reached this node's
   * users only, unstored (the link is down). Rejects when Redis may or may
   * not have it (the link dropped while it was on its way).
   */
  sendBroadcast(from: HubMember, text: string): Promise<MessageStamp | undefined>;
  /** As `sendBroadcast`, to the member called `to` (any case); `{ delivered: false }` when nobody of that name is online. */
  sendPrivate(from: HubMember, to: string, text: string): Promise<{ readonly delivered: boolean; readonly stamp?: MessageStamp }>;
}

/**
 * Presence (who is online, where) and delivery (to one, to all) for one chat.
 * The in-memory hub serves a single node; a Redis-backed hub can take its
 * place for several nodes without the server changing. Implementations
 * announce `joined` and `left` themselves and encode each event once.
 */
export interface ChatHub {
  /** Claims `member.nick` (unique by `nickKey`: case and look-alikes). On success everyone else sees `joined`. */
  claim(member: HubMember): MaybePromise<ClaimResult>;
  /** Releases the member's nick. Everyone else sees `left` unless `announce` is false. */
  release(member: HubMember, reason: LeaveReason, announce?: boolean): MaybePromise<void>;
  /** Everyone online, sorted case-insensitively. */
  online(): MaybePromise<readonly string[]>;
  /** Delivers `event` to every member but `from`; with `stamp`, members with `ids` get the message with its id and time. */
  broadcast(from: HubMember, event: ServerEvent, stamp?: MessageStamp): void;
  /**
   * Delivers a private message to the member called `to` (any case); false when nobody of that name is online.
   * `store(recipient)` is called once the recipient is found and before it is delivered (it stores the message, returning its stamp).
   */
  privateMessage(from: HubMember, to: string, text: string, store?: (recipient: HubMember) => MessageStamp | undefined): MaybePromise<boolean>;
  /** Number of members on this node. */
  readonly localCount: number;
  /** Set when the hub stores messages itself (see `StoringHub`). */
  readonly storing?: StoringHub;
  close(): MaybePromise<void>;
}
