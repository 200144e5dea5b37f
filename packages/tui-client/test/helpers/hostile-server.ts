import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { encodePacket, peekPacketType, peekTransferId } from '@parley/protocol';
import { FakeServer } from './fake-server.js';

/** What a hostile server puts in text: a window title, a screen clear, a colour, a one-byte CSI, a bidi override. */
export const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\u001b[31m\u009b1m\u202e\u2066';
/** Any of the characters a terminal must never get from a server. */
export const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export interface HostileOffer {
  readonly id: number;
  /** As it goes on the wire (already percent-encoded where needed). */
  readonly wireName: string;
}

/**
 * A chat server that lies: it welcomes any nick, then does what `script`
 * says for each line the client sends. Test-only. Its UDP socket records
 * every transfer id the client sends a packet for, and answers each REQUEST
 * with CANCEL so a download that was started ends at once.
 */
export class HostileServer extends FakeServer {
  readonly udp: UdpSocket = createSocket('udp4');
  /** Transfer ids the client sent a UDP packet for, in order of the first packet. */
  readonly udpTransferIds: number[] = [];
  readonly #tokens = new Map<number, string>();

  constructor(script: (line: string, reply: (text: string) => void, server: HostileServer) => void) {
    super();
    this.onLine = (line, socket) => {
      const reply = (text: string): void => void socket.write(text.endsWith('\n') ? text : `${text}\n`);
      if (line === 'exit') return void socket.end('bye QUIT :goodbye\n');
      if (line.startsWith('pong')) return;
      script(line, reply, this);
    };
    this.udp.on('message', (msg, from) => {
      const id = peekTransferId(msg);
      if (id === undefined) return;
      if (!this.udpTransferIds.includes(id)) this.udpTransferIds.push(id);
      const token = this.#tokens.get(id);
      if (peekPacketType(msg) === 'request' && token) {
        const cancel = encodePacket({ type: 'cancel', transferId: id, token: Buffer.from(token, 'hex'), code: 'TRANSFER_CANCELLED', text: 'test over' });
        this.udp.send(cancel, from.port, from.address);
      }
    });
  }

  async start(): Promise<{ port: number; udpPort: number }> {
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', r));
    return { port: await this.listen(), udpPort: (this.udp.address() as AddressInfo).port };
  }

  /** An `offer` line for `wireName` pointing at this server's UDP socket. */
  offer(id: number, wireName: string): string {
    const token = id.toString(16).padStart(32, '0');
    this.#tokens.set(id, token);
    return `offer ${id} ${wireName} 1000 ${'ab'.repeat(32)} ${token} ${(this.udp.address() as AddressInfo).port}`;
  }

  override async close(): Promise<void> {
    this.udp.close();
    await super.close();
  }
}
