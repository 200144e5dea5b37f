import { BlockList, isIP } from 'node:net';

/** One ban: of a nickname (by its key, so look-alikes are banned too) or of an address range. */
export interface Ban {
  readonly kind: 'nick' | 'address';
  /** The nick key, or the range as given (`203.0.113.7`, `2001:db8::/48`). */
  readonly target: string;
  /** What the operator typed, for listing (the nickname as written). */
  readonly label: string;
  readonly by: string;
  readonly reason: string;
  readonly at: number;
  /** Epoch ms when it ends; undefined = until lifted. */
  readonly until: number | undefined;
}

/** `30m`, `12h`, `7d`, `90s`; undefined for a text that is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})([smhd])$/u.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  return ms > 0 && ms <= 3650 * 86_400_000 ? ms : undefined;
}

/** An address or CIDR range as a ban target (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/48`); undefined if it is neither. */
export function parseAddressTarget(text: string): { ip: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [ip = '', bits] = text.trim().split('/');
  const v = isIP(ip);
  if (v === 0) return undefined;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < (v === 4 ? 8 : 16) || prefix > max) return undefined;
  return { ip, prefix, family };
}

/**
 * The bans in force, checked on every join. Expired bans are dropped as they
 * are met. Pure apart from node:net's BlockList; the clock is injected.
 */
export class BanList {
  readonly #bans = new Map<string, Ban>();
  /**
   * Every address ban in one BlockList, made on the first check after a change:
   * a connection from an address nobody banned (nearly all of them) costs one
   * lookup, however many bans there are.
   */
  #addresses: BlockList | undefined;
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  static keyOf(ban: Pick<Ban, 'kind' | 'target'>): string {
    return `${ban.kind}:${ban.target}`;
  }

  add(ban: Ban): void {
    this.#bans.set(BanList.keyOf(ban), ban);
    if (ban.kind === 'address') this.#addresses = undefined;
  }

  remove(kind: Ban['kind'], target: string): Ban | undefined {
    const key = BanList.keyOf({ kind, target });
    const ban = this.#bans.get(key);
    this.#bans.delete(key);
    if (kind === 'address') this.#addresses = undefined;
    return ban;
  }

  /** Bans in force, oldest first. */
  list(): Ban[] {
    this.#expire();
    return [...this.#bans.values()].sort((a, b) => a.at - b.at);
  }

  /** The ban that keeps out this nickname key or this address, if any. */
  match(nickKey: string | undefined, address: string | undefined): Ban | undefined {
    this.#expire();
    const now = this.now();
    // The sweep runs at most once a second: a ban past its end between two sweeps no longer bites either.
    const live = (ban: Ban): boolean => ban.until === undefined || ban.until > now;
    if (nickKey !== undefined) {
      const byNick = this.#bans.get(BanList.keyOf({ kind: 'nick', target: nickKey }));
      if (byNick && live(byNick)) return byNick;
    }
    if (address === undefined) return undefined;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/iu.exec(address);
    const ip = mapped ? (mapped[1] as string) : address;
    const v = isIP(ip);
    if (v === 0) return undefined;
    const family = v === 4 ? 'ipv4' : 'ipv6';
    if (!this.#addressList().check(ip, family)) return undefined;
    for (const ban of this.#bans.values()) {
      if (ban.kind !== 'address' || !live(ban)) continue;
      const range = parseAddressTarget(ban.target);
      if (!range || (range.family === 'ipv4') !== (v === 4)) continue;
      const list = new BlockList();
      list.addSubnet(range.ip, range.prefix, range.family);
      if (list.check(ip, range.family)) return ban;
    }
    return undefined;
  }

  get size(): number {
    return this.#bans.size;
  }

  #addressList(): BlockList {
    if (this.#addresses) return this.#addresses;
    const list = new BlockList();
    for (const ban of this.#bans.values()) {
      const range = ban.kind === 'address' ? parseAddressTarget(ban.target) : undefined;
      if (range) list.addSubnet(range.ip, range.prefix, range.family);
    }
    this.#addresses = list;
    return list;
  }

  /** Drops expired bans, at most once a second (this runs on every connection: the walk is over every ban). */
  #expire(): void {
    const now = this.now();
    if (now - this.#sweptAt < 1000 && now >= this.#sweptAt) return;
    this.#sweptAt = now;
    for (const [key, ban] of this.#bans) {
      if (ban.until !== undefined && ban.until <= now) {
        this.#bans.delete(key);
        if (ban.kind === 'address') this.#addresses = undefined;
      }
    }
  }
}
