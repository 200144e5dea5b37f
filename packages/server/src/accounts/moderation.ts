import { checkNickname, nickKey } from '@parley/protocol';
import { BanList, parseAddressTarget, parseDuration, type Ban } from './ban-list.js';
import type { BanStore } from './moderation-store.js';

/** Most bans in force at once; past it a new ban is refused (lift old ones first). */
export const MAX_BANS = 10_000;

/** What a ban's target turned out to be. */
export type BanTarget =
  | { readonly ok: true; readonly kind: 'nick'; readonly key: string; readonly nick: string }
  | { readonly ok: true; readonly kind: 'address'; readonly key: string; readonly label: string }
  | { readonly ok: false; readonly text: string };

/**
 * The operators and the bans in force. Operators are accounts named in the
 * server's config (`--operators`): a connection is an operator only while it
 * is logged in to one of them. Bans are kept in memory for the per-join check
 * and written through to `accounts.db`, so they outlive a restart.
 */
export class Moderation {
  readonly #operators: ReadonlySet<string>;
  readonly #bans: BanList;
  readonly #store: BanStore;
  /** Counters for the metrics endpoint. */
  readonly stats = { kicks: 0, bans: 0, unbans: 0, refusedConnections: 0, refusedNicks: 0 };

  constructor(store: BanStore, operators: readonly string[], now: () => number = Date.now) {
    this.#store = store;
    this.#operators = new Set(operators.map((nick) => nickKey(nick)));
    this.#bans = new BanList(now);
    for (const ban of store.all()) this.#bans.add(ban);
  }

  /** True when `account` (a nick key) is an operator's account. */
  isOperator(account: string | undefined): boolean {
    return account !== undefined && this.#operators.has(account);
  }

  get operatorCount(): number {
    return this.#operators.size;
  }

  /** A nickname or an address/CIDR range, as a ban target. */
  static target(text: string): BanTarget {
    const range = parseAddressTarget(text);
    if (range) {
      const ip = range.ip.toLowerCase();
      const full = range.prefix === (range.family === 'ipv4' ? 32 : 128);
      return { ok: true, kind: 'address', key: full ? ip : `${ip}/${range.prefix}`, label: full ? ip : `${ip}/${range.prefix}` };
    }
    const nick = checkNickname(text);
    if (nick.ok) return { ok: true, kind: 'nick', key: nickKey(nick.nick), nick: nick.nick };
    return {
      ok: false,
      text: `"${text.slice(0, 60)}" is neither a nickname nor an address (203.0.113.7, 203.0.113.0/24 from /8 up, 2001:db8::/48 from /16 up)`,
    };
  }

  /** `30m` → ms; undefined input → undefined (until lifted); a bad text → null. */
  static duration(text: string | undefined): number | undefined | null {
    if (text === undefined) return undefined;
    return parseDuration(text) ?? null;
  }

  /** The ban that keeps out this nickname key or address, if any. */
  match(key: string | undefined, address: string | undefined): Ban | undefined {
    return this.#bans.match(key, address);
  }

  /** Adds (or replaces) a ban, kept before it is in force; false when MAX_BANS are in force already. */
  async add(ban: Ban): Promise<boolean> {
    const replacing = this.#bans.list().some((b) => b.kind === ban.kind && b.target === ban.target);
    if (!replacing && this.#bans.size >= MAX_BANS) return false;
    await this.#store.put(ban);
    this.#bans.add(ban);
    this.stats.bans += 1;
    return true;
  }

  /** Lifts a ban; the ban lifted, or undefined when there was none. */
  async remove(kind: Ban['kind'], target: string): Promise<Ban | undefined> {
    const ban = this.#bans.list().find((b) => b.kind === kind && b.target === target);
    if (!ban) return undefined;
    await this.#store.remove(kind, target);
    this.#bans.remove(kind, target);
    this.stats.unbans += 1;
    return ban;
  }

  /** Another node added or lifted a ban (cluster mode): in force here too, nothing written. */
  applyRemote(change: { readonly op: 'put'; readonly ban: Ban } | { readonly op: 'remove'; readonly kind: Ban['kind']; readonly target: string }): void {
    if (change.op === 'put') this.#bans.add(change.ban);
    else this.#bans.remove(change.kind, change.target);
  }

  /** The bans in force, oldest first. */
  list(): Ban[] {
    return this.#bans.list();
  }
}
