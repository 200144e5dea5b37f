#!/usr/bin/env node
// Does the server give memory back after many clients leave (issue 19, goal 6)?
// Starts parley-server (with --ops-port, for V8's heap figures from /metrics),
// records RSS and the V8 heap, connects N clients
// that each choose a nickname, records again, closes them all, and records at
// +1 s, +10 s and +30 s. RSS from /proc/<pid>/status; heap from /metrics.
// --force-gc: the server runs with --heapsnapshot-signal=SIGUSR2 (in its cwd, a
// temporary folder) and gets SIGUSR2 after the +30 s sample: a heap snapshot
// starts with a full GC, so the sample after it tells garbage not yet collected
// from memory still referenced.
//   node bench/memory/give-back.mjs [--clients 10000] [--force-gc] [--bin packages/server/dist/bin.js] [-- extra server args]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash < 0 ? argv : argv.slice(0, dash);
const extra = dash < 0 ? [] : argv.slice(dash + 1);
const opt = (name, dflt) => (own.includes(name) ? own[own.indexOf(name) + 1] : dflt);
const N = Number(opt('--clients', 10000));
const bin = opt('--bin', 'packages/server/dist/bin.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const opsPort = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'parley-mem-'));
const child = spawn(
  process.execPath,
  [
    resolve(bin),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--udp-port',
    '-1',
    '--ops-port',
    String(opsPort),
    '--files-dir',
    join(dir, 'f'),
    '--data-dir',
    join(dir, 'd'),
    '--log-level',
    'warn',
    '--max-clients',
    String(N + 100),
    '--max-clients-per-address',
    String(N + 100),
    '--max-unjoined-per-address',
    String(N + 100),
    '--rate',
    '1000000',
    '--burst',
    '1000000',
    ...extra,
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: dir,
    env: own.includes('--force-gc') ? { ...process.env, NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' } : process.env,
  },
);
await new Promise((resolve) => child.stdout.on('data', (d) => String(d).includes('parley-server ready') && resolve()));

const rssMiB = () => Number(/^VmRSS:\s+(\d+)/mu.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
async function heapMiB() {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const get = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'mu').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  // Each V8 space's committed size, to tell which one keeps what "heap total" keeps.
  const spaces = [...text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="([^"]+)"\} (\S+)/gmu)]
    .map(([, space, bytes]) => `${space} ${(Number(bytes) / 2 ** 20).toFixed(1)}`)
    .join(', ');
  return {
    heapUsed: get('nodejs_heap_size_used_bytes'),
    heapTotal: get('nodejs_heap_size_total_bytes'),
    external: get('nodejs_external_memory_bytes'),
    spaces,
  };
}
const rows = [];
const sample = async (label) => rows.push({ label, rss: rssMiB(), ...(await heapMiB()) });

await sleep(1000);
await sample('before');
const sockets = [];
for (let i = 0; i < N; i += 200) {
  await Promise.all(
    Array.from(
      { length: Math.min(200, N - i) },
      (_, k) =>
        new Promise((resolve) => {
          const s = connect({ host: '127.0.0.1', port }, () => s.write(`m${i + k}\n`));
          let buf = '';
          s.on('data', (d) => {
            buf += d;
            if (buf.includes('welcome')) resolve();
          });
          s.on('error', resolve);
          sockets.push(s);
        }),
    ),
  );
}
await sleep(1000);
await sample(`${N} clients joined`);
for (const s of sockets) s.destroy();
for (const [label, wait] of [
  ['+1 s after they left', 1000],
  ['+10 s', 9000],
  ['+30 s', 20000],
]) {
  await sleep(wait);
  await sample(label);
}
if (own.includes('--force-gc')) {
  child.kill('SIGUSR2');
  await sleep(15000);
  await sample('after a full GC (heap snapshot), +15 s');
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`| ${bin} ${extra.join(' ')} | RSS MiB | V8 heap used | V8 heap total | external |\n|---|--:|--:|--:|--:|\n`);
for (const r of rows)
  process.stdout.write(`| ${r.label} | ${r.rss.toFixed(1)} | ${r.heapUsed.toFixed(1)} | ${r.heapTotal.toFixed(1)} | ${r.external.toFixed(1)} |\n`);
process.stdout.write('\nV8 spaces committed (MiB):\n');
for (const r of rows) process.stdout.write(`- ${r.label}: ${r.spaces}\n`);
