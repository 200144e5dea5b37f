/**
 * A small BBR-style congestion controller (after BBR v1, Cardwell et al. 2016):
 * it models the path as a bottleneck bandwidth (windowed maximum of measured
 * delivery rates over the last 10 rounds) and a minimum RTT (over 10 s), then
 * paces at gain × bandwidth and caps bytes in flight at 2 × the bandwidth-delay
 * product. Random loss does not shrink the rate (that is what collapses
 * Reno/CUBIC at 1 % loss); persistent loss — a whole probe timeout with nothing
 * acknowledged — resets the model to the minimum. Startup doubles the rate each
 * round until the bandwidth stops growing by 25 % for three rounds, then drains
 * the queue it built and cycles pacing gains 1.25, 0.75, 1 × 6 to probe for more.
 *
 * Clock-free: every method takes `now` (ms).
 */
const STARTUP_GAIN = 2.885;
const PROBE_GAINS = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
const BW_WINDOW_ROUNDS = 10;
/**
 * Min-RTT lifetime before PROBE_RTT re-measures it. BBR uses 10 s; transfers
 * here last seconds, and a flow that started behind another's queue keeps an
 * inflated min RTT (so a window too large to share) until it re-measures.
 */
const MIN_RTT_WINDOW_MS = 2_500;
/** How long PROBE_RTT holds the window at 4 packets once in-flight has drained. */
const PROBE_RTT_DURATION_MS = 50;
const PROBE_RTT_PACKETS = 4;
/**
 * RTT above the minimum that still counts as "no queue": host scheduling noise
 * (3 ms, or a quarter of the minimum on long paths). Not a multiple of the
 * minimum alone: a flow that started behind another's queue has that queue in
 * its minimum, and 2 × minimum would hide a queue as long again.
 */
const QUEUE_FREE_SLACK_MS = 3;
/** Most RTT above the minimum that the window covers (event-loop and ACK batching delay). */
const CWND_RTT_SLACK_MS = 5;
/** Longest event-loop lateness the pacer makes up for in one burst. */
const MAX_CATCH_UP_MS = 8;

export type BbrMode = 'startup' | 'drain' | 'probe_bw' | 'probe_rtt';

export interface CongestionOptions {
  readonly packetBytes: number;
  /** Initial window in packets (before any RTT sample). */
  readonly initialWindowPackets?: number;
  /** Floor of the window in packets. */
  readonly minWindowPackets?: number;
  /** Upper bound on the pacing rate, bytes per second (e.g. to model a slow link). */
  readonly maxRateBytesPerSec?: number;
  readonly initialRttMs?: number;
  /** When the controller is created (ms): the pacer's clock starts here. */
  readonly now?: number;
}

/** What the sender knows about one acknowledged packet, for a delivery-rate sample. */
export interface DeliverySample {
  /** `delivered` counter when the packet was sent. */
  readonly delivered: number;
  readonly deliveredTime: number;
  readonly firstSentTime: number;
  readonly sentTime: number;
}

export class BbrLite {
  mode: BbrMode = 'startup';
  /** Bytes per ms. */
  btlBw = 0;
  minRtt = Infinity;
  private smoothedRtt = 0;
  private priorCwnd = 0;
  private probeRttDone = Infinity;
  private probeRttMin = Infinity;
  /** Smoothed fraction of bytes lost per round. */
  lossRate = 0;
  private lossBytesRound = 0;
  private ackedBytesRound = 0;
  private minRttStamp = 0;
  cwnd: number;
  pacingRate: number; // bytes per ms
  private pacingGain = STARTUP_GAIN;
  private cwndGain = STARTUP_GAIN;
  /**
   * Delivery-rate maxima of the last BW_WINDOW_ROUNDS rounds, a ring (newest at
   * `bwNewest`). A typed array: a plain array of numbers changes its elements'
   * representation as it fills, which deoptimizes the code compiled for the previous
   * transfer's (already filled) array.
   */
  private readonly bwSamples = new Float64Array(BW_WINDOW_ROUNDS);
  private bwCount = 0;
  private bwNewest = 0;
  private nextRoundDelivered = 0;
  private roundStart = false;
  private fullBw = 0;
  private fullBwRounds = 0;
  private filledPipe = false;
  private cycleIndex = 0;
  private cycleStamp = 0;
  // Delivery accounting (shared with the sender's packet records).
  delivered = 0;
  deliveredTime = 0;
  firstSentTime = 0;
  private readonly packetBytes: number;
  private readonly minWindow: number;
  private readonly maxRate: number; // bytes per ms
  // Pacing token bucket.
  private budget: number;
  private budgetStamp = -Infinity;

  constructor(options: CongestionOptions) {
    this.packetBytes = options.packetBytes;
    this.minWindow = (options.minWindowPackets ?? 16) * options.packetBytes;
    this.cwnd = Math.max(this.minWindow, (options.initialWindowPackets ?? 32) * options.packetBytes);
    this.maxRate = options.maxRateBytesPerSec !== undefined ? options.maxRateBytesPerSec / 1000 : Infinity;
    this.pacingRate = Math.min(this.maxRate, (STARTUP_GAIN * this.cwnd) / (options.initialRttMs ?? 100));
    this.budget = this.cwnd;
    if (options.now !== undefined) this.budgetStamp = options.now;
  }

