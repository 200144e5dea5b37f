import dgram from 'node:dgram';
import { peekPacketType, type UdpPacketType } from '@parley/protocol';
import { prng } from './sim.js';

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
}

export interface RelayOptions extends Impairments {
  readonly targetPort: number;
  readonly targetHost?: string;
  /** Seed for the impairment decisions (reproducible drops). */
  readonly seed?: number;
}

export interface RelayCounts {
  received: number;
  forwarded: number;
  dropped: number;
  nthDropped: number;
  endsDropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  byType: Partial<Record<UdpPacketType | 'other', number>>;
}

interface Lane {
  held: (() => void) | undefined;
  heldTimer: NodeJS.Timeout | undefined;
}

/**
 * A lossy UDP relay for tests: clients talk to `relay.port`; each client gets
 * its own upstream socket so the server sees one address per client. It
 * counts everything it did, so a test can prove the impairment happened.
 */
export class LossyRelay {
  readonly counts: RelayCounts = {
    received: 0, forwarded: 0, dropped: 0, nthDropped: 0, endsDropped: 0, duplicated: 0, reordered: 0, delayed: 0, byType: {},
  };
  private readonly front: dgram.Socket;
  private readonly upstreams = new Map<string, dgram.Socket>();
  private readonly random: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private dataToClient = 0;
  private closed = false;
  private readonly lanes = { up: { held: undefined, heldTimer: undefined } as Lane, down: { held: undefined, heldTimer: undefined } as Lane };
  /** Impairments can be changed while running (e.g. switched off). */
  impair: Impairments;

  private constructor(front: dgram.Socket, private readonly options: RelayOptions) {
    this.front = front;
    this.random = prng(options.seed ?? 1);
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
      sock.on('message', (reply) => this.forward(reply, 'down', () => this.front.send(reply, port, address)));
      sock.on('error', () => {});
      this.upstreams.set(key, sock);
      up = sock;
    }
    const upstream = up;
    this.forward(buf, 'up', () => upstream.send(buf, this.options.targetPort, this.options.targetHost ?? '127.0.0.1'));
  }

  private forward(buf: Buffer, direction: 'up' | 'down', send: () => void): void {
    if (this.closed) return;
    const c = this.counts;
    const imp = this.impair;
    c.received++;
    const type = peekPacketType(buf) ?? 'other';
    c.byType[type] = (c.byType[type] ?? 0) + 1;
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
        held();
      }
    };
    if (lane.held === undefined && this.random() < (imp.reorder ?? 0)) {
      c.reordered++;
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
