import { describe, expect, it } from 'vitest';
import { BbrLite } from '../src/congestion.js';

/**
 * Feeds the controller a path that delivers `rate` bytes/ms with one-way
 * acknowledgements every millisecond, a minimum RTT of `minRtt` (the first
 * 20 ms) and then a smoothed RTT of `srtt`, while a fraction `loss` of what is
 * sent is lost. Returns the bandwidth the controller believes in.
 */
function drive(o: { rate: number; minRtt: number; srtt: number; loss: number; ms?: number }): number {
  const cc = new BbrLite({ packetBytes: 1472, initialRttMs: o.minRtt });
  const history: number[] = [0]; // delivered bytes at each ms
  let delivered = 0;
  for (let t = 1; t <= (o.ms ?? 400); t++) {
    const rtt = t <= 20 ? o.minRtt : o.srtt;
    delivered += o.rate;
    history.push(delivered);
    const sentAt = Math.max(0, t - Math.round(rtt));
    cc.onLoss((o.rate * o.loss) / (1 - o.loss));
    cc.onAck(
      o.rate,
      { delivered: history[sentAt] as number, deliveredTime: sentAt, firstSentTime: Math.max(0, sentAt - 1), sentTime: sentAt },
      rtt,
      t,
      o.rate * rtt,
      rtt,
    );
  }
  return cc.btlBw;
}

describe('congestion control: scaling the delivery rate up for random loss', () => {
  it('makes up for random loss when the RTT shows no queue (veth: 0.3 ms minimum, 2 ms smoothed, 5 % loss)', () => {
    const bw = drive({ rate: 100, minRtt: 0.3, srtt: 2, loss: 0.05 });
    expect(bw).toBeGreaterThan(100 * 1.03);
    expect(bw).toBeLessThan(100 / 0.95 + 1);
  });

  it('makes up for heavy random loss on a long path without a queue (10 ms, 30 % loss)', () => {
    expect(drive({ rate: 50, minRtt: 10, srtt: 11, loss: 0.3 })).toBeGreaterThan(50 * 1.3);
  });

  it('does not when the RTT stands 6 ms above a minimum that was itself measured behind a queue', () => {
    // Two flows on a shallow bottleneck: the second one's "minimum" RTT already
    // includes the first one's queue; scaling its rate up by the loss it causes
    // made it pace at up to twice the link rate (bench/transfer/bottleneck.sh).
    const bw = drive({ rate: 50, minRtt: 10, srtt: 16, loss: 0.3 });
    expect(bw).toBeLessThanOrEqual(50 * 1.01);
    expect(bw).toBeGreaterThan(50 * 0.9);
  });
});