  /** Burst allowance: enough for ~2 ms at the current rate (timers are 1 ms coarse), at least 8 packets. */
  private burstBytes(): number {
    return Math.max(8 * this.packetBytes, this.pacingRate * 2);
  }

  /** May a packet of `bytes` go out now under pacing? */
  canSend(bytes: number, now: number): boolean {
    this.refill(now);
    return this.budget >= bytes;
  }

  /** When the pacer will next allow `bytes` (now or later). */
  nextSendTime(bytes: number, now: number): number {
    this.refill(now);
    if (this.budget >= bytes) return now;
    return now + (bytes - this.budget) / this.pacingRate;
  }

  private refill(now: number): void {
    if (this.budgetStamp === -Infinity) {
      this.budgetStamp = now;
      return;
    }
    const elapsed = now - this.budgetStamp;
    if (elapsed > 0) {
      // A late wake-up (busy event loop) earns the time it lost, up to 8 ms, so the
      // average rate holds; an on-time one is capped at the normal burst.
      const cap = Math.max(this.burstBytes(), this.pacingRate * Math.min(elapsed, MAX_CATCH_UP_MS));
      this.budget = Math.min(cap, this.budget + elapsed * this.pacingRate);
      this.budgetStamp = now;
    }
  }

  onSent(bytes: number, now: number, bytesInFlightBefore: number): void {
    this.refill(now);
    this.budget -= bytes;
    if (bytesInFlightBefore === 0) {
      this.firstSentTime = now;
      this.deliveredTime = now;
    }
  }

  /**
   * Called once per ACK with the bytes newly acknowledged and the newest newly
   * acknowledged packet's send record (for the delivery-rate sample).
   */
  onAck(
    ackedBytes: number,
    newest: DeliverySample | undefined,
    rttMs: number | undefined,
    now: number,
    bytesInFlight: number,
    smoothedRttMs = rttMs ?? 0,
  ): void {
    if (ackedBytes <= 0) return;
    this.smoothedRtt = smoothedRttMs;
    this.delivered += ackedBytes;
    this.deliveredTime = now;
    this.ackedBytesRound += ackedBytes;
    if (rttMs !== undefined) {
      if (this.minRtt === Infinity) {
        // First RTT sample: pace the initial window over the real RTT, not the 100 ms guess.
        this.pacingRate = Math.min(this.maxRate, Math.max(this.pacingRate, (STARTUP_GAIN * this.cwnd) / Math.max(rttMs, 0.05)));
      }
      if (rttMs <= this.minRtt) {
        this.minRtt = rttMs;
        this.minRttStamp = now;
      }
      if (this.mode === 'probe_rtt') this.probeRttMin = Math.min(this.probeRttMin, rttMs);
    }
    if (newest !== undefined) {
      this.firstSentTime = newest.sentTime;
      this.roundStart = false;
      if (newest.delivered >= this.nextRoundDelivered) {
        this.nextRoundDelivered = this.delivered;
        this.roundStart = true;
        this.updateLossRate();
      }
      const sendElapsed = newest.sentTime - newest.firstSentTime;
      const ackElapsed = now - newest.deliveredTime;
      const interval = Math.max(sendElapsed, ackElapsed);
      if (interval > 0) this.addBwSample(this.compensate((this.delivered - newest.delivered) / interval));
    }
    this.updateMode(now, bytesInFlight);
    this.updateControls(ackedBytes);
  }

  /** A packet declared lost (for the loss-rate estimate only: loss does not cut the rate by itself). */
  onLoss(lostBytes: number): void {
    this.lossBytesRound += lostBytes;
  }

  /**
   * Random loss makes the delivery rate lower than the rate the path carries,
   * and pacing at the delivery rate then spirals down (BBR v1 collapses near
   * 20 % loss). While the RTT shows no queue, scale the sample up by the
   * measured loss rate (at most ×2). When the RTT is inflated the loss is
   * congestion: no compensation, so a real bottleneck is never overrun.
   */
  private compensate(rate: number): number {
    const queueFree = this.minRtt !== Infinity && this.smoothedRtt <= this.minRtt + Math.max(QUEUE_FREE_SLACK_MS, this.minRtt / 4);
    if (!queueFree || this.lossRate <= 0.01) return rate;
    return rate / (1 - Math.min(this.lossRate, 0.5));
  }

  private updateLossRate(): void {
    const total = this.lossBytesRound + this.ackedBytesRound;
    if (total > 0) this.lossRate = 0.75 * this.lossRate + 0.25 * (this.lossBytesRound / total);
    this.lossBytesRound = 0;
    this.ackedBytesRound = 0;
  }

