/**
 * Round-trip time estimate as RFC 6298 and RFC 9002 §5 define it: smoothed RTT
 * with gain 1/8, RTT variance with gain 1/4, the peer's reported ACK delay
 * subtracted when that does not go below the minimum RTT. Times in ms.
 */
export const TIMER_GRANULARITY_MS = 1;

export class RttEstimator {
  latest = 0;
  smoothed: number;
  variance: number;
  min = Infinity;
  hasSample = false;

  constructor(readonly initialRttMs = 100) {
    this.smoothed = initialRttMs;
    this.variance = initialRttMs / 2;
  }

  update(sampleMs: number, ackDelayMs: number): void {
    const sample = Math.max(sampleMs, 0.01);
    this.latest = sample;
    if (sample < this.min) this.min = sample;
    if (!this.hasSample) {
      this.hasSample = true;
      this.smoothed = sample;
      this.variance = sample / 2;
      return;
    }
    const adjusted = sample - ackDelayMs >= this.min ? sample - ackDelayMs : sample;
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }

  /** Probe timeout before backoff (RFC 9002 §6.2.1; the RTO of RFC 6298 without its 1 s floor). */
  pto(maxAckDelayMs: number): number {
    return this.smoothed + Math.max(4 * this.variance, TIMER_GRANULARITY_MS) + maxAckDelayMs;
  }

  /** Time threshold for loss (RFC 9002 §6.1.2): 9/8 of the larger of smoothed and latest RTT. */
  lossDelay(): number {
    return Math.max((9 / 8) * Math.max(this.smoothed, this.latest), TIMER_GRANULARITY_MS);
  }
}
