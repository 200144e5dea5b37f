import type { LeaveReason } from '@parley/protocol';

/** An entry of the online list: a nick and the node that holds it. */
export interface Seen {
  readonly nick: string;
  readonly node: string;
}

/** What this node's users are to be told. `node`: who holds the nick that joined. */
export type Announcement =
  | { readonly type: 'joined'; readonly key: string; readonly nick: string; readonly node: string }
  | { readonly type: 'left'; readonly nick: string; readonly reason: LeaveReason };

/**
 * Who this node's users have been told is online, kept from the SYNC snapshot
 * and the numbered presence events after it. A name a snapshot does not find
 * is a suspect: it leaves after one lease unless a node re-asserts it.
 * Joins and leaves are announced only while the list is under `announceLimit`.
 * Bound: one entry per online user of the cluster (the leases in Redis).
 */
export class OnlineView {
  readonly #view = new Map<string, Seen>();
  readonly #suspects = new Map<string, number>();

  constructor(
    private readonly announceLimit: number,
    private readonly leaseMs: number,
  ) {}

  get size(): number {
    return this.#view.size;
  }

  has(key: string): boolean {
    return this.#view.has(key);
  }

  get(key: string): Seen | undefined {
    return this.#view.get(key);
  }

  entries(): IterableIterator<[string, Seen]> {
    return this.#view.entries();
  }

  /**
   * Makes the view the snapshot (`flat`: key, "node nick", key, …): new names
   * are announced now, missing ones after a lease (they may be re-asserted).
   */
  adoptSnapshot(flat: readonly string[], now: number): Announcement[] {
    const out: Announcement[] = [];
    const snapshot = new Map<string, Seen>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const owner = flat[i + 1] as string;
      const sp = owner.indexOf(' ');
      snapshot.set(flat[i] as string, { node: owner.slice(0, sp), nick: owner.slice(sp + 1) });
    }
    for (const [key, seen] of snapshot) {
      this.#suspects.delete(key);
      const had = this.#view.get(key);
      this.#view.set(key, seen);
      if (had?.nick === seen.nick) continue;
      if (this.#view.size <= this.announceLimit) out.push({ type: 'joined', key, nick: seen.nick, node: seen.node });
    }
    for (const key of this.#view.keys()) {
      if (!snapshot.has(key) && !this.#suspects.has(key)) this.#suspects.set(key, now + this.leaseMs);
    }
    return out;
  }

  /** Suspects whose lease is up leave (`timeout`). */
  expireSuspects(now: number): Announcement[] {
    const out: Announcement[] = [];
    for (const [key, deadline] of this.#suspects) {
      if (deadline > now) continue;
      this.#suspects.delete(key);
      const seen = this.#view.get(key);
      if (!seen) continue;
      this.#view.delete(key);
      if (this.#view.size < this.announceLimit) out.push({ type: 'left', nick: seen.nick, reason: 'timeout' });
    }
    return out;
  }

  /** A numbered `joined` event. */
  joined(key: string, nick: string, node: string): Announcement | undefined {
    this.#suspects.delete(key);
    const had = this.#view.get(key);
    this.#view.set(key, { nick, node });
    return had?.nick !== nick && this.#view.size <= this.announceLimit ? { type: 'joined', key, nick, node } : undefined;
  }

  /** A numbered `left` event, or a leave this node announces itself; nothing if the name was not listed. */
  left(key: string, nick: string, reason: LeaveReason): Announcement | undefined {
    this.#suspects.delete(key);
    if (!this.#view.delete(key)) return undefined;
    return this.#view.size < this.announceLimit ? { type: 'left', nick, reason } : undefined;
  }

  /** Removes a name without announcing it. */
  delete(key: string): void {
    this.#view.delete(key);
  }
}
