import { randomBytes, randomInt } from 'node:crypto';
import { AEAD_KEY_BYTES, PacketSealer, protocolError } from '@parley/protocol';
import { closeQuietly } from './offered-file.js';

export interface OfferInput {
  readonly owner: string;
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /**
   * Encrypt this transfer: a fresh random 32-byte key is drawn, returned by
   * `TransferServer.offer` for the TCP offer, and every UDP packet of the transfer
   * is sealed with it. Only over a TLS chat session: on a plain one the key would
   * cross the network in clear text beside the token. Default false.
   */
  readonly encrypt?: boolean;
}

export interface PendingOffer extends OfferInput {
  readonly id: number;
  /** 16 random bytes: the one-time transfer token. */
  readonly token: Buffer;
  readonly expiresAt: number;
  /**
   * The file, opened when it was offered (without following a symbolic link) and
   * read through this descriptor until the transfer ends: what is at the path later
   * does not matter. Closed when the offer expires or is cancelled, or when its
   * transfer ends.
   */
  readonly fd: number;
  /** Encrypted offers: the key (sent in the TCP offer) and the server's sealer for it. */
  readonly key?: Buffer;
  readonly sealer?: PacketSealer;
}

/**
 * Offers waiting for their REQUEST, and what each chat session (owner) holds:
 * its offers and its active transfers, counted together against `maxPerOwner`.
 * An offer leaves the table when its REQUEST is validated (`take`); its owner
 * keeps the slot until the transfer ends (`release`). Clock-free: callers pass `now`.
 */
export class OfferTable {
  private readonly offers = new Map<number, PendingOffer>();
  private readonly owners = new Map<string, Set<number>>();
  private nextId = randomInt(1, 0x7fff_ffff);

  constructor(
    private readonly tokenTtlMs: number,
    private readonly maxPerOwner: number,
  ) {}

  /** Offers waiting for their REQUEST. */
  get size(): number {
    return this.offers.size;
  }

  get(id: number): PendingOffer | undefined {
    return this.offers.get(id);
  }

  /** Throws TRANSFER_LIMIT when `owner` already holds `maxPerOwner` offers and transfers. */
  checkOwner(owner: string): void {
    const mine = this.owners.get(owner);
    if (mine !== undefined && mine.size >= this.maxPerOwner) {
      throw protocolError('TRANSFER_LIMIT', `at most ${this.maxPerOwner} downloads at once`);
    }
  }

  /** Registers an offer of the open file `fd` under a fresh id (`inUse`: ids taken by active transfers) and token. */
  add(input: OfferInput, fd: number, now: number, inUse: (id: number) => boolean): PendingOffer {
    let id = this.nextId;
    while (this.offers.has(id) || inUse(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const key = input.encrypt === true ? randomBytes(AEAD_KEY_BYTES) : undefined;
    const offer: PendingOffer = {
      ...input,
      id,
      token: randomBytes(16),
      fd,
      expiresAt: now + this.tokenTtlMs,
      ...(key !== undefined ? { key, sealer: new PacketSealer(key, 'server') } : {}),
    };
    this.offers.set(id, offer);
    let set = this.owners.get(input.owner);
    if (set === undefined) this.owners.set(input.owner, (set = new Set()));
    set.add(id);
    return offer;
  }

  /** Its REQUEST was validated: the offer leaves the table; the owner's slot stays taken until `release`. */
  take(offer: PendingOffer): void {
    if (this.offers.get(offer.id) === offer) this.offers.delete(offer.id);
  }

  /** Forgets an offer that never started and closes its file. */
  drop(offer: PendingOffer): void {
    this.take(offer);
    this.release(offer.owner, offer.id);
    closeQuietly(offer.fd);
  }

  /** The owner's transfer `id` has ended: its slot is free. */
  release(owner: string, id: number): void {
    const set = this.owners.get(owner);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.owners.delete(owner);
  }

  /** Ids of the offers and transfers `owner` holds. */
  idsOf(owner: string): number[] {
    return [...(this.owners.get(owner) ?? [])];
  }

  /** Drops the offers whose token has expired (calling `onExpired` for each); returns the next expiry, or Infinity. */
  expire(now: number, onExpired: (offer: PendingOffer) => void): number {
    let next = Infinity;
    for (const offer of [...this.offers.values()]) {
      if (offer.expiresAt <= now) {
        this.drop(offer);
        onExpired(offer);
      } else {
        next = Math.min(next, offer.expiresAt);
      }
    }
    return next;
  }

  /** Drops every offer (server shutdown). */
  dropAll(): void {
    for (const offer of [...this.offers.values()]) this.drop(offer);
  }
}
