import type { WaitingMessage, WaitingStore } from './moderation-store.js';

export interface WaitingLimits {
  /** Messages waiting for one account, from everyone. */
  readonly perRecipient: number;
  /** Messages one sender may leave waiting for one account. */
  readonly perSender: number;
}

export const DEFAULT_WAITING_LIMITS: WaitingLimits = { perRecipient: 100, perSender: 20 };

export type LeaveResult = { readonly ok: true; readonly count: number } | { readonly ok: false; readonly text: string };

/**
 * Private messages to a registered nickname whose owner is offline: kept in
 * `accounts.db` and handed over, once, at their next login. Bounded per
 * recipient and per sender, so nobody can fill another's queue (or the disk).
 */
export class WaitingMessages {
  readonly #store: WaitingStore;
  readonly #limits: WaitingLimits;
  readonly stats = { left: 0, delivered: 0, refused: 0 };

  constructor(store: WaitingStore, limits: Partial<WaitingLimits> = {}) {
    this.#store = store;
    this.#limits = { ...DEFAULT_WAITING_LIMITS, ...limits };
  }

  /** Leaves a message for `toKey`; refused when a cap is reached. */
  async leave(toKey: string, toNick: string, from: { nick: string; key: string }, text: string, at: number): Promise<LeaveResult> {
    const before = await this.#store.count(toKey, from.key);
    if (before.from >= this.#limits.perSender) {
      this.stats.refused += 1;
      return { ok: false, text: `you have ${this.#limits.perSender} messages waiting for "${toNick}" already; this one was not kept` };
    }
    if (before.all >= this.#limits.perRecipient) {
      this.stats.refused += 1;
      return { ok: false, text: `"${toNick}" has ${this.#limits.perRecipient} messages waiting already; this one was not kept` };
    }
    await this.#store.add(toKey, { fromNick: from.nick, fromKey: from.key, text, at });
    this.stats.left += 1;
    return { ok: true, count: before.all + 1 };
  }

  /**
   * The messages waiting for `toKey`, oldest first; `delivered()` removes
   * them once they are handed to the connection.
   */
  async take(toKey: string): Promise<{ messages: WaitingMessage[]; delivered: () => Promise<void> }> {
    const messages = await this.#store.list(toKey);
    const last = messages.at(-1);
    return {
      messages,
      delivered: async () => {
        if (!last) return;
        await this.#store.remove(toKey, last.id);
        this.stats.delivered += messages.length;
      },
    };
  }

  /** The account is gone: its waiting messages with it. */
  async clear(toKey: string): Promise<void> {
    await this.#store.clear(toKey);
  }
}
