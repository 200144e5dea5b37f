import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  DEFAULT_PAYLOAD_BYTES,
  DEFAULT_SEALED_PAYLOAD_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SEALED_PAYLOAD_BYTES,
  MIN_PAYLOAD_BYTES,
  PacketSealer,
  protocolError,
} from '@parley/protocol';
import { loadNativeAead } from './native-aead.js';

/**
 * What a client needs before its first packet, downloading or uploading alike:
 * the sealer of an encrypted transfer (its key from the chat line), the DATA
 * payload size, the server's address, and a UDP socket connected to it.
 */

/** The client's sealer for `key` (64 hex digits; none: a plain transfer) and the payload size to use. Throws BAD_ARGUMENTS. */
export function clientSealing(key: string | undefined, asked: number | undefined, what: string): { sealer: PacketSealer | undefined; payloadSize: number } {
  if (key !== undefined && !/^[0-9a-fA-F]{64}$/.test(key)) throw protocolError('BAD_ARGUMENTS', `${what} key must be 64 hex characters`);
  if (key !== undefined) loadNativeAead();
  const sealer = key !== undefined ? new PacketSealer(Buffer.from(key, 'hex'), 'client') : undefined;
  const payloadSize = asked ?? (sealer !== undefined ? DEFAULT_SEALED_PAYLOAD_BYTES : DEFAULT_PAYLOAD_BYTES);
  const maxPayload = sealer !== undefined ? MAX_SEALED_PAYLOAD_BYTES : MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(payloadSize) || payloadSize < MIN_PAYLOAD_BYTES || payloadSize > maxPayload) {
    throw protocolError('BAD_ARGUMENTS', `payload size must be ${MIN_PAYLOAD_BYTES}..${maxPayload}`);
  }
  return { sealer, payloadSize };
}

/** The server's IP address: the host as given when it is a literal, else its first DNS answer. */
export async function resolveServer(host: string): Promise<string> {
  return isIP(host) !== 0 ? host : (await lookup(host)).address;
}

/** A UDP socket connected to the server (it then hears only the server), with `buffer` bytes asked for its receive or send buffer. */
export async function connectToServer(address: string, port: number, buffer: { readonly recv?: number; readonly send?: number }): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    socket.close();
    throw err;
  }
  try {
    if (buffer.recv !== undefined) socket.setRecvBufferSize(buffer.recv);
    if (buffer.send !== undefined) socket.setSendBufferSize(buffer.send);
  } catch {
    // capped by the kernel; fine
  }
  return socket;
}
