import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, peekPacketType } from '@parley/protocol';
import { Receiver } from '../src/receiver.js';
import { Sender } from '../src/sender.js';
import { crc32 } from 'node:zlib';
import { prng, simulate } from './helpers/sim.js';

const PAYLOAD = 1000;

describe('sender and receiver on a simulated link (fake clock)', () => {
  it('delivers a file in order over a clean link and both sides finish the END handshake', () => {
    const data = randomBytes(200 * PAYLOAD + 17);
    const r = simulate({ data, payloadSize: PAYLOAD, link: { delayMs: 5 } });
    expect(r.received.equals(data)).toBe(true);
    expect(r.sender.state).toBe('done');
    expect(r.sender.endConfirmed).toBe(true);
    expect(r.receiver.state).toBe('done');
    expect(r.sender.stats.retransmissions).toBe(0);
    // RTT measured from the link: 10 ms round trip plus at most the ACK delay.
    expect(r.sender.rtt.min).toBeGreaterThan(9.99);
    expect(r.sender.rtt.smoothed).toBeLessThan(20);
  });

  it.each([0.05, 0.2, 0.3])('recovers from %s random loss with duplication and reordering', (loss) => {
    const data = randomBytes(500 * PAYLOAD + 1);
    const r = simulate({ data, payloadSize: PAYLOAD, seed: Math.round(loss * 100), link: { delayMs: 10, jitterMs: 4, loss, duplicate: 0.05 } });
    expect(r.counts.dropped).toBeGreaterThan(0);
    expect(r.counts.duplicated).toBeGreaterThan(0);
    expect(r.counts.reordered).toBeGreaterThan(0);
    expect(r.received.equals(data)).toBe(true);
    expect(r.receiver.state).toBe('done');
    expect(r.sender.state).toBe('done');
    expect(r.sender.stats.retransmissions).toBeGreaterThan(0);
  });

  it('is deterministic: the same seed gives the same packet counts and finish time', () => {
    const data = randomBytes(100 * PAYLOAD);
    const a = simulate({ data, payloadSize: PAYLOAD, seed: 3, link: { delayMs: 10, jitterMs: 3, loss: 0.1 } });
    const b = simulate({ data, payloadSize: PAYLOAD, seed: 3, link: { delayMs: 10, jitterMs: 3, loss: 0.1 } });
    expect(a.now).toBe(b.now);
    expect(a.sender.stats).toEqual(b.sender.stats);
  });

  it('recovers a lost tail by probe timeout, not only by later ACKs', () => {
    const data = randomBytes(20 * PAYLOAD);
    let lastDataDropped = 0;
    const r = simulate({
      data,
      payloadSize: PAYLOAD,
      link: {
        delayMs: 5,
        // Drop the first transmission of the last three chunks: nothing after them can reveal the gap.
        dropIf: (dg, dir) => {
          if (dir !== 'toReceiver' || peekPacketType(dg) !== 'data') return false;
          const p = decodePacket(dg);
          if (p.type === 'data' && p.chunk >= 17 && p.packetNumber < 20) {
            lastDataDropped++;
            return true;
          }
          return false;
        },
      },
    });
    expect(lastDataDropped).toBe(3);
    expect(r.sender.stats.ptoFired).toBeGreaterThan(0);
    expect(r.received.equals(data)).toBe(true);
  });

  it('keeps probing at least once a second through an outage, so the transfer resumes soon after it ends', () => {
    const data = randomBytes(400 * PAYLOAD);
    const outage = { from: Infinity, to: Infinity };
    let firstDataAfter = Infinity;
    const r = simulate({
      data,
      payloadSize: PAYLOAD,
      link: {
        delayMs: 5,
        dropIf: (dg, dir, now) => {
          if (outage.from === Infinity && dir === 'toReceiver' && peekPacketType(dg) === 'data') {
            const p = decodePacket(dg);
            if (p.type === 'data' && p.chunk === 200) {
              outage.from = now;
              outage.to = now + 5_000; // both directions dark for 5 s, well under the idle timeouts
            }
          }
          if (now >= outage.to && firstDataAfter === Infinity && dir === 'toReceiver') firstDataAfter = now;
          return now >= outage.from && now < outage.to;
        },
      },
    });
    expect(outage.from).toBeLessThan(Infinity);
    expect(r.received.equals(data)).toBe(true);
    expect(r.sender.stats.ptoFired).toBeGreaterThan(4);
    // With uncapped doubling the next probe would leave 3.9 s after the path is back.
    expect(firstDataAfter - outage.to).toBeLessThanOrEqual(1_000);
  });

  it("ends on the receiver's FIN (END_ACK before END, twice) when every END is lost", () => {
    const data = randomBytes(50 * PAYLOAD);
    let ends = 0;
    const r = simulate({ data, payloadSize: PAYLOAD, link: { delayMs: 5, dropIf: (dg) => peekPacketType(dg) === 'end' && ++ends > 0 } });
    expect(r.received.equals(data)).toBe(true);
    expect(r.receiver.finSent).toBe(true);
    expect(r.sender.state).toBe('done');
    // On the FIN, not after giving up on END_ACK (endConfirmed false, 7 ENDs sent).
    expect(r.sender.endConfirmed).toBe(true);
    expect(ends).toBeLessThanOrEqual(1);
  });

  it('believes a FIN only once every chunk has been sent', () => {
    const sender = new Sender({
      transferId: 7,
      token: Buffer.alloc(16),
      size: 100 * PAYLOAD,
      payloadSize: PAYLOAD,
      resumeFrom: 0,
      window: 64,
      now: 0,
      source: { read: () => {} },
    });
    const fin = encodePacket({ type: 'end-ack', transferId: 7, totalChunks: 100 });
    expect(sender.onDatagram(fin, 0)).toBe('unexpected_type');
    expect(sender.state).toBe('sending');
    expect(sender.deliveredChunks).toBe(0);
  });

  it('finishes the END handshake when END and END_ACK are lost', () => {
    const data = randomBytes(10 * PAYLOAD);
    const dropped = { end: 0, endAck: 0 };
    const r = simulate({
      data,
      payloadSize: PAYLOAD,
      link: {
        delayMs: 5,
        dropIf: (dg) => {
          const t = peekPacketType(dg);
          if (t === 'end' && dropped.end < 2) return ++dropped.end > 0;
          if (t === 'end-ack' && dropped.endAck < 2) return ++dropped.endAck > 0;
          return false;
        },
      },
    });
    expect(dropped).toEqual({ end: 2, endAck: 2 });
    expect(r.sender.state).toBe('done');
    expect(r.sender.endConfirmed).toBe(true);
    expect(r.receiver.state).toBe('done');
    expect(r.received.equals(data)).toBe(true);
  });

  it('transfers an empty file with END alone', () => {
    const r = simulate({ data: Buffer.alloc(0), payloadSize: PAYLOAD, link: { delayMs: 1 } });
    expect(r.sender.totalChunks).toBe(0);
    expect(r.sender.stats.packetsSent).toBe(0);
    expect(r.receiver.state).toBe('done');
  });

  it('resumes from a chunk index and sends nothing below it', () => {
    const data = randomBytes(50 * PAYLOAD);
    const r = simulate({ data, payloadSize: PAYLOAD, link: { delayMs: 2 }, receiver: { resumeFrom: 30 } });
    expect(r.received.equals(data.subarray(30 * PAYLOAD))).toBe(true);
    expect(r.sender.stats.packetsSent).toBe(20);
  });

  it('never sends beyond the receive window', () => {
    const data = randomBytes(100 * PAYLOAD);
    let maxAhead = 0;
    const r = simulate({
      data,
      payloadSize: PAYLOAD,
      link: { delayMs: 20 },
      receiver: { window: 8 },
      stopWhen: (s, rc) => {
        if (s !== undefined) maxAhead = Math.max(maxAhead, (s as unknown as { nextChunk: number }).nextChunk - rc.cumulative);
        return false;
      },
    });
    expect(r.received.equals(data)).toBe(true);
    expect(maxAhead).toBeLessThanOrEqual(8);
  });

  it('both sides give up after their idle timeout when the peer vanishes, at a deterministic time', () => {
    const data = randomBytes(100 * PAYLOAD);
    let cut = false;
    const r = simulate({
      data,
      payloadSize: PAYLOAD,
      link: { delayMs: 5, dropIf: () => cut },
      sender: { idleTimeoutMs: 2000 },
      receiver: { idleTimeoutMs: 3000 },
      stopWhen: (_s, rc) => {
        if (rc.cumulative >= 10) cut = true;
        return false;
      },
    });
    expect(r.sender.state).toBe('failed');
    expect(r.sender.failure?.code).toBe('TRANSFER_TIMEOUT');
    expect(r.receiver.state).toBe('failed');
    expect(r.receiver.failure?.code).toBe('TRANSFER_TIMEOUT');
  });
});

