import dgram from 'node:dgram';
import { peekPacketType, type UdpPacketType } from '@parley/protocol';
import { seededRandom } from './random.js';

/** Impairments applied to each direction (client→server and server→client). */
export interface Impairments {
  /** Probability (0..1) of dropping a datagram. */
  readonly loss?: number;
  /** Fixed one-way delay in ms. */
  readonly delayMs?: number;
  /** Extra random delay 0..jitterMs (reorders too). */
  readonly jitterMs?: number;
  /** Probability of holding a datagram back until after the next one. */
  readonly reorder?: number;
  /** Probability of sending a datagram twice. */
  readonly duplicate?: number;
  /** Drop every Nth DATA packet (server→client only). */
  readonly dropEveryNthData?: number;
  /** Drop the first N END packets (server→client only). */
  readonly dropFirstEnds?: number;
  /**
   * Flip one bit in every Nth datagram of this type (either direction) and forward
   * it: the position cycles through the transfer id, the packet number, the chunk
   * index, the payload and the last byte.
   */
  readonly corruptEveryNth?: { readonly type: UdpPacketType; readonly every: number };
}

export interface RelayOptions extends Impairments {
  readonly targetPort: number;
  readonly targetHost?: string;
  /** Seed for the impairment decisions (reproducible drops). */
  readonly seed?: number;
  /** Keep a copy of every datagram received, both ways, before any impairment (`captured`). */
  readonly capture?: boolean;
}

export interface CapturedDatagram {
  readonly direction: 'up' | 'down';
  readonly bytes: Buffer;
}

export interface RelayCounts {
  received: number;
  forwarded: number;
  dropped: number;
  nthDropped: number;
  endsDropped: number;
  duplicated: number;
  /** Held back and sent after a datagram that arrived later. */
  reordered: number;
  delayed: number;
  corrupted: number;
  byType: Partial<Record<UdpPacketType | 'other', number>>;
}

interface Lane {
  held: (() => void) | undefined;
  heldTimer: NodeJS.Timeout | undefined;
}

/**
 * A lossy UDP relay for tests, the transfer package's and the harness's: clients
 * talk to `relay.port`; each client gets its own upstream socket so the server
 * sees one address per client. It counts everything it did, so a test can prove
 * the impairment happened: `reordered` counts only datagrams that really went
 * out after one that arrived later (a held datagram released by its 20 ms timer
 * is not counted). Decisions come from a seeded PRNG: the same seed and traffic,
 * the same drops. Bound: one upstream socket per client address, one held
 * datagram per direction; `capture` keeps every datagram (tests only).
 */
export class LossyRelay {
  readonly counts: RelayCounts = {
    received: 0,
    forwarded: 0,
    dropped: 0,
    nthDropped: 0,
    endsDropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    corrupted: 0,
    byType: {},
  };
  private readonly front: dgram.Socket;
  private readonly upstreams = new Map<string, dgram.Socket>();
  private readonly random: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private dataToClient = 0;
  private readonly seenOfType = new Map<string, number>();
  /** Every datagram received (with `capture`), in arrival order. */
  readonly captured: CapturedDatagram[] = [];
  /** Where the last client was seen, and the upstream socket the server sees it as (for injection). */
  private lastClient: { address: string; port: number; upstream: dgram.Socket } | undefined;
  private closed = false;
  private readonly lanes = { up: { held: undefined, heldTimer: undefined } as Lane, down: { held: undefined, heldTimer: undefined } as Lane };
  /** Impairments can be changed while running (e.g. switched off). */
  impair: Impairments;

  private constructor(
    front: dgram.Socket,
    private readonly options: RelayOptions,
  ) {
    this.front = front;
    this.random = seededRandom(options.seed ?? 1);
    this.impair = options;
    front.on('message', (buf, rinfo) => this.fromClient(buf, rinfo.address, rinfo.port));
  }

  static async start(options: RelayOptions): Promise<LossyRelay> {
    const front = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
    return new LossyRelay(front, options);
  }

  get port(): number {
    return this.front.address().port;
  }

  /** The address the server sees for the client at `clientPort`. */
  upstreamPortFor(clientPort: number): number | undefined {
    return this.upstreams.get(`127.0.0.1:${clientPort}`)?.address().port;
  }

