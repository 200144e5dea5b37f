#!/usr/bin/env node
// Latency of a whole small download (1000 bytes, lingerMs 0: REQUEST, CHALLENGE, REQUEST+nonce,
// DATA, ACK, END, END_ACK) on loopback, server and client in one process: 200 timed after 20 warm-up.
// Usage: node bench/transfer/small-download.mjs [dist folder of @parley/udp-transfer, default packages/udp-transfer/dist]
import { createHash } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const dist = process.argv[2] ?? join(new URL('.', import.meta.url).pathname, '../../packages/udp-transfer/dist');
const { TransferServer, downloadFile } = await import(pathToFileURL(join(dist, 'index.js')).href);
const dir = mkdtempSync(join(tmpdir(), 'ttfb-'));
const data = Buffer.from('x'.repeat(1000));
const path = join(dir, 'f');
writeFileSync(path, data);
const sha256 = createHash('sha256').update(data).digest('hex');
const ts = await TransferServer.listen({ host: '127.0.0.1', port: 0, maxTransfersPerOwner: 1000 });
const times = [];
for (let i = 0; i < 220; i++) {
  const { id, token } = ts.offer({ owner: 'o', path, name: 'f', size: data.length, sha256 });
  const t0 = performance.now();
  await downloadFile({
    host: '127.0.0.1',
    offer: { id, token, name: 'f', size: data.length, sha256, udpPort: ts.port },
    destPath: join(dir, `o${i}`),
    lingerMs: 0,
  });
  if (i >= 20) times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({ dist, runs: times.length, medianMs: +times[times.length >> 1].toFixed(3), p90Ms: +times[Math.floor(times.length * 0.9)].toFixed(3) }),
);
await ts.close(0);
rmSync(dir, { recursive: true, force: true });
