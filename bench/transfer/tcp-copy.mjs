#!/usr/bin/env node
// Plain TCP file copy with node:net, the baseline.
//   node tcp-copy.mjs serve --file F [--host 0.0.0.0] [--port 0]   prints the port, sends F to each connection
//   node tcp-copy.mjs fetch --host H --port P --dest D [--warmup]    prints {"bytes","ms","MBps","cpuMs"}
//   (--warmup: fetch the file once untimed first, so the timed copy runs in a warm process)
import { createReadStream, createWriteStream } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    file: { type: 'string' },
    host: { type: 'string', default: '0.0.0.0' },
    port: { type: 'string', default: '0' },
    dest: { type: 'string' },
    warmup: { type: 'boolean', default: false },
  },
});
if (positionals[0] === 'serve') {
  const server = net.createServer((sock) => {
    pipeline(createReadStream(values.file, { highWaterMark: 1 << 20 }), sock).catch(() => {});
  });
  server.listen(Number(values.port), values.host, () => process.stdout.write(`${server.address().port}\n`));
} else {
  const copyOnce = async () => {
    const sock = net.connect(Number(values.port), values.host);
    let bytes = 0;
    sock.on('data', (d) => (bytes += d.length));
    await pipeline(sock, createWriteStream(values.dest));
    return bytes;
  };
  if (values.warmup) await copyOnce();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = await copyOnce();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ bytes, ms, MBps: bytes / 1e6 / (ms / 1000), cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
}
