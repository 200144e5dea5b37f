#!/usr/bin/env node
// Server memory per connection while each connection sends one long,
// unfinished line one byte per TCP segment (issue 13 item 3). RSS includes
// garbage not yet returned to the OS (each read allocates a buffer); "live
// after GC" is V8 heap + external memory (Buffers) after full collections.
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

const N = Number(process.argv[2] ?? 200);
const LINE = Number(process.argv[3] ?? 4000);

const rss = (pid) => Number(/VmRSS:\s+(\d+)/u.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The server runs with --expose-gc behind a tiny wrapper: on SIGUSR2 it collects garbage and prints its memory use.
const WRAPPER = `
  process.on('SIGUSR2', async () => { globalThis.gc(); await new Promise((r) => setTimeout(r, 200)); globalThis.gc(); process.stderr.write('MEM ' + JSON.stringify(process.memoryUsage()) + '\\n'); });
  const { main } = await import(${JSON.stringify(new URL('../../packages/server/dist/cli.js', import.meta.url).href)});
  process.exitCode = await main(process.argv.slice(1));
  process.exit();
`;
const child = spawn(
  process.execPath,
  [
    '--expose-gc',
    '--input-type=module',
    '-e',
    WRAPPER,
    '--',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--udp-port',
    '-1',
    '--join-timeout',
    '3600',
    '--max-clients',
    String(N + 10),
    '--log-format',
    'json',
    '--files-dir',
    `/tmp/parley-bench-files-${process.pid}`,
  ],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH },
  },
);
const port = await new Promise((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const m = /"port":(\d+)/u.exec(buf);
    if (m && buf.includes('parley-server ready')) resolve(Number(m[1]));
  });
  child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});

let memWaiter;
child.stderr.setEncoding('utf8').on('data', (d) => {
  for (const line of d.split('\n')) if (line.startsWith('MEM ') && memWaiter) memWaiter(JSON.parse(line.slice(4)));
});
/** V8 heap + external memory of the server after full collections. */
async function live() {
  const m = await new Promise((resolve) => {
    memWaiter = resolve;
    child.kill('SIGUSR2');
  });
  // arrayBuffers is already part of external.
  return m.heapUsed + m.external;
}

const sockets = await Promise.all(
  Array.from(
    { length: N },
    () =>
      new Promise((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
        s.once('error', reject);
      }),
  ),
);
await sleep(500);
const before = rss(child.pid);
const liveBefore = await live();
const byte = Buffer.from('a');
for (let i = 0; i < LINE; i++) {
  await Promise.all(sockets.map((s) => new Promise((resolve) => s.write(byte, resolve))));
  // Let the server read each byte on its own (one read per segment).
  await sleep(i % 50 === 0 ? 5 : 0);
}
await sleep(1000);
const after = rss(child.pid);
const liveAfter = await live();
const per = (after - before) / N;
const livePer = (liveAfter - liveBefore) / N;
console.log(
  JSON.stringify({
    connections: N,
    lineBytes: LINE,
    rssBeforeMiB: +(before / 2 ** 20).toFixed(1),
    rssAfterMiB: +(after / 2 ** 20).toFixed(1),
    rssPerConnectionKiB: +(per / 1024).toFixed(1),
    liveAfterGcPerConnectionKiB: +(livePer / 1024).toFixed(2),
    liveRatioToBytesSent: +(livePer / LINE).toFixed(2),
  }),
);
for (const s of sockets) s.destroy();
child.kill('SIGTERM');
