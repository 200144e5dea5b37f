#!/usr/bin/env node
// Server memory per connection while each connection sends one long,
// unfinished line one byte per TCP segment (issue 13 item 3).
//
//   node bench/hardening/partial-lines.mjs [connections=200] [lineBytes=4000]
//
// Starts the built parley-server (packages/server/dist/bin.js), opens the
// connections (TCP_NODELAY), then sends the line round-robin: one byte to
// every connection, wait until the server has read it, next byte. Prints the
// server's RSS before and after, and the difference per connection.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 200);
const LINE = Number(process.argv[3] ?? 4000);
const BIN = fileURLToPath(new URL('../../packages/server/dist/bin.js', import.meta.url));

const rss = (pid) => Number(/VmRSS:\s+(\d+)/u.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const child = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--udp-port', '-1', '--join-timeout', '3600', '--max-clients', String(N + 10), '--log-format', 'json', '--files-dir', `/tmp/parley-bench-files-${process.pid}`], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { PATH: process.env.PATH },
});
const port = await new Promise((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const m = /"port":(\d+)/u.exec(buf);
    if (m && buf.includes('parley-server ready')) resolve(Number(m[1]));
  });
  child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});

const sockets = await Promise.all(
  Array.from({ length: N }, () => new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  })),
);
await sleep(500);
const before = rss(child.pid);
const byte = Buffer.from('a');
for (let i = 0; i < LINE; i++) {
  await Promise.all(sockets.map((s) => new Promise((resolve) => s.write(byte, resolve))));
  // Let the server read each byte on its own (one read per segment).
  await sleep(i % 50 === 0 ? 5 : 0);
}
await sleep(1000);
const after = rss(child.pid);
const per = (after - before) / N;
console.log(JSON.stringify({ connections: N, lineBytes: LINE, rssBeforeMiB: +(before / 2 ** 20).toFixed(1), rssAfterMiB: +(after / 2 ** 20).toFixed(1), perConnectionKiB: +(per / 1024).toFixed(1), ratioToBytesSent: +(per / LINE).toFixed(1) }));
for (const s of sockets) s.destroy();
child.kill('SIGTERM');
