#!/usr/bin/env node
// Benchmark server: serves one file over Parley UDP transfer.
// Usage: node parley-server.mjs --file F [--host 0.0.0.0] [--port 0] [--count 1] [--encrypt]
// Prints one JSON line per offer: {"id","token","name","size","sha256","udpPort"} (+ "key" with --encrypt:
// every UDP packet of the transfer sealed with ChaCha20-Poly1305).
// On SIGTERM prints {"stats","cpuUserMs","cpuSysMs","maxRssKb"} to stderr and exits.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TransferServer } from '../../packages/udp-transfer/dist/index.js';

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    host: { type: 'string', default: '0.0.0.0' },
    port: { type: 'string', default: '0' },
    count: { type: 'string', default: '1' },
    log: { type: 'boolean', default: false },
    rate: { type: 'string' },
    encrypt: { type: 'boolean', default: false },
  },
});
const path = resolve(values.file);
const size = statSync(path).size;
const hash = createHash('sha256');
for await (const c of createReadStream(path)) hash.update(c);
const sha256 = hash.digest('hex');
// CPU is reported for the last transfer: from the end of the one before it (or from the
// offers): with --count 2 and a warm-up download first, the second transfer's CPU alone.
const cpuMarks = [];
const line = (level) => (obj, msg) => {
  if (msg === 'transfer finished') cpuMarks.push(process.cpuUsage());
  if (values.log) process.stderr.write(`${JSON.stringify({ level, msg, ...obj })}\n`);
};
const logger = { info: line('info'), warn: line('warn'), error: line('error'), debug: () => {}, child: () => logger };
const ts = await TransferServer.listen({
  logger,
  host: values.host,
  port: Number(values.port),
  tokenTtlMs: 600_000,
  maxTransfersPerOwner: 1000,
  maxTransfersPerAddress: 1000,
  maxTransfers: 1000,
  ...(values.rate ? { maxRateBytesPerSec: Number(values.rate) } : {}),
});
for (let i = 0; i < Number(values.count); i++) {
  const { id, token, key } = ts.offer({ owner: 'bench', path, name: basename(path), size, sha256, encrypt: values.encrypt });
  process.stdout.write(`${JSON.stringify({ id, token, name: basename(path), size, sha256, udpPort: ts.port, ...(key ? { key } : {}) })}\n`);
}
cpuMarks.push(process.cpuUsage());
if (process.env.PARLEY_MEM)
  setInterval(() => {
    globalThis.gc?.();
    const m = process.memoryUsage();
    process.stderr.write(
      `${JSON.stringify({ active: ts.stats().active, heapUsedKb: Math.round(m.heapUsed / 1024), externalKb: Math.round((m.external + m.arrayBuffers) / 1024), rssKb: Math.round(m.rss / 1024) })}\n`,
    );
  }, Number(process.env.PARLEY_MEM)).unref();
if (process.env.PARLEY_TRACE)
  setInterval(() => {
    for (const t of ts.inspect()) process.stderr.write(`${JSON.stringify({ ms: Math.round(performance.now()), ...t })}\n`);
  }, Number(process.env.PARLEY_TRACE)).unref();
process.on('SIGTERM', async () => {
  const cpu = process.cpuUsage(cpuMarks[Math.max(0, cpuMarks.length - 2)]);
  process.stderr.write(
    `${JSON.stringify({ stats: ts.stats(), cpuUserMs: cpu.user / 1000, cpuSysMs: cpu.system / 1000, maxRssKb: process.resourceUsage().maxRSS })}\n`,
  );
  await ts.close(0);
  process.exit(0);
});
