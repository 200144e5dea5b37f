import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { ErrorCode } from '@parley/protocol';
import type { AccountStore } from './account-store.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { DEFAULT_SCRYPT_COST, hashPassword, passwordProblem, verifyPassword, type ScryptCost } from './password-hash.js';
import type { ResumeTokens } from './resume-tokens.js';

/** An answer that went wrong: its wire code and the text for the user. */
export interface AccountRefusal {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly text: string;
}
export type AccountResult<T = object> = ({ readonly ok: true } & T) | AccountRefusal;
/** A password check: the account's nick, or why not (`wrongFor`: a wrong password for that nick). */
type Checked = { readonly ok: true; readonly nick: string } | (AccountRefusal & { readonly wrongFor?: string });

/** Who is asking: how the connection reached us, and from where. */
export interface Asker {
  readonly transport: 'plain' | 'tls';
  /** The peer's IP address (undefined for a stream without one, e.g. a test's duplex pair). */
  readonly address: string | undefined;
}

export interface AccountsOptions {
  /** Accept passwords over plain TCP from anywhere (`--allow-plaintext-passwords`); loopback always may. */
  readonly allowPlaintextPasswords: boolean;
  readonly cost?: ScryptCost;
  readonly throttle?: Partial<LoginThrottleOptions>;
  /** Password hashes computing or waiting at once, server-wide; past it a request is told to try again. */
  readonly maxHashing?: number;
  /**
   * Hashes computing at once (the rest wait their turn). One by default: a hash
   * takes ≈ 0.3 s of a core here (bench/accounts), and the chat keeps the other core.
   */
  readonly concurrentHashes?: number;
  readonly now?: () => number;
  /** Resume tokens (cheap logins after a reconnect); none = every login checks the password. */
  readonly tokens?: ResumeTokens;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function plainAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/iu.exec(address);
  return mapped ? (mapped[1] as string) : address;
}

/** True for 127.0.0.0/8 and ::1 (IPv4-mapped included). */
export function isLoopback(address: string | undefined): boolean {
  const ip = plainAddress(address);
  if (ip === undefined) return false;
  if (isIPv4(ip)) return LOOPBACK.check(ip, 'ipv4');
  if (isIPv6(ip)) return LOOPBACK.check(ip, 'ipv6');
  return false;
}