  private addBwSample(rate: number): void {
    const samples = this.bwSamples;
    if (this.roundStart || this.bwCount === 0) {
      // A new round: its slot replaces the oldest once the window is full.
      this.bwNewest = this.bwCount === 0 ? 0 : (this.bwNewest + 1) % BW_WINDOW_ROUNDS;
      samples[this.bwNewest] = rate;
      if (this.bwCount < BW_WINDOW_ROUNDS) this.bwCount++;
    } else if (rate > (samples[this.bwNewest] as number)) {
      samples[this.bwNewest] = rate;
    }
    let max = 0;
    for (let i = 0; i < this.bwCount; i++) if ((samples[i] as number) > max) max = samples[i] as number;
    this.btlBw = Math.min(max, this.maxRate);
  }

  private bdp(): number {
    return this.minRtt === Infinity ? this.cwnd : this.btlBw * this.minRtt;
  }

  private updateMode(now: number, bytesInFlight: number): void {
    if (!this.filledPipe && this.roundStart) {
      if (this.btlBw >= this.fullBw * 1.25) {
        this.fullBw = this.btlBw;
        this.fullBwRounds = 0;
      } else if (++this.fullBwRounds >= 3) {
        this.filledPipe = true;
      }
    }
    if (this.mode === 'startup' && this.filledPipe) {
      this.mode = 'drain';
      this.pacingGain = 1 / STARTUP_GAIN;
      this.cwndGain = STARTUP_GAIN;
    }
    if (this.mode === 'drain' && bytesInFlight <= this.bdp()) {
      this.mode = 'probe_bw';
      this.cwndGain = 2;
      this.cycleIndex = 2;
      this.cycleStamp = now;
      this.pacingGain = PROBE_GAINS[this.cycleIndex] as number;
    }
    if (this.mode === 'probe_bw' && now - this.minRttStamp > MIN_RTT_WINDOW_MS) {
      // PROBE_RTT: drain to 4 packets briefly so every flow sees the empty-queue RTT.
      this.mode = 'probe_rtt';
      this.pacingGain = 1;
      this.priorCwnd = this.cwnd;
      this.probeRttDone = Infinity;
      this.probeRttMin = Infinity;
    }
    if (this.mode === 'probe_rtt') {
      if (this.probeRttDone === Infinity && bytesInFlight <= PROBE_RTT_PACKETS * this.packetBytes) {
        this.probeRttDone = now + Math.max(PROBE_RTT_DURATION_MS, this.minRtt);
      } else if (now >= this.probeRttDone) {
        if (this.probeRttMin !== Infinity) this.minRtt = this.probeRttMin;
        this.minRttStamp = now;
        this.mode = 'probe_bw';
        this.cwnd = Math.max(this.cwnd, this.priorCwnd);
        this.cycleIndex = 2;
        this.cycleStamp = now;
        this.pacingGain = PROBE_GAINS[this.cycleIndex] as number;
      }
      return;
    }
    if (this.mode === 'probe_bw' && now - this.cycleStamp > Math.max(this.minRtt, 1)) {
      this.cycleIndex = (this.cycleIndex + 1) % PROBE_GAINS.length;
      this.cycleStamp = now;
      this.pacingGain = PROBE_GAINS[this.cycleIndex] as number;
    }
  }

  private updateControls(ackedBytes: number): void {
    if (this.mode === 'probe_rtt') {
      this.cwnd = PROBE_RTT_PACKETS * this.packetBytes;
      return;
    }
    if (this.btlBw > 0) {
      const rate = this.pacingGain * this.btlBw;
      // In startup never lower the rate; afterwards follow the model.
      this.pacingRate = Math.min(this.maxRate, this.filledPipe ? rate : Math.max(rate, this.pacingRate));
    }
    // The window covers the smoothed RTT, not only the minimum: on a host path most of
    // the RTT is event-loop scheduling and ACK batching, not queueing. Pacing, not the
    // window, keeps the queue short.
    // …but at most CWND_RTT_SLACK_MS above the minimum: beyond that the extra RTT is
    // our own queue, and letting it grow the window would feed it (bufferbloat).
    const min = this.minRtt === Infinity ? this.smoothedRtt : this.minRtt;
    const rtt = Math.min(Math.max(min, this.smoothedRtt), min + CWND_RTT_SLACK_MS);
    const target = this.cwndGain * this.btlBw * rtt + 4 * this.packetBytes;
    if (this.filledPipe) this.cwnd = Math.min(this.cwnd + ackedBytes, target);
    else this.cwnd += ackedBytes;
    this.cwnd = Math.max(this.cwnd, this.minWindow);
  }

  /** Nothing was acknowledged for two probe timeouts in a row: forget the model. */
  onPersistentCongestion(): void {
    this.bwCount = 0;
    this.btlBw = 0;
    this.cwnd = this.minWindow;
    this.pacingRate = Math.min(this.maxRate, Math.max(this.pacingRate / 2, this.packetBytes / 10));
    this.filledPipe = false;
    this.fullBw = 0;
    this.fullBwRounds = 0;
    this.mode = 'startup';
    this.pacingGain = STARTUP_GAIN;
    this.cwndGain = STARTUP_GAIN;
  }

  get rateBytesPerSec(): number {
    return this.pacingRate * 1000;
  }
}
