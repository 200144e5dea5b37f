#!/usr/bin/env node
// Benchmark client: downloads one offer (JSON from parley-server.mjs) and prints a JSON result.
// Usage: node parley-client.mjs --host H --offer '<json>' --dest F [--payload N] [--warmup '<json>']
// --payload: default 1452, or 1440 for an encrypted offer (a "key" in its JSON): 1472-byte datagrams either way.
// --warmup: download that offer first, untimed (a warm process: code already optimized by V8),
// then time --offer.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { downloadFile } from '../../packages/udp-transfer/dist/index.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    offer: { type: 'string' },
    dest: { type: 'string' },
    payload: { type: 'string' },
    warmup: { type: 'string' },
  },
});
const offer = JSON.parse(values.offer);
const payload = values.payload !== undefined ? { payloadSize: Number(values.payload) } : {};
if (values.warmup) {
  const warm = JSON.parse(values.warmup);
  const res = await downloadFile({ host: values.host, offer: warm, destPath: values.dest, ...payload, resume: false, lingerMs: 0 });
  if (res.sha256 !== warm.sha256) throw new Error('warm-up download is corrupt');
  await import('node:fs/promises').then((fs) => fs.rm(values.dest));
}
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const res = await downloadFile({ host: values.host, offer, destPath: values.dest, ...payload, resume: false, lingerMs: 0 });
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({ bytes: res.bytes, ms, MBps: res.bytes / 1e6 / (ms / 1000), cpuUserMs: cpu.user / 1000, cpuSysMs: cpu.system / 1000, maxRssKb: process.resourceUsage().maxRSS, ok: res.sha256 === offer.sha256 })}\n`,
);
process.exit(0);
