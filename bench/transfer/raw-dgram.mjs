#!/usr/bin/env node
// Raw node:dgram ceiling: one socket blasts datagrams, no reliability.
//   node raw-dgram.mjs recv --port P [--host 0.0.0.0]      → prints {"bytes","ms","MBps"} after 1 s of silence
//   node raw-dgram.mjs send --host H --port P --mb 100 [--size 1472]
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    mb: { type: 'string', default: '100' },
    size: { type: 'string', default: '1472' },
  },
});
const mode = positionals[0];
if (mode === 'recv') {
  const sock = dgram.createSocket('udp4');
  let bytes = 0;
  let first = 0;
  let last = 0;
  let idle;
  const cpu0 = process.cpuUsage();
  sock.on('message', (m) => {
    if (bytes === 0) first = performance.now();
    bytes += m.length;
    last = performance.now();
    clearTimeout(idle);
    idle = setTimeout(() => {
      const ms = last - first;
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(`${JSON.stringify({ bytes, ms, MBps: bytes / 1e6 / (ms / 1000), cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
      process.exit(0);
    }, 1000);
  });
  sock.bind(Number(values.port), values.host, () => {
    try {
      sock.setRecvBufferSize(4 * 1024 * 1024);
    } catch {}
    process.stderr.write(`${sock.address().port}\n`);
  });
} else {
  const sock = dgram.createSocket('udp4');
  sock.connect(Number(values.port), values.host, async () => {
    try {
      sock.setSendBufferSize(4 * 1024 * 1024);
    } catch {}
    const size = Number(values.size);
    const n = Math.ceil((Number(values.mb) * 1024 * 1024) / size);
    const buf = Buffer.alloc(size, 7);
    let sent = 0;
    // Keep the send queue short, as the transfer does.
    while (sent < n) {
      while (sent < n && sock.getSendQueueCount() < 64) {
        sock.send(buf);
        sent++;
        if (sent % 512 === 0) break;
      }
      await new Promise((r) => setImmediate(r));
    }
    setTimeout(() => process.exit(0), 200);
  });
}
