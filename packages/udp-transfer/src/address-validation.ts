import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES } from '@parley/protocol';

/**
 * Address validation before any volume is sent (after RFC 9000 §8.1, QUIC's
 * Retry). A valid REQUEST from an address that has not proved it receives what
 * is sent to it is answered with a CHALLENGE whose nonce only that address can
 * see; a REQUEST from the same address and port that echoes the nonce validates
 * the path and starts the data.
 *
 * The nonce is stateless: HMAC-SHA256 under a secret made when the server
 * starts, over the transfer id, the offer's token, the address and the port,
 * cut to 16 bytes. Nothing is stored per challenged address, so forged REQUESTs
 * from any number of addresses cost no memory; and a nonce seen at one address
 * is worth nothing at another or for another offer.
 */
export class PathValidator {
  readonly #secret: Buffer;

  constructor(secret: Buffer = randomBytes(32)) {
    this.#secret = secret;
  }

  /** The nonce the CHALLENGE to `address`:`port` for this offer carries. */
  nonce(transferId: number, token: Buffer, address: string, port: number): Buffer {
    const id = Buffer.allocUnsafe(6);
    id.writeUInt32BE(transferId >>> 0, 0);
    id.writeUInt16BE(port & 0xffff, 4);
    return createHmac('sha256', this.#secret).update(id).update(token).update(address, 'latin1').digest().subarray(0, NONCE_BYTES);
  }

  /** Whether `echoed` is the nonce for this offer at this address and port (constant time). */
  check(transferId: number, token: Buffer, address: string, port: number, echoed: Buffer | undefined): boolean {
    if (echoed === undefined || echoed.length !== NONCE_BYTES) return false;
    return timingSafeEqual(echoed, this.nonce(transferId, token, address, port));
  }
}

export interface ReplyBudgetOptions {
  /** Replies per second per address (token bucket rate and burst). */
  readonly perSecond: number;
  /** Addresses remembered at once; the least recently seen is forgotten first. */
  readonly maxAddresses: number;
}

interface Bucket {
  tokens: number;
  stamp: number;
}

/**
 * How many replies (ERROR, CHALLENGE) an address that has not been validated
 * may draw: a token bucket per IP address, so one sender flooding bad requests
 * exhausts its own budget and nobody else's. The table is bounded: beyond
 * `maxAddresses` the least recently seen address is forgotten, which only gives
 * it a full bucket again when it comes back (forgetting never starves anyone).
 * Clock-free: the caller passes `now` in milliseconds.
 */
export class ReplyBudget {
  readonly #perSecond: number;
  readonly #maxAddresses: number;
  /** Insertion order is recency order: a touched entry is deleted and set again. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: ReplyBudgetOptions) {
    if (!(options.perSecond > 0)) throw new RangeError('perSecond must be positive');
    if (!Number.isInteger(options.maxAddresses) || options.maxAddresses < 1) throw new RangeError('maxAddresses must be a positive integer');
    this.#perSecond = options.perSecond;
    this.#maxAddresses = options.maxAddresses;
  }

  /** Addresses currently remembered. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one reply from `address`'s budget; false when it is spent. */
  take(address: string, now: number): boolean {
    let b = this.#buckets.get(address);
    if (b === undefined) {
      if (this.#buckets.size >= this.#maxAddresses) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.#perSecond, stamp: now };
    } else {
      this.#buckets.delete(address);
      b.tokens = Math.min(this.#perSecond, b.tokens + ((now - b.stamp) / 1000) * this.#perSecond);
      b.stamp = now;
    }
    this.#buckets.set(address, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
