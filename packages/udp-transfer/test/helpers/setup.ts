import type dgram from 'node:dgram';
import { join } from 'node:path';
import { decodePacket, encodePacket } from '@parley/protocol';
import { nativeBatch } from '../../src/batch-io.js';
import { TransferServer, downloadFile, type DownloadOptions, type TransferServerOptions } from '../../src/index.js';
import { waitFor, type TestFile } from './files.js';

/** Offers `file` to `owner` and returns the offer event fields a client would decode. */
export function offerFile(server: TransferServer, file: TestFile, owner = 'session-1', extra: { encrypt?: boolean } = {}) {
  const { id, token, key } = server.offer({ owner, path: file.path, name: file.name, size: file.size, sha256: file.sha256, ...extra });
  return { id, token, name: file.name, size: file.size, sha256: file.sha256, udpPort: server.port, ...(key !== undefined ? { key } : {}) };
}

export async function startServer(options: TransferServerOptions = {}): Promise<TransferServer> {
  return TransferServer.listen({ host: '127.0.0.1', port: 0, ...options });
}

export function download(
  port: number,
  offer: ReturnType<typeof offerFile>,
  dir: string,
  extra: Partial<DownloadOptions> = {},
): ReturnType<typeof downloadFile> {
  return downloadFile({ host: '127.0.0.1', port, offer, destPath: join(dir, `got-${offer.id}-${offer.name}`), lingerMs: 200, ...extra });
}

/**
 * Whether the native batch addon (build/udp_batch.node) is loaded. CI builds it
 * with PARLEY_NATIVE=require, so there a missing addon fails instead of skipping.
 */
export const BATCH_AVAILABLE = nativeBatch() !== undefined || process.env.CI === 'true' || process.env.PARLEY_NATIVE === 'require';

/** A REQUEST for `offer`, echoing `nonce` when given. */
export function requestPacket(offer: { id: number; token: string }, nonce?: Buffer, payloadSize = 1452, window = 64): Buffer {
  const token = Buffer.from(offer.token, 'hex');
  return encodePacket({ type: 'request', transferId: offer.id, token, resumeFrom: 0, payloadSize, window, ...(nonce !== undefined ? { nonce } : {}) });
}

/**
 * Starts a transfer from a bare socket as the client would: REQUEST, the server's
 * CHALLENGE, REQUEST echoing its nonce. Resolves once the server has the transfer.
 */
export async function rawHandshake(sock: dgram.Socket, server: TransferServer, offer: { id: number; token: string }): Promise<void> {
  const challenge = new Promise<Buffer>((resolve) => {
    const onMessage = (m: Buffer): void => {
      const p = decodePacket(m);
      if (p.type !== 'challenge') return;
      sock.off('message', onMessage);
      resolve(Buffer.from(p.nonce));
    };
    sock.on('message', onMessage);
  });
  sock.send(requestPacket(offer), server.port, '127.0.0.1');
  const nonce = await challenge;
  sock.send(requestPacket(offer, nonce), server.port, '127.0.0.1');
  await waitFor(() => server.stats().active > 0, 'the server to start the transfer');
}
