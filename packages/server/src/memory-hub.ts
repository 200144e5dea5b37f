import { eventFrame, nickKey, type LeaveReason, type ServerEvent } from '@parley/protocol';
import type { ChatHub, ClaimResult, HubMember } from './hub.js';

/** The single-node hub: a map from nick key to member. */
export class InMemoryHub implements ChatHub {
  readonly #members = new Map<string, HubMember>();

  /** `onDelivered(kind, n)`: `n` copies of an event of `kind` were queued (for metrics). */
  constructor(private readonly onDelivered: (kind: string, count: number) => void = () => undefined) {}

  get localCount(): number {
    return this.#members.size;
  }

  claim(member: HubMember): ClaimResult {
    const key = nickKey(member.nick);
    if (this.#members.has(key)) return { ok: false, taken: this.online() };
    this.#members.set(key, member);
    this.broadcast(member, { type: 'joined', nick: member.nick });
    return { ok: true };
  }

  release(member: HubMember, reason: LeaveReason, announce = true): void {
    const key = nickKey(member.nick);
    if (this.#members.get(key) !== member) return;
    this.#members.delete(key);
    if (announce) this.broadcast(member, { type: 'left', nick: member.nick, reason });
  }

  online(): string[] {
    return [...this.#members.values()].map((m) => m.nick).sort(compareNicks);
  }

  broadcast(from: HubMember, event: ServerEvent): void {
    if (this.#members.size === 0) return;
    const frame = eventFrame(event);
    let n = 0;
    for (const m of this.#members.values()) {
      if (m === from) continue;
      m.deliver(frame);
      n += 1;
    }
    this.onDelivered(event.type, n);
  }

  privateMessage(from: HubMember, to: string, text: string): boolean {
    const m = this.#members.get(nickKey(to));
    if (!m) return false;
    m.deliver(eventFrame({ type: 'private', from: from.nick, to: m.nick, text }));
    this.onDelivered('private', 1);
    return true;
  }

  close(): void {
    this.#members.clear();
  }
}

export function compareNicks(a: string, b: string): number {
  const ka = nickKey(a);
  const kb = nickKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