describe('sender input checks', () => {
  const token = randomBytes(16);
  const make = (): Sender =>
    new Sender({ transferId: 1, token, size: 10 * PAYLOAD, payloadSize: PAYLOAD, resumeFrom: 0, window: 64, now: 0, source: { read: () => {} } });

  it('drops an ACK for packet numbers it never sent', () => {
    const s = make();
    s.poll(0);
    s.poll(0);
    const ack = encodePacket({ type: 'ack', transferId: 1, largest: 500, ackDelayUs: 0, cumulative: 0, window: 64, ranges: [{ first: 0, last: 500 }] });
    expect(s.onDatagram(ack, 1)).toBe('ack_unsent');
    expect(s.inFlight).toBeGreaterThan(0);
  });

  it('drops an ACK claiming chunks that were never sent', () => {
    const s = make();
    s.poll(0);
    const ack = encodePacket({ type: 'ack', transferId: 1, largest: 0, ackDelayUs: 0, cumulative: 9, window: 64, ranges: [{ first: 0, last: 0 }] });
    expect(s.onDatagram(ack, 1)).toBe('ack_unsent');
  });

  it('ignores a CANCEL with the wrong token and obeys the right one', () => {
    const s = make();
    const wrong = encodePacket({ type: 'cancel', transferId: 1, token: randomBytes(16), code: 'TRANSFER_CANCELLED', text: '' });
    expect(s.onDatagram(wrong, 1)).toBe('bad_token');
    expect(s.state).toBe('sending');
    const right = encodePacket({ type: 'cancel', transferId: 1, token, code: 'TRANSFER_CANCELLED', text: 'bye' });
    expect(s.onDatagram(right, 1)).toBeUndefined();
    expect(s.state).toBe('failed');
  });

  it('is not kept alive by ACKs that acknowledge nothing new, nor by repeated REQUESTs', () => {
    const s = new Sender({
      transferId: 1,
      token,
      size: 10 * PAYLOAD,
      payloadSize: PAYLOAD,
      resumeFrom: 0,
      window: 64,
      now: 0,
      idleTimeoutMs: 2000,
      source: { read: () => {} },
    });
    s.poll(0);
    const empty = encodePacket({ type: 'ack', transferId: 1, largest: 0, ackDelayUs: 0, cumulative: 0, window: 64, ranges: [] });
    const request = encodePacket({ type: 'request', transferId: 1, token, resumeFrom: 0, payloadSize: PAYLOAD, window: 64 });
    let now = 0;
    for (; now <= 5000 && s.state !== 'failed'; now += 100) {
      expect(s.onDatagram(empty, now)).toBeUndefined(); // accepted (a window update), but no sign of life
      s.onDatagram(request, now);
      if (s.nextDeadline() <= now) s.onTimer(now);
      while (s.poll(now) !== undefined);
    }
    expect(s.state).toBe('failed');
    expect(s.failure?.code).toBe('TRANSFER_TIMEOUT');
    expect(now).toBeLessThanOrEqual(2100); // the idle timeout of 2 s, counted from the start
  });

  it('is kept alive by an ACK that acknowledges a new packet', () => {
    const s = new Sender({
      transferId: 1,
      token,
      size: 100 * PAYLOAD,
      payloadSize: PAYLOAD,
      resumeFrom: 0,
      window: 64,
      now: 0,
      idleTimeoutMs: 2000,
      source: { read: () => {} },
    });
    let now = 0;
    for (; now <= 5000; now += 100) {
      let pn = -1;
      for (let dg = s.poll(now); dg !== undefined; dg = s.poll(now)) {
        const p = decodePacket(dg);
        if (p.type === 'data') pn = p.packetNumber;
      }
      if (pn >= 0)
        s.onDatagram(
          encodePacket({ type: 'ack', transferId: 1, largest: pn, ackDelayUs: 0, cumulative: 0, window: 64, ranges: [{ first: pn, last: pn }] }),
          now + 1,
        );
      if (s.nextDeadline() <= now) s.onTimer(now);
    }
    expect(s.state).toBe('sending');
  });

  it('reports a corrupted datagram by its error code', () => {
    const s = make();
    const ack = Buffer.from(encodePacket({ type: 'end-ack', transferId: 1, totalChunks: 10 }));
    ack[9] = (ack[9] ?? 0) ^ 0xff;
    expect(s.onDatagram(ack, 1)).toBe('PACKET_BAD_CHECKSUM');
  });
});