/** The throttle's name for an address: IPv4 as is, IPv6 by its /64 (one subscriber). */
export function throttleKey(address: string | undefined): string | undefined {
  const ip = plainAddress(address);
  if (ip === undefined || !isIPv6(ip)) return ip;
  const [head = '', tail] = ip.split('%')[0]?.split('::') ?? [];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/**
 * Registered nicknames: registration, login, password changes. Passwords are
 * taken only over TLS or from loopback (unless the operator allows plain
 * text), checked against scrypt hashes (`password-hash.ts`), never logged or
 * stored in clear; wrong ones are slowed down by `LoginThrottle`. At most
 * `maxHashing` hashes run or wait at once, and `concurrentHashes` of them run
 * (each costs 32 MiB and ≈ 0.3 s of a core), so a flood of logins can neither
 * exhaust memory nor take every core from the chat.
 */
export class Accounts {
  readonly #store: AccountStore;
  readonly #throttle: LoginThrottle;
  readonly #cost: ScryptCost;
  readonly #allowPlain: boolean;
  readonly #maxHashing: number;
  readonly #now: () => number;
  #hashing = 0;
  #running = 0;
  readonly #concurrent: number;
  readonly #tokens: ResumeTokens | undefined;
  /** Hashes waiting for a turn, oldest first. */
  readonly #turns: Array<() => void> = [];
  /** Counters for the metrics endpoint. */
  readonly stats = { logins: 0, failures: 0, throttled: 0, registered: 0, busy: 0, resumed: 0 };

  constructor(store: AccountStore, options: AccountsOptions) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.#throttle = new LoginThrottle(options.throttle, this.#now);
    this.#cost = options.cost ?? DEFAULT_SCRYPT_COST;
    this.#allowPlain = options.allowPlaintextPasswords;
    this.#maxHashing = options.maxHashing ?? 16;
    this.#concurrent = Math.max(1, options.concurrentHashes ?? 1);
    this.#tokens = options.tokens;
  }

  /**
   * Logs in with a resume token instead of the password: the same transport
   * rule and throttle, one SHA-256 instead of a hash. The token is used up.
   */
  async resume(key: string, token: string, asker: Asker): Promise<AccountResult<{ nick: string }>> {
    const refused = this.#transportRefusal(asker);
    if (refused) return refused;
    const account = this.#store.get(key);
    if (!account || !this.#tokens) return { ok: false, code: 'LOGIN_FAILED', text: 'that resume token is unknown, used or expired; send login,<password>' };
    // Only the address is throttled: a token cannot be guessed, and a stranger's wrong passwords must not keep its owner out.
    const from = throttleKey(asker.address);
    const verdict = this.#throttle.checkAddress(from);
    if (!verdict.ok) {
      this.stats.throttled += 1;
      return { ok: false, code: 'LOGIN_THROTTLED', text: `too many failed logins from your address: try again in ${Math.ceil(verdict.retryInMs / 1000)} s` };
    }
    if (!(await this.#tokens.redeem(key, token))) {
      this.stats.failures += 1;
      this.#throttle.failedAddress(from);
      return { ok: false, code: 'LOGIN_FAILED', text: `that resume token is unknown, used or expired for "${account.nick}"; send login,<password>` };
    }
    this.#throttle.succeeded(key, from);
    this.stats.resumed += 1;
    return { ok: true, nick: account.nick };
  }

  /** A new resume token for a connection just logged in to `key` (undefined without tokens). */
  async issueToken(key: string): Promise<{ token: string; expires: number } | undefined> {
    return this.#tokens?.issue(key);
  }

  /** The account of a nickname key, if it is registered. */
  registered(key: string): { nick: string } | undefined {
    const a = this.#store.get(key);
    return a ? { nick: a.nick } : undefined;
  }

  get count(): number {
    return this.#store.count;
  }

  /** Why this connection may not send a password, or undefined when it may. */
  #transportRefusal(asker: Asker): AccountRefusal | undefined {
    if (asker.transport === 'tls' || this.#allowPlain || isLoopback(asker.address)) return undefined;
    return {
      ok: false,
      code: 'PASSWORD_NEEDS_TLS',
      text: 'passwords are accepted only over TLS, where nobody on the way can read them; this connection is plain text, so the password was not used: connect with parley --tls (or openssl s_client -connect host:55443) and send it there',
    };
  }

  /** Runs `work` if fewer than `maxHashing` hashes are running or waiting. */
  async #hashSlot<T>(work: () => Promise<T>): Promise<T | AccountRefusal> {
    if (this.#hashing >= this.#maxHashing) {
      this.stats.busy += 1;
      return { ok: false, code: 'LOGIN_THROTTLED', text: 'the server is checking many passwords right now; try again in a few seconds' };
    }
    this.#hashing += 1;
    try {
      // A finished hash hands its turn straight to the oldest waiting one, so no newcomer slips in between.
      if (this.#running >= this.#concurrent) await new Promise<void>((resolve) => this.#turns.push(resolve));
      else this.#running += 1;
      try {
        return await work();
      } finally {
        const next = this.#turns.shift();
        if (next) next();
        else this.#running -= 1;
      }
    } finally {
      this.#hashing -= 1;
    }
  }

  async login(key: string, password: string, asker: Asker): Promise<AccountResult<{ nick: string }>> {
    const result = await this.#verify(key, password, asker);
    if (!result.ok) {
      const { wrongFor, ...refusal } = result;
      return wrongFor === undefined ? refusal : { ...refusal, text: `wrong password for "${wrongFor}"; send login,<password> again, or another nickname` };
    }
    this.stats.logins += 1;
    return { ok: true, nick: result.nick };
  }

  async register(key: string, nick: string, password: string, asker: Asker): Promise<AccountResult> {
    const refused = this.#transportRefusal(asker);
    if (refused) return refused;
    const problem = passwordProblem(password);
    if (problem) return { ok: false, code: 'PASSWORD_REJECTED', text: `${problem}; nothing was registered` };
    if (this.#store.get(key)) return { ok: false, code: 'ACCOUNT_EXISTS', text: `"${nick}" is registered already` };
    const hash = await this.#hashSlot(() => hashPassword(password, this.#cost));
    if (typeof hash !== 'string') return hash;
    if (!(await this.#store.create({ key, nick, hash, createdAt: this.#now() })))
      return { ok: false, code: 'ACCOUNT_EXISTS', text: `"${nick}" is registered already` };
    this.stats.registered += 1;
    this.#throttle.succeeded(key, throttleKey(asker.address));
    return { ok: true };
  }

  async changePassword(key: string, old: string, next: string, asker: Asker): Promise<AccountResult> {
    const checked = await this.#checkOwn(key, old, asker);
    if (!checked.ok) return checked;
    const problem = passwordProblem(next);
    if (problem) return { ok: false, code: 'PASSWORD_REJECTED', text: `${problem}; the password was not changed` };
    const hash = await this.#hashSlot(() => hashPassword(next, this.#cost));
    if (typeof hash !== 'string') return hash;
    await this.#store.setHash(key, hash);
    // Tokens issued under the old password are void: a stolen one must not outlive the change.
    await this.#tokens?.revoke(key);
    return { ok: true };
  }

  async unregister(key: string, password: string, asker: Asker): Promise<AccountResult> {
    const checked = await this.#checkOwn(key, password, asker);
    if (!checked.ok) return checked;
    await this.#store.remove(key);
    await this.#tokens?.revoke(key);
    this.#throttle.forget(key);
    return { ok: true };
  }

  /** The password of the account this connection is logged in to, checked (and throttled like a login). */
  async #checkOwn(key: string, password: string, asker: Asker): Promise<AccountResult> {
    const result = await this.#verify(key, password, asker);
    if (result.ok) return { ok: true };
    const { wrongFor, ...refusal } = result;
    return wrongFor === undefined ? refusal : { ...refusal, text: 'wrong password; nothing was changed' };
  }

  /**
   * Checks `password` for account `key`, throttled: the transport rule, the
   * throttle, one hash (in its slot), and a re-hash (in its slot too) when the
   * stored cost is not the current one. A wrong password carries the account's
   * nick, for the caller's wording.
   */
  async #verify(key: string, password: string, asker: Asker): Promise<Checked> {
    const refused = this.#transportRefusal(asker);
    if (refused) return refused;
    const account = this.#store.get(key);
    if (!account) return { ok: false, code: 'LOGIN_FAILED', text: 'that nickname is not registered (any more); send it again to join without a password' };
    const from = throttleKey(asker.address);
    const verdict = this.#throttle.check(key, from);
    if (!verdict.ok) {
      this.stats.throttled += 1;
      const seconds = Math.ceil(verdict.retryInMs / 1000);
      const why = verdict.why === 'address' ? 'too many wrong passwords from your address' : `too many wrong passwords for "${account.nick}"`;
      return { ok: false, code: 'LOGIN_THROTTLED', text: `${why}: try again in ${seconds} s` };
    }
    const checked = await this.#hashSlot(() => verifyPassword(password, account.hash, this.#cost));
    if ('code' in checked) return checked;
    if (!checked.ok) {
      this.stats.failures += 1;
      this.#throttle.failed(key, from);
      return { ok: false, code: 'LOGIN_FAILED', text: 'wrong password', wrongFor: account.nick };
    }
    this.#throttle.succeeded(key, from);
    if (checked.rehash) {
      const hash = await this.#hashSlot(() => hashPassword(password, this.#cost));
      if (typeof hash === 'string') await this.#store.setHash(key, hash);
    }
    return { ok: true, nick: account.nick };
  }

  close(): void {
    this.#store.close();
  }
}
