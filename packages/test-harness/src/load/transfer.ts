import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEvent } from '@parley/protocol';
import { downloadFile } from '@parley/udp-transfer';
import { LineClient } from '../line-client.js';
import { seededBytes } from '@parley/test-support';
import { ServerProcess } from '../server-process.js';
import { CpuMeter } from './proc.js';

export interface TransferResult {
  readonly downloads: number;
  readonly fileBytes: number;
  readonly wallMs: number;
  /** All bytes delivered / wall time. */
  readonly totalMBps: number;
  readonly slowestMs: number;
  readonly fastestMs: number;
  readonly verified: number;
  readonly serverCpu: number | undefined;
  readonly loadCpu: number;
  readonly othersCpu: number;
}

/** K clients join a spawned Parley server and download the same file at once over UDP; every copy is checked. */
export async function runTransfer(options: { downloads: number; fileBytes: number; bin?: string }): Promise<TransferResult> {
  const filesDir = await mkdtemp(join(tmpdir(), 'parley-xfer-src-'));
  const destDir = await mkdtemp(join(tmpdir(), 'parley-xfer-dst-'));
  const content = seededBytes(options.fileBytes, 5);
  const sha = createHash('sha256').update(content).digest('hex');
  await writeFile(join(filesDir, 'load.bin'), content);
  const server = await new ServerProcess({
    bin: options.bin,
    filesDir,
    udpPort: 0,
    args: ['--log-level', 'warn', '--rate', '1000', '--burst', '1000'],
  }).start();
  const clients: LineClient[] = [];
  try {
    for (let i = 0; i < options.downloads; i++) {
      const c = await LineClient.connect({ host: server.host, port: server.port });
      c.sendLine(`x${i}`);
      await c.next((l) => l.startsWith('welcome '), 10_000, 'welcome');
      clients.push(c);
    }
    // Offers first (the server hashes the file once), then every transfer at the same moment.
    const offers = await Promise.all(
      clients.map(async (c) => {
        c.sendLine('download,load.bin');
        const ev = decodeEvent(await c.next((l) => l.startsWith('offer ') || l.startsWith('error '), 30_000, 'an offer'));
        if (ev.type !== 'offer') throw new Error(`no offer: ${JSON.stringify(ev)}`);
        return ev;
      }),
    );
    const meter = new CpuMeter(server.pid);
    meter.start();
    const t0 = performance.now();
    const times = await Promise.all(
      offers.map(async (offer, i) => {
        const started = performance.now();
        await downloadFile({ host: server.host, offer, destPath: join(destDir, `copy${i}.bin`) });
        return performance.now() - started;
      }),
    );
    const wallMs = performance.now() - t0;
    const cpu = meter.read();
    let verified = 0;
    for (let i = 0; i < offers.length; i++) {
      const got = await readFile(join(destDir, `copy${i}.bin`));
      if (createHash('sha256').update(got).digest('hex') === sha) verified += 1;
    }
    return {
      downloads: options.downloads,
      fileBytes: options.fileBytes,
      wallMs,
      totalMBps: (options.downloads * options.fileBytes) / 1e6 / (wallMs / 1000),
      slowestMs: Math.max(...times),
      fastestMs: Math.min(...times),
      verified,
      serverCpu: cpu.server === undefined ? undefined : cpu.server / cpu.wall,
      loadCpu: cpu.own / cpu.wall,
      othersCpu: cpu.others / cpu.wall,
    };
  } finally {
    for (const c of clients) c.destroy();
    await server.stop();
    await rm(filesDir, { recursive: true, force: true });
    await rm(destDir, { recursive: true, force: true });
  }
}

export function formatTransfer(r: TransferResult): string {
  return (
    `Parley  transfer ${r.downloads} × ${(r.fileBytes / 1e6).toFixed(1)} MB at once: ${r.totalMBps.toFixed(1)} MB/s in total, ` +
    `all done in ${(r.wallMs / 1000).toFixed(2)} s, slowest ${(r.slowestMs / 1000).toFixed(2)} s, fastest ${(r.fastestMs / 1000).toFixed(2)} s, ` +
    `${r.verified}/${r.downloads} copies verified (SHA-256); server CPU ${((r.serverCpu ?? 0) * 100).toFixed(0)} %, load gen CPU ${(r.loadCpu * 100).toFixed(0)} %, other processes ${(r.othersCpu * 100).toFixed(0)} %`
  );
}
