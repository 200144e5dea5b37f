import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { seededRandom } from '@parley/test-support';
import type { ImpairmentSpec } from './scenario/types.js';

export interface RelayStats {
  /** Datagrams that reached the relay (both directions). */
  received: number;
  forwarded: number;
  dropped: number;
  reordered: number;
  duplicated: number;
}


/**
 * A UDP relay between one client and the server that drops, reorders and
 * duplicates datagrams in both directions, and counts what it did so a test
 * can prove the impairment happened. The client sends to `port`; the relay
 * forwards to the server from its own socket and sends replies back to the
 * last client address it saw.
 */
export class LossyRelay {
  readonly stats: RelayStats = { received: 0, forwarded: 0, dropped: 0, reordered: 0, duplicated: 0 };
  readonly #front: Socket;
  readonly #back: Socket;
  readonly #random: () => number;
  #client: RemoteInfo | undefined;
  /** One held-back datagram per direction, sent after the next one. */
  #held: { toServer?: Buffer; toClient?: Buffer } = {};
  #flushTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly impairment: ImpairmentSpec,
    readonly serverHost: string,
    readonly serverPort: number,
  ) {
    this.#random = seededRandom(impairment.seed);
    this.#front = createSocket('udp4');
    this.#back = createSocket('udp4');
    this.#front.on('message', (msg, rinfo) => {
      this.#client = rinfo;
      this.#pass(msg, 'toServer');
    });
    this.#back.on('message', (msg) => this.#pass(msg, 'toClient'));
    // A held datagram is never held forever: it goes out within 5 ms.
    this.#flushTimer = setInterval(() => this.#releaseHeld(), 5);
    this.#flushTimer.unref();
  }

  static async start(impairment: ImpairmentSpec, serverHost: string, serverPort: number): Promise<LossyRelay> {
    const r = new LossyRelay(impairment, serverHost, serverPort);
    await Promise.all([
      new Promise<void>((res) => r.#front.bind(0, '127.0.0.1', () => res())),
      new Promise<void>((res) => r.#back.bind(0, '127.0.0.1', () => res())),
    ]);
    return r;
  }

  get port(): number {
    return this.#front.address().port;
  }

  #send(msg: Buffer, dir: 'toServer' | 'toClient'): void {
    this.stats.forwarded += 1;
    if (dir === 'toServer') this.#back.send(msg, this.serverPort, this.serverHost);
    else if (this.#client) this.#front.send(msg, this.#client.port, this.#client.address);
  }

  #pass(msg: Buffer, dir: 'toServer' | 'toClient'): void {
    const { loss, reorder, duplicate } = this.impairment;
    this.stats.received += 1;
    if (this.#random() < loss) {
      this.stats.dropped += 1;
      return;
    }
    if (this.#held[dir] === undefined && this.#random() < reorder) {
      this.#held[dir] = msg;
      return;
    }
    this.#send(msg, dir);
    if (this.#random() < duplicate) {
      this.stats.duplicated += 1;
      this.#send(msg, dir);
    }
    const held = this.#held[dir];
    if (held) {
      // Sent after a datagram that arrived later: really reordered.
      this.#held[dir] = undefined;
      this.stats.reordered += 1;
      this.#send(held, dir);
    }
  }

  #releaseHeld(): void {
    for (const dir of ['toServer', 'toClient'] as const) {
      const held = this.#held[dir];
      if (held) {
        this.#held[dir] = undefined;
        this.#send(held, dir);
      }
    }
  }

  close(): void {
    if (this.#flushTimer) clearInterval(this.#flushTimer);
    this.#front.close();
    this.#back.close();
  }
}
