import { afterEach, beforeEach } from 'vitest';
import type { LossyRelay } from '@parley/test-support';
import type { TransferServer, TransferServerOptions } from '../../src/index.js';
import { makeTempDir, type TempDir } from './files.js';
import { startServer } from './setup.js';

/** What each test of a transfer file gets: its own temp dir and transfer server, and a relay it may start. */
export interface TransferFixture {
  dir: TempDir;
  server: TransferServer;
  /** Set by a test that puts a relay in front of the server; closed after it. */
  relay: LossyRelay | undefined;
}

/**
 * Registers the beforeEach/afterEach that give every test a fresh temp dir and
 * transfer server (with `options`), and close the relay, the server and the
 * dir after it. A test may replace `server` (it is closed whichever it is).
 */
export function useTransferFixture(options: TransferServerOptions = {}): TransferFixture {
  const t = { relay: undefined } as TransferFixture;
  beforeEach(async () => {
    t.dir = await makeTempDir();
    t.server = await startServer(options);
  });
  afterEach(async () => {
    await t.relay?.close();
    t.relay = undefined;
    await t.server.close(0);
    await t.dir.remove();
  });
  return t;
}
