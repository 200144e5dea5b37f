import { join } from 'node:path';
import { nativeBatch } from '../../src/batch-io.js';
import { TransferServer, downloadFile, type DownloadOptions, type TransferServerOptions } from '../../src/index.js';
import type { TestFile } from './files.js';

/** Offers `file` to `owner` and returns the offer event fields a client would decode. */
export function offerFile(server: TransferServer, file: TestFile, owner = 'session-1') {
  const { id, token } = server.offer({ owner, path: file.path, name: file.name, size: file.size, sha256: file.sha256 });
  return { id, token, name: file.name, size: file.size, sha256: file.sha256, udpPort: server.port };
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
