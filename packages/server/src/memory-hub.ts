import { eventFrame, nickFold, nickKey, type LeaveReason, type MessageStamp, type ServerEvent } from '@parley/protocol';
import type { ChatHub, ClaimResult, HubMember } from './hub.js';

interface Entry {
  readonly member: HubMember;
  readonly key: string;
}

/** Where a nick sorts in the online list: case-insensitively, ties (look-alikes cannot be online together) by key. */
function sortKey(nick: string): string {
  return `${nickFold(nick)}\u0000${nickKey(nick)}`;
}

/**
 * The single-node hub: members by nick key, plus the online list kept sorted
 * as people join and leave (binary search; no sorting or case-folding on the
 * way to answering `online`).
 */
export class InMemoryHub implements ChatHub {
  readonly #members = new Map<string, Entry>();
  /** Nicks sorted case-insensitively, and their sort keys at the same index. */
  #nicks: string[] = [];
  #keys: string[] = [];

  /**
   * `announceLimit`: joins and leaves are announced only while fewer users are online.
   * `onDelivered(kind, n)`: `n` copies of an event of `kind` were queued (for metrics).
   */
  constructor(
    private readonly announceLimit = Number.POSITIVE_INFINITY,
    private readonly onDelivered: (kind: string, count: number) => void = () => undefined,
  ) {}

  get localCount(): number {
    return this.#members.size;
  }

  claim(member: HubMember): ClaimResult {
    const key = nickKey(member.nick);
    const holder = this.#members.get(key);
    if (holder) return { ok: false, holder: holder.member.nick, online: this.#members.size };
    this.#members.set(key, { member, key });
    const sorted = sortKey(member.nick);
    const at = this.#position(sorted);
    this.#nicks.splice(at, 0, member.nick);
    this.#keys.splice(at, 0, sorted);
    if (this.#members.size <= this.announceLimit) this.broadcast(member, { type: 'joined', nick: member.nick });
    return { ok: true };
  }

  release(member: HubMember, reason: LeaveReason, announce = true): void {
    const key = nickKey(member.nick);
    if (this.#members.get(key)?.member !== member) return;
    this.#members.delete(key);
    const sorted = sortKey(member.nick);
    const at = this.#position(sorted);
    if (this.#keys[at] === sorted) {
      this.#nicks.splice(at, 1);
      this.#keys.splice(at, 1);
    }
    if (announce && this.#members.size < this.announceLimit) this.broadcast(member, { type: 'left', nick: member.nick, reason });
  }

  /** Everyone online, sorted case-insensitively. The array is read-only and only valid until the next join or leave. */
  online(): readonly string[] {
    return this.#nicks;
  }

  broadcast(from: HubMember, event: ServerEvent, stamp?: MessageStamp): void {
    if (this.#members.size === 0) return;
    const frame = eventFrame(event);
    const lazy = event.type === 'joined' || event.type === 'left';
    // Encoded once too, on first use: for members that asked for ids.
    let stamped: Buffer | undefined;
    let n = 0;
    for (const { member } of this.#members.values()) {
      if (member === from) continue;
      if (stamp && member.ids) member.deliver((stamped ??= eventFrame({ ...event, ...stamp } as ServerEvent)), lazy);
      else member.deliver(frame, lazy);
      n += 1;
    }
    this.onDelivered(event.type, n);
  }

  privateMessage(from: HubMember, to: string, text: string, store?: (recipient: HubMember) => MessageStamp | undefined): boolean {
    const entry = this.#members.get(nickKey(to));
    if (!entry) return false;
    const stamp = store?.(entry.member);
    const nick = entry.member.nick;
    // No spread on the common path (no ids): one object, one shape.
    entry.member.deliver(
      eventFrame(
        stamp && entry.member.ids ? { type: 'private', from: from.nick, to: nick, text, ...stamp } : { type: 'private', from: from.nick, to: nick, text },
      ),
    );
    this.onDelivered('private', 1);
    return true;
  }

  close(): void {
    this.#members.clear();
    this.#nicks = [];
    this.#keys = [];
  }

  /** First index whose key is not below `key`. */
  #position(key: string): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#keys[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Sorts nicknames as the online list does, computing each one's sort key once. */
export function sortNicks(nicks: Iterable<string>): string[] {
  const keyed = [...nicks].map((nick) => ({ nick, key: sortKey(nick) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.nick);
}

/** Orders nicknames as the online list does (case-insensitively). */
export function compareNicks(a: string, b: string): number {
  const ka = sortKey(a);
  const kb = sortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