describe('receiver input checks', () => {
  const token = randomBytes(16);
  const make = (window = 16): Receiver => new Receiver({ transferId: 1, token, size: 100 * 16, payloadSize: 16, now: 0, window });
  const data = (pn: number, chunk: number, len = 16): Buffer =>
    encodePacket({ type: 'data', transferId: 1, packetNumber: pn, chunk, payload: Buffer.alloc(len, chunk) });

  it('drops chunks beyond its window, with a wrong length, or past the end', () => {
    const r = make();
    expect(r.onDatagram(data(0, 16), 1)).toBe('beyond_window');
    expect(r.onDatagram(data(1, 3, 15), 1)).toBe('bad_chunk');
    expect(r.onDatagram(data(2, 100), 1)).toBe('bad_chunk');
    expect(r.onDatagram(data(3, 0), 1)).toBeUndefined();
    expect(r.cumulative).toBe(1);
  });

  it('counts duplicates and delivers each chunk once, in order', () => {
    const r = make();
    r.onDatagram(data(0, 1), 1);
    r.onDatagram(data(1, 1), 1);
    r.onDatagram(data(2, 0), 1);
    expect(r.stats.duplicates).toBe(1);
    expect(r.takeChunks().map((c) => c[0])).toEqual([0, 1]);
  });

  it('caps the ranges of out-of-order chunks a hostile sender can create', () => {
    const r = new Receiver({ transferId: 1, token, size: 10_000 * 16, payloadSize: 16, now: 0, window: 5000, maxChunkRanges: 8 });
    const results = [];
    for (let i = 0; i < 20; i++) results.push(r.onDatagram(data(i, 2 + i * 2), 1));
    expect(results.filter((x) => x === 'ranges_full').length).toBeGreaterThan(0);
    // The ACK still reports only what was accepted.
    const ack = decodePacket(r.poll(2) as Buffer);
    expect(ack.type).toBe('ack');
  });

  it('accepts ERROR only while requesting', () => {
    const r = make();
    r.onDatagram(data(0, 0), 1);
    const err = encodePacket({ type: 'error', transferId: 1, code: 'TRANSFER_REJECTED', text: 'x' });
    expect(r.onDatagram(err, 2)).toBe('unexpected_type');
    expect(r.state).toBe('receiving');
  });

  it('answers a CHALLENGE at once with a REQUEST that echoes its nonce, and keeps echoing it in retries', () => {
    const r = make();
    const first = decodePacket(r.poll(0) as Buffer);
    expect(first).toMatchObject({ type: 'request' });
    expect(first).not.toHaveProperty('nonce');
    const nonce = randomBytes(16);
    expect(r.onDatagram(encodePacket({ type: 'challenge', transferId: 1, nonce }), 50)).toBeUndefined();
    expect(r.nextDeadline()).toBe(50);
    const echo = decodePacket(r.poll(50) as Buffer);
    expect(echo.type === 'request' && echo.nonce).toEqual(nonce);
    expect(r.poll(60)).toBeUndefined();
    r.onTimer(250);
    const retry = decodePacket(r.poll(250) as Buffer);
    expect(retry.type === 'request' && retry.nonce).toEqual(nonce);
    // Once data flows a CHALLENGE means nothing.
    r.onDatagram(data(0, 0), 300);
    expect(r.onDatagram(encodePacket({ type: 'challenge', transferId: 1, nonce: randomBytes(16) }), 301)).toBe('unexpected_type');
  });

  it('retries REQUEST with backoff until data flows', () => {
    const r = make();
    const times: number[] = [];
    for (let now = 0; now < 2000; now += 10) {
      if (r.nextDeadline() <= now) r.onTimer(now);
      const dg = r.poll(now);
      if (dg !== undefined && peekPacketType(dg) === 'request') times.push(now);
    }
    expect(times).toEqual([0, 200, 600, 1400]);
  });

  it('starts its REQUEST backoff from requestRetryMs when the client knows the round trip', () => {
    const r = new Receiver({ transferId: 1, token, size: 100 * 16, payloadSize: 16, now: 0, window: 16, requestRetryMs: 30 });
    const times: number[] = [];
    for (let now = 0; now < 1000; now += 5) {
      if (r.nextDeadline() <= now) r.onTimer(now);
      const dg = r.poll(now);
      if (dg !== undefined && peekPacketType(dg) === 'request') times.push(now);
    }
    expect(times).toEqual([0, 30, 90, 210, 450, 930]);
  });
});

