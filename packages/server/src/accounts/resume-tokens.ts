import { createHash, randomBytes } from 'node:crypto';
import type { MaybePromise } from './account-store.js';

/** Where resume tokens are kept: only their SHA-256, never the token. */
export interface TokenStore {
  add(key: string, hash: string, expires: number): MaybePromise<void>;
  /** Removes the token and answers when it expires; undefined when the account has no such token. */
  take(key: string, hash: string): MaybePromise<number | undefined>;
  /** The account's tokens, oldest first (for the cap). */
  list(key: string): MaybePromise<Array<{ hash: string; expires: number }>>;
  remove(key: string, hash: string): MaybePromise<void>;
  /** Every token of the account (password changed, account gone). */
  clear(key: string): MaybePromise<void>;
}

export interface ResumeTokenOptions {
  /** How long a token logs in (default 7 days). */
  readonly ttlMs: number;
  /** Tokens kept per account (one per device or client, default 8); the oldest go first. */
  readonly perAccount: number;
}

export const DEFAULT_RESUME_TOKENS: ResumeTokenOptions = { ttlMs: 7 * 86_400_000, perAccount: 8 };

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * One-time tokens that log an account in again without its password: a
 * client that reconnects (a server restart: every user at once) costs one
 * SHA-256 instead of a 0.3 s scrypt hash. A token is 32 random bytes, kept
 * only as its SHA-256, used once (each use issues the next), dropped after
 * `ttlMs`, and all of an account's tokens go when its password changes.
 */
export class ResumeTokens {
  readonly #store: TokenStore;
  readonly #o: ResumeTokenOptions;
  readonly #now: () => number;

  constructor(store: TokenStore, options: Partial<ResumeTokenOptions> = {}, now: () => number = Date.now) {
    this.#store = store;
    this.#o = { ...DEFAULT_RESUME_TOKENS, ...options };
    this.#now = now;
  }

  /** A new token for `key`, and when it expires (epoch ms). */
  async issue(key: string): Promise<{ token: string; expires: number }> {
    const token = randomBytes(32).toString('hex');
    const expires = this.#now() + this.#o.ttlMs;
    const kept = await this.#store.list(key);
    const now = this.#now();
    // Expired ones, then the oldest past the cap (one slot left for the new token).
    const live = kept.filter((t) => t.expires > now);
    for (const t of kept) if (t.expires <= now) await this.#store.remove(key, t.hash);
    for (const t of live.slice(0, Math.max(0, live.length - (this.#o.perAccount - 1)))) await this.#store.remove(key, t.hash);
    await this.#store.add(key, sha256(token), expires);
    return { token, expires };
  }

  /** True when `token` is a live token of `key`; it is used up either way. */
  async redeem(key: string, token: string): Promise<boolean> {
    const expires = await this.#store.take(key, sha256(token));
    return expires !== undefined && expires > this.#now();
  }

  async revoke(key: string): Promise<void> {
    await this.#store.clear(key);
  }
}
