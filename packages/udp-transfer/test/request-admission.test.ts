import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RequestPacket } from '@parley/protocol';
import { PathValidator } from '../src/address-validation.js';
import type { PendingOffer } from '../src/offer-table.js';
import { admitRequest, type AdmissionContext } from '../src/request-admission.js';

const token = randomBytes(16);
const offer: PendingOffer = { id: 9, owner: 'o', path: '/x', name: 'x', size: 10_000, sha256: 'a'.repeat(64), token, expiresAt: 1000, fd: -1 };
const validator = new PathValidator();
const request = (extra: Partial<RequestPacket> = {}): RequestPacket => ({
  type: 'request',
  transferId: 9,
  token,
  resumeFrom: 0,
  payloadSize: 1000,
  window: 8,
  ...extra,
});
const context = (extra: Partial<AdmissionContext> = {}): AdmissionContext => ({
  active: () => undefined,
  offer: (id) => (id === 9 ? offer : undefined),
  validator,
  maxPayloadBytes: 1452,
  activeFrom: () => 0,
  maxPerAddress: 2,
  ...extra,
});
const nonce = validator.nonce(9, token, '192.0.2.7', 5000);

describe('admitRequest', () => {
  it('challenges a valid REQUEST without a nonce, and starts the one that echoes it from the same address and port', () => {
    expect(admitRequest(request(), '192.0.2.7', 5000, 0, context())).toEqual({ kind: 'challenge', drop: 'challenged', nonce });
    expect(admitRequest(request({ nonce }), '192.0.2.7', 5000, 0, context())).toEqual({ kind: 'start', offer });
    expect(admitRequest(request({ nonce }), '192.0.2.8', 5000, 0, context())).toMatchObject({ kind: 'challenge', drop: 'bad_nonce' });
    expect(admitRequest(request({ nonce }), '192.0.2.7', 5001, 0, context())).toMatchObject({ kind: 'challenge', drop: 'bad_nonce' });
  });

  it('refuses before challenging: unknown transfer, wrong token, expired token, impossible payload size', () => {
    expect(admitRequest(request({ transferId: 10 }), 'a', 1, 0, context())).toMatchObject({
      kind: 'refuse',
      drop: 'unknown_transfer',
      code: 'TRANSFER_REJECTED',
    });
    expect(admitRequest(request({ token: randomBytes(16) }), 'a', 1, 0, context())).toMatchObject({ kind: 'refuse', drop: 'bad_token' });
    expect(admitRequest(request(), 'a', 1, 1000, context())).toMatchObject({ kind: 'refuse', drop: 'token_expired', expired: offer });
    expect(admitRequest(request({ payloadSize: 2000 }), 'a', 1, 0, context())).toMatchObject({ kind: 'refuse', drop: 'bad_request', code: 'PACKET_MALFORMED' });
  });

  it('refuses a validated REQUEST past the per-address cap (TRANSFER_LIMIT), and a token already bound elsewhere', () => {
    expect(admitRequest(request({ nonce }), '192.0.2.7', 5000, 0, context({ activeFrom: () => 2 }))).toMatchObject({
      kind: 'refuse',
      drop: 'address_limit',
      code: 'TRANSFER_LIMIT',
    });
    const bound = context({ active: () => ({ address: '192.0.2.7', port: 5000, offer }) });
    expect(admitRequest(request(), '192.0.2.7', 5000, 0, bound)).toEqual({ kind: 'serving' });
    expect(admitRequest(request(), '192.0.2.9', 5000, 0, bound)).toMatchObject({ kind: 'refuse', drop: 'token_reused' });
  });
});
