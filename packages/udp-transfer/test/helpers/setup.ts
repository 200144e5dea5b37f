import { join } from 'node:path';
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
