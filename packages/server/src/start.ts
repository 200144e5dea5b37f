import type { Logger } from 'pino';
import { ChatServer } from './chat-server.js';
import type { DownloadService } from './downloads.js';
import { FileLibrary } from './file-library.js';
import { OpsServer } from './ops-server.js';
import type { ChatHub } from './hub.js';
import type { ChatOptions } from './options.js';
import { TransferServer } from '@parley/udp-transfer';

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly udpHost: string;
  /** 0 = any free port; -1 = downloads switched off. */
  readonly udpPort: number;
  readonly filesDir: string;
  readonly options: Partial<ChatOptions>;
  readonly hub?: ChatHub;
  /** Operations endpoint (/healthz, /readyz, /metrics); undefined = off. */
  readonly ops?: { readonly host: string; readonly port: number };
}

export interface StartedServer {
  readonly chat: ChatServer;
  readonly files: FileLibrary;
  readonly downloads: DownloadService | undefined;
  readonly port: number;
  readonly udpPort: number | undefined;
  readonly opsPort: number | undefined;
  close(graceMs?: number): Promise<void>;
}

/** Starts the file service, the UDP transfer service and the chat server, in that order. */
export async function startServer(config: ServerConfig, log: Logger): Promise<StartedServer> {
  const files = new FileLibrary(config.filesDir);
  if (await files.ensure()) log.info({ filesDir: files.root }, 'created the files folder with a welcome.txt');
  let downloads: DownloadService | undefined;
  if (config.udpPort >= 0) {
    downloads = await TransferServer.listen({ host: config.udpHost, port: config.udpPort, logger: log.child({ component: 'udp' }) });
  }
  const chat = new ChatServer({ files, log, downloads, options: config.options, hub: config.hub });
  let address;
  let ops: OpsServer | undefined;
  let opsPort: number | undefined;
  try {
    address = await chat.listen(config.port, config.host);
    if (config.ops) {
      ops = new OpsServer(chat, downloads);
      opsPort = (await ops.listen(config.ops.port, config.ops.host)).port;
    }
  } catch (err) {
    await chat.close(0);
    await ops?.close();
    throw err;
  }
  return {
    chat,
    files,
    downloads,
    port: address.port,
    udpPort: downloads?.port,
    opsPort,
    async close(graceMs) {
      await chat.close(graceMs);
      await ops?.close();
    },
  };
}
