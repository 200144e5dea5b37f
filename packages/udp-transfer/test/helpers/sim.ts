import { randomBytes } from 'node:crypto';
import { seededRandom } from '@parley/test-support';
import { Receiver, type ReceiverOptions } from '../../src/receiver.js';
import { Sender, type SenderOptions } from '../../src/sender.js';

/** Deterministic PRNG (mulberry32), shared with the harness and benchmarks. */
export const prng = seededRandom;

export interface SimLink {
  /** One-way delay, ms. */
  delayMs: number;
  jitterMs?: number;
  loss?: number;
  duplicate?: number;
  /** Drop any datagram for which this returns true (after counting it). */
  dropIf?: (dg: Buffer, direction: 'toReceiver' | 'toSender', now: number) => boolean;
}

export interface SimResult {
  readonly sender: Sender;
  readonly receiver: Receiver;
  readonly received: Buffer;
  readonly now: number;
  readonly counts: { delivered: number; dropped: number; duplicated: number; reordered: number };
}

interface InFlight {
  at: number;
  seq: number;
  dg: Buffer;
  to: 'toReceiver' | 'toSender';
}

/**
 * Runs a Sender and a Receiver against each other on a simulated link with a
 * fake clock: no sockets, no timers, fully deterministic for a given seed.
 */
export function simulate(opts: {
  data: Buffer;
  payloadSize: number;
  link: SimLink;
  seed?: number;
  untilMs?: number;
  sender?: Partial<SenderOptions>;
  receiver?: Partial<ReceiverOptions>;
  /** Stop the simulation when this returns true (checked every step). */
  stopWhen?: (s: Sender, r: Receiver, now: number) => boolean;
}): SimResult {
  const random = prng(opts.seed ?? 7);
  const token = randomBytes(16);
  let now = 1000;
  const receiver = new Receiver({
    transferId: 9,
    token,
    size: opts.data.length,
    payloadSize: opts.payloadSize,
    now,
    ...opts.receiver,
  });
  let sender: Sender | undefined;
  const chunks: Buffer[] = [];
  const queue: InFlight[] = [];
  let seq = 0;
  let lastArrival = { toReceiver: 0, toSender: 0 };
  const counts = { delivered: 0, dropped: 0, duplicated: 0, reordered: 0 };
  const send = (dg: Buffer, to: 'toReceiver' | 'toSender'): void => {
    if (opts.link.dropIf?.(dg, to, now) === true || random() < (opts.link.loss ?? 0)) {
      counts.dropped++;
      return;
    }
    const copies = random() < (opts.link.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) counts.duplicated++;
    for (let i = 0; i < copies; i++) {
      const at = now + opts.link.delayMs + (opts.link.jitterMs ?? 0) * random();
      if (at < lastArrival[to]) counts.reordered++;
      lastArrival = { ...lastArrival, [to]: Math.max(lastArrival[to], at) };
      queue.push({ at, seq: seq++, dg: Buffer.from(dg), to });
    }
  };
  const until = opts.untilMs ?? 600_000;
  for (let steps = 0; steps < 5_000_000; steps++) {
    // Everything due now.
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    while (queue.length > 0 && (queue[0] as InFlight).at <= now) {
      const item = queue.shift() as InFlight;
      counts.delivered++;
      if (item.to === 'toReceiver') {
        receiver.onDatagram(item.dg, now);
      } else if (sender === undefined) {
        const req = item.dg;
        // The first REQUEST creates the sender (what TransferServer does after checking the token).
        if (req.length === 256) {
          sender = new Sender({
            transferId: 9,
            token,
            size: opts.data.length,
            payloadSize: opts.payloadSize,
            resumeFrom: req.readUInt32BE(24),
            window: req.readUInt32BE(30),
            now,
            source: { read: (position, target, offset, length) => opts.data.copy(target, offset, position, position + length) },
            ...opts.sender,
          });
        }
      } else {
        sender.onDatagram(item.dg, now);
      }
    }
    if (receiver.nextDeadline() <= now) receiver.onTimer(now);
    if (sender !== undefined && sender.nextDeadline() <= now) sender.onTimer(now);
    for (const c of receiver.takeChunks()) chunks.push(Buffer.from(c));
    for (let dg = receiver.poll(now); dg !== undefined; dg = receiver.poll(now)) send(dg, 'toSender');
    if (sender !== undefined) for (let dg = sender.poll(now); dg !== undefined; dg = sender.poll(now)) send(dg, 'toReceiver');
    const senderFinished = sender === undefined ? false : sender.state === 'done' || sender.state === 'failed';
    const receiverFinished = receiver.state === 'done' || receiver.state === 'failed';
    if (opts.stopWhen?.(sender as Sender, receiver, now) === true) break;
    if (senderFinished && receiverFinished && queue.length === 0) break;
    if (receiver.state === 'failed' && (sender === undefined || senderFinished)) break;
    // Advance the fake clock to the next event.
    let next = Math.min(receiver.nextDeadline(), queue.length > 0 ? Math.min(...queue.map((q) => q.at)) : Infinity);
    if (sender !== undefined) next = Math.min(next, sender.nextDeadline(), sender.nextSendTime(now));
    if (next === Infinity || next > until) break;
    now = Math.max(now + 0.001, next);
  }
  if (sender === undefined) throw new Error('no REQUEST ever reached the sender');
  return { sender, receiver, received: Buffer.concat(chunks), now, counts };
}
