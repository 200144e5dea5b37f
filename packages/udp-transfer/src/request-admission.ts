import { timingSafeEqual } from 'node:crypto';
import { MAX_SEALED_PAYLOAD_BYTES, type ErrorCode, type RequestPacket } from '@parley/protocol';
import type { PathValidator } from './address-validation.js';
import type { PendingOffer } from './offer-table.js';

/** What admission reads of an offer (a download's PendingOffer, or an upload slot). */
export type AdmissibleOffer = Pick<PendingOffer, 'id' | 'token' | 'expiresAt' | 'size' | 'sealer'>;

/** What the transfer server does with one REQUEST (see `admitRequest`). */
export type Admission<O extends AdmissibleOffer = PendingOffer> =
  /** A retransmitted REQUEST from the address the transfer is bound to: already serving it. */
  | { readonly kind: 'serving' }
  /** Refused: counted as `drop`, answered with one small ERROR. `expired`: the offer to forget. */
  | { readonly kind: 'refuse'; readonly drop: string; readonly code: ErrorCode; readonly text: string; readonly expired?: O }
  /** Valid, but the address has not echoed its nonce: answered with a CHALLENGE carrying `nonce`. */
  | { readonly kind: 'challenge'; readonly drop: 'challenged' | 'bad_nonce'; readonly nonce: Buffer }
  /** Valid and validated: bind the transfer to this address and start sending. */
  | { readonly kind: 'start'; readonly offer: O };

export interface AdmissionContext<O extends AdmissibleOffer = PendingOffer> {
  /** The active transfer with this id: the address it is bound to and its offer. */
  readonly active: (id: number) => { readonly address: string; readonly port: number; readonly offer: O } | undefined;
  readonly offer: (id: number) => O | undefined;
  readonly validator: PathValidator;
  readonly maxPayloadBytes: number;
  /** Active transfers bound to this IP address. */
  readonly activeFrom: (address: string) => number;
  readonly maxPerAddress: number;
}

/**
 * Decides what a REQUEST from `address`:`port` gets, in this order: a transfer
 * already bound (serving, or refused as a reused token), an unknown transfer, a
 * wrong token, an expired token, an impossible payload size or resume point, an
 * address that has not echoed its CHALLENGE nonce (RFC 9000 §8.1: no data before
 * the path is validated), the per-address cap; else the transfer starts. Decides
 * only: no socket, no clock (`now` is an argument), nothing changed.
 */
export function admitRequest<O extends AdmissibleOffer>(
  req: RequestPacket,
  address: string,
  port: number,
  now: number,
  ctx: AdmissionContext<O>,
): Admission<O> {
  const id = req.transferId;
  const active = ctx.active(id);
  if (active !== undefined) {
    if (active.address === address && active.port === port) return { kind: 'serving' };
    const reused = timingSafeEqual(req.token, active.offer.token);
    return { kind: 'refuse', drop: reused ? 'token_reused' : 'bad_token', code: 'TRANSFER_REJECTED', text: 'token already used' };
  }
  const offer = ctx.offer(id);
  if (offer === undefined) return { kind: 'refuse', drop: 'unknown_transfer', code: 'TRANSFER_REJECTED', text: 'no such transfer' };
  if (!timingSafeEqual(req.token, offer.token)) return { kind: 'refuse', drop: 'bad_token', code: 'TRANSFER_REJECTED', text: 'wrong token' };
  if (now >= offer.expiresAt) {
    return { kind: 'refuse', drop: 'token_expired', code: 'TRANSFER_REJECTED', text: 'token expired', expired: offer };
  }
  const totalChunks = Math.ceil(offer.size / req.payloadSize);
  // A sealed DATA packet is 12 bytes longer: its payload must leave room in a datagram.
  const maxPayload = offer.sealer !== undefined ? Math.min(ctx.maxPayloadBytes, MAX_SEALED_PAYLOAD_BYTES) : ctx.maxPayloadBytes;
  if (req.payloadSize > maxPayload || totalChunks > 0xffff_ffff || req.resumeFrom > totalChunks) {
    return { kind: 'refuse', drop: 'bad_request', code: 'PACKET_MALFORMED', text: 'payload size or resume point refused' };
  }
  if (!ctx.validator.check(offer.id, offer.token, address, port, req.nonce)) {
    return { kind: 'challenge', drop: req.nonce === undefined ? 'challenged' : 'bad_nonce', nonce: ctx.validator.nonce(offer.id, offer.token, address, port) };
  }
  if (ctx.activeFrom(address) >= ctx.maxPerAddress) {
    // The offer stays: the client may try again when one of its downloads has ended.
    return { kind: 'refuse', drop: 'address_limit', code: 'TRANSFER_LIMIT', text: `at most ${ctx.maxPerAddress} downloads at once from one address` };
  }
  return { kind: 'start', offer };
}
