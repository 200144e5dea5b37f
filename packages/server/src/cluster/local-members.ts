import type { HubMember } from '../hub.js';
import { compareIds } from './stream-reader.js';

/** A delivery held back; `id` for a stored chat message (its stream id). */
interface Held {
  readonly frame: Buffer;
  readonly id: string | undefined;
}

/** A member of this node, as the Redis hub tracks it. */
export interface Local {
  readonly member: HubMember;
  readonly key: string;
  /** The claim succeeded: the member holds its nick. */
  live: boolean;
  /** Bus deliveries reach it (from its own `joined` on, or from its claim's answer). */
  receiving: boolean;
  /** Deliveries held until the session has had its answer (so `welcome`, and its join history, come first). */
  held: Held[] | null;
  /** The presence number at which it got (or re-asserted) its nick. */
  seq: number;
  /** Its tenure of the nick (from the claim's answer; 0 without stream history). */
  tenure: number;
  /** Stored messages up to this id were in its join history: they are not delivered again. */
  after: string | undefined;
}

/**
 * This node's members, by member id and by nick key, and delivery to them.
 * Bound: one entry per session of this node (the server's connection limits
 * bound those); `held` holds what arrives between a claim's answer and the
 * next turn of the event loop.
 */
export class LocalMembers {
  readonly #byId = new Map<string, Local>();
  readonly #byKey = new Map<string, Local>();
  #liveCount = 0;

  constructor(private readonly onDelivered: (kind: string, count: number) => void) {}

  /** Members that hold their nick. */
  get liveCount(): number {
    return this.#liveCount;
  }

  byId(id: string): Local | undefined {
    return this.#byId.get(id);
  }

  byKey(key: string): Local | undefined {
    return this.#byKey.get(key);
  }

  values(): IterableIterator<Local> {
    return this.#byId.values();
  }

  /** Adds a member whose claim is on its way: not live, not receiving, deliveries held. */
  add(member: HubMember, key: string): Local {
    const local: Local = { member, key, live: false, receiving: false, held: [], seq: 0, tenure: 0, after: undefined };
    this.#byKey.set(key, local);
    this.#byId.set(member.id, local);
    return local;
  }

  /** Its claim succeeded. */
  markLive(local: Local, seq: number): void {
    local.live = true;
    local.receiving = true;
    local.seq = seq;
    this.#liveCount += 1;
  }

  /** Still the member of that id (not released or replaced meanwhile). */
  isCurrent(local: Local): boolean {
    return this.#byId.get(local.member.id) === local;
  }

  forget(local: Local): void {
    if (!this.isCurrent(local)) return;
    this.#byId.delete(local.member.id);
    if (this.#byKey.get(local.key) === local) this.#byKey.delete(local.key);
    if (local.live) this.#liveCount -= 1;
  }

  clear(): void {
    this.#byId.clear();
    this.#byKey.clear();
    this.#liveCount = 0;
  }

  deliver(local: Local, frame: Buffer, lazy = false, id?: string): void {
    if (!local.receiving) return;
    if (id !== undefined && local.after !== undefined) {
      if (compareIds(id, local.after) <= 0) return;
      // Past its join history: no later message can be older.
      if (!local.held) local.after = undefined;
    }
    if (local.held) local.held.push({ frame, id });
    else local.member.deliver(frame, lazy);
  }

  /**
   * A stored message (stream id `id`) to every receiving member but `except`:
   * `stamped()` (made once, on first use) for members that asked for ids.
   */
  deliverMessage(kind: string, id: string, frame: Buffer, stamped: () => Buffer, except: Local | undefined): void {
    let n = 0;
    for (const l of this.#byId.values()) {
      if (l === except || !l.receiving) continue;
      this.deliver(l, l.member.ids ? stamped() : frame, false, id);
      n += 1;
    }
    if (n > 0) this.onDelivered(kind, n);
  }

  /** To every receiving member but `except`; joins and leaves are lazy (they may wait for the next flush). */
  deliverAll(kind: string, frame: Buffer, except: Local | undefined): void {
    let n = 0;
    const lazy = kind === 'joined' || kind === 'left';
    for (const l of this.#byId.values()) {
      if (l === except || !l.receiving) continue;
      this.deliver(l, frame, lazy);
      n += 1;
    }
    if (n > 0) this.onDelivered(kind, n);
  }

  /**
   * Its session has had its answer: what was held goes out, in order. With
   * `after` (the newest message of its join history), stored messages up to
   * that id are dropped, now and when they arrive later.
   */
  flushHeld(local: Local, after?: string): void {
    const held = local.held;
    local.held = null;
    if (!held || !this.isCurrent(local)) return;
    if (after !== undefined) local.after = after;
    for (const h of held) {
      if (h.id !== undefined && local.after !== undefined && compareIds(h.id, local.after) <= 0) continue;
      local.member.deliver(h.frame);
    }
  }
}
