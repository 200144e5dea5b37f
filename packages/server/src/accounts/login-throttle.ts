/**
 * Slows password guessing down without letting a guesser lock the owner out.
 *
 * - **Per address** (an IPv4 address or an IPv6 /64, as the connection limits
 *   count them): `addressFailures` wrong passwords within `addressWindowMs`,
 *   for any accounts, and that address may not try again until the oldest of
 *   them leaves the window.
 * - **Per account**: after `freeFailures` wrong passwords in a row, each next
 *   try must wait twice as long as the one before (1 s, 2 s, 4 s …), never more
 *   than `maxAccountDelayMs`. So a guesser gets about one try a minute per
 *   account, and the owner is never kept out longer than that.
 * - **Known addresses**: an address the account logged in from before (the last
 *   `knownAddresses` of them) is not slowed by the account's failures, only by
 *   its own: a guesser elsewhere cannot keep the owner out at all from home.
 *
 * State is bounded: at most `maxTracked` accounts and as many addresses are
 * remembered (the least recently failed are forgotten first). The clock is
 * injected.
 */
export interface LoginThrottleOptions {
  readonly addressFailures: number;
  readonly addressWindowMs: number;
  readonly freeFailures: number;
  readonly maxAccountDelayMs: number;
  readonly knownAddresses: number;
  readonly maxTracked: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  addressFailures: 20,
  addressWindowMs: 10 * 60_000,
  freeFailures: 5,
  maxAccountDelayMs: 60_000,
  knownAddresses: 8,
  maxTracked: 10_000,
};

export type ThrottleVerdict = { readonly ok: true } | { readonly ok: false; readonly retryInMs: number; readonly why: 'address' | 'account' };

interface AccountFailures {
  /** Wrong passwords in a row. */
  count: number;
  last: number;
  /** Address keys that logged in successfully, newest last. */
  known: string[];
}

export class LoginThrottle {
  readonly #o: LoginThrottleOptions;
  readonly #now: () => number;
  /** Account key → failures (a Map keeps insertion order: re-inserted on each change, so the first is the stalest). */
  readonly #accounts = new Map<string, AccountFailures>();
  /** Address key → times of its recent failures, oldest first. */
  readonly #addresses = new Map<string, number[]>();

  constructor(options: Partial<LoginThrottleOptions> = {}, now: () => number = Date.now) {
    this.#o = { ...DEFAULT_LOGIN_THROTTLE, ...options };
    this.#now = now;
  }

  /** May `address` try anything now (its own failures, whatever the accounts)? */
  checkAddress(address: string | undefined): ThrottleVerdict {
    if (address === undefined) return { ok: true };
    const now = this.#now();
    const times = this.#recent(address, now);
    if (times.length >= this.#o.addressFailures) {
      return { ok: false, why: 'address', retryInMs: (times[0] as number) + this.#o.addressWindowMs - now };
    }
    return { ok: true };
  }

  /**
   * A failure that says nothing about the account (a wrong resume token: it
   * cannot be guessed, so it must not let a stranger slow the owner down).
   */
  failedAddress(address: string | undefined): void {
    if (address === undefined) return;
    const times = this.#recent(address, this.#now());
    times.push(this.#now());
    this.#addresses.delete(address);
    this.#addresses.set(address, times);
    this.#trim();
  }

  /** May `address` try a password for `account` now? */
  check(account: string, address: string | undefined): ThrottleVerdict {
    const now = this.#now();
    const byAddress = this.checkAddress(address);
    if (!byAddress.ok) return byAddress;
    const a = this.#accounts.get(account);
    if (a && !(address !== undefined && a.known.includes(address))) {
      const wait = this.#accountDelay(a.count);
      const until = a.last + wait;
      if (until > now) return { ok: false, why: 'account', retryInMs: until - now };
    }
    return { ok: true };
  }

  /** A wrong password from `address` for `account`. */
  failed(account: string, address: string | undefined): void {
    const now = this.#now();
    const a = this.#accounts.get(account) ?? { count: 0, last: now, known: [] };
    a.count += 1;
    a.last = now;
    this.#accounts.delete(account);
    this.#accounts.set(account, a);
    if (address !== undefined) {
      const times = this.#recent(address, now);
      times.push(now);
      this.#addresses.delete(address);
      this.#addresses.set(address, times);
    }
    this.#trim();
  }

  /** A right password: the account's run of failures ends and `address` becomes known to it. */
  succeeded(account: string, address: string | undefined): void {
    const a = this.#accounts.get(account) ?? { count: 0, last: 0, known: [] };
    a.count = 0;
    if (address !== undefined) {
      a.known = [...a.known.filter((k) => k !== address), address].slice(-this.#o.knownAddresses);
    }
    this.#accounts.delete(account);
    this.#accounts.set(account, a);
    this.#trim();
  }

  /** The account is gone (unregistered): forget it. */
  forget(account: string): void {
    this.#accounts.delete(account);
  }

  /** Entries remembered now (accounts, addresses), for tests and metrics. */
  get size(): { accounts: number; addresses: number } {
    return { accounts: this.#accounts.size, addresses: this.#addresses.size };
  }

  #accountDelay(count: number): number {
    if (count < this.#o.freeFailures) return 0;
    return Math.min(this.#o.maxAccountDelayMs, 1000 * 2 ** (count - this.#o.freeFailures));
  }

  /** The address's failures still inside the window (older ones are dropped). */
  #recent(address: string, now: number): number[] {
    const times = this.#addresses.get(address);
    if (!times) return [];
    const from = now - this.#o.addressWindowMs;
    while (times.length > 0 && (times[0] as number) <= from) times.shift();
    if (times.length === 0) this.#addresses.delete(address);
    return times;
  }

  #trim(): void {
    for (const map of [this.#accounts, this.#addresses] as Array<Map<string, unknown>>) {
      while (map.size > this.#o.maxTracked) map.delete(map.keys().next().value as string);
    }
  }
}