  private fromClient(buf: Buffer, address: string, port: number): void {
    const key = `${address}:${port}`;
    let up = this.upstreams.get(key);
    if (up === undefined) {
      const sock = dgram.createSocket('udp4');
      sock.bind(0, '127.0.0.1');
      sock.on('message', (reply) => this.forward(reply, 'down', (b) => this.front.send(b, port, address)));
      sock.on('error', () => {});
      this.upstreams.set(key, sock);
      up = sock;
    }
    const upstream = up;
    this.lastClient = { address, port, upstream };
    this.forward(buf, 'up', (b) => upstream.send(b, this.options.targetPort, this.options.targetHost ?? '127.0.0.1'));
  }

  /**
   * An on-path attacker's datagram: to the server from the address it sees for the
   * last client ('up'), or to that client from the relay's front ('down').
   */
  inject(direction: 'up' | 'down', datagram: Buffer): void {
    const client = this.lastClient;
    if (client === undefined) throw new Error('no client has spoken through the relay yet');
    if (direction === 'up') client.upstream.send(datagram, this.options.targetPort, this.options.targetHost ?? '127.0.0.1');
    else this.front.send(datagram, client.port, client.address);
  }

  private corrupt(buf: Buffer, type: string): Buffer {
    const rule = this.impair.corruptEveryNth;
    if (rule === undefined || rule.type !== type) return buf;
    const n = (this.seenOfType.get(type) ?? 0) + 1;
    this.seenOfType.set(type, n);
    if (n % rule.every !== 0) return buf;
    const copy = Buffer.from(buf);
    const spots = [5, 9, 14, buf.length >> 1, buf.length - 1];
    const at = Math.min(copy.length - 1, spots[(n / rule.every) % spots.length] as number);
    copy[at] = (copy[at] as number) ^ (1 << (n % 8));
    this.counts.corrupted++;
    return copy;
  }

  private forward(original: Buffer, direction: 'up' | 'down', sendBytes: (b: Buffer) => void): void {
    if (this.closed) return;
    const c = this.counts;
    const imp = this.impair;
    c.received++;
    if (this.options.capture === true) this.captured.push({ direction, bytes: Buffer.from(original) });
    const type = peekPacketType(original) ?? 'other';
    c.byType[type] = (c.byType[type] ?? 0) + 1;
    const buf = this.corrupt(original, type);
    const send = (): void => sendBytes(buf);
    if (direction === 'down' && type === 'data' && imp.dropEveryNthData !== undefined) {
      this.dataToClient++;
      if (this.dataToClient % imp.dropEveryNthData === 0) {
        c.nthDropped++;
        return;
      }
    }
    if (direction === 'down' && type === 'end' && c.endsDropped < (imp.dropFirstEnds ?? 0)) {
      c.endsDropped++;
      return;
    }
    if (this.random() < (imp.loss ?? 0)) {
      c.dropped++;
      return;
    }
    const copies = this.random() < (imp.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) c.duplicated++;
    const lane = this.lanes[direction];
    const emit = (): void => {
      if (this.closed) return;
      for (let i = 0; i < copies; i++) {
        send();
        c.forwarded++;
      }
      // A held-back datagram goes out right after the one that overtook it.
      if (lane.held !== undefined && lane.held !== emit) {
        const held = lane.held;
        lane.held = undefined;
        if (lane.heldTimer !== undefined) clearTimeout(lane.heldTimer);
        c.reordered++;
        held();
      }
    };
    if (lane.held === undefined && this.random() < (imp.reorder ?? 0)) {
      lane.held = () => {
        if (this.closed) return;
        for (let i = 0; i < copies; i++) {
          send();
          c.forwarded++;
        }
      };
      // Never hold longer than 20 ms (the stream may have stopped).
      lane.heldTimer = setTimeout(() => {
        const held = lane.held;
        lane.held = undefined;
        held?.();
      }, 20);
      return;
    }
    const delay = (imp.delayMs ?? 0) + (imp.jitterMs ?? 0) * this.random();
    if (delay <= 0) {
      emit();
      return;
    }
    c.delayed++;
    const t = setTimeout(() => {
      this.timers.delete(t);
      emit();
    }, delay);
    this.timers.add(t);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    for (const lane of Object.values(this.lanes)) if (lane.heldTimer !== undefined) clearTimeout(lane.heldTimer);
    const all = [this.front, ...this.upstreams.values()];
    await Promise.all(all.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