describe('hostile datagrams', () => {
  it('never makes the sender or receiver throw, and a transfer still completes afterwards', () => {
    const random = prng(99);
    const token = randomBytes(16);
    const sender = new Sender({
      transferId: 1,
      token,
      size: 50 * PAYLOAD,
      payloadSize: PAYLOAD,
      resumeFrom: 0,
      window: 64,
      now: 0,
      source: { read: () => {} },
    });
    const receiver = new Receiver({ transferId: 1, token, size: 50 * PAYLOAD, payloadSize: PAYLOAD, now: 0 });
    const valid = [
      encodePacket({ type: 'ack', transferId: 1, largest: 3, ackDelayUs: 5, cumulative: 1, window: 64, ranges: [{ first: 0, last: 3 }] }),
      encodePacket({ type: 'data', transferId: 1, packetNumber: 2, chunk: 1, payload: Buffer.alloc(PAYLOAD) }),
      encodePacket({ type: 'end', transferId: 1, totalChunks: 50, size: 50 * PAYLOAD }),
    ];
    for (let i = 0; i < 20_000; i++) {
      let dg: Buffer;
      if (i % 2 === 0) {
        dg = randomBytes(Math.floor(random() * 80));
      } else {
        dg = Buffer.from(valid[i % valid.length]!);
        for (let k = 0; k < 3; k++) dg[8 + Math.floor(random() * (dg.length - 12))] = Math.floor(random() * 256);
        dg.writeUInt32BE(crc32(dg.subarray(0, dg.length - 4)), dg.length - 4);
      }
      sender.poll(i);
      expect(() => sender.onDatagram(dg, i)).not.toThrow();
      expect(() => receiver.onDatagram(dg, i)).not.toThrow();
    }
    // The state machines still work: an honest transfer on a fresh pair completes.
    const data = randomBytes(30 * PAYLOAD);
    const r = simulate({ data, payloadSize: PAYLOAD, link: { delayMs: 3, loss: 0.1 } });
    expect(r.received.equals(data)).toBe(true);
  });
});
