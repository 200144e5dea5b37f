#!/usr/bin/env node
// History costs (issue 15), against the real parley-server:
//  1. insert: one client sends N broadcasts as fast as the server takes them
//     (rate limits lifted), with ids on; time until the server acknowledged
//     the last one (`sent`), server CPU; then database bytes per message
//     after a checkpoint.
//  2. catch-up: a client joins with --history-on-join 0, turns ids on and
//     asks `history,after,0`, then after the last id of each answer while it
//     ends with `more`: time to its first and last line, server CPU.
//  3. the store alone (in this process): messages/s committed one per
//     transaction and in batches of 10 and 100.
//
//   node bench/history/catchup.mjs [--messages 10000] [--size 64]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serverDir = join(root, 'packages', 'server');
const { values } = parseArgs({ options: { messages: { type: 'string', default: '10000' }, size: { type: 'string', default: '64' } } });
const N = Number(values.messages);
const text = 'x'.repeat(Math.max(1, Number(values.size) - 'broadcast,'.length - 1));
const require = createRequire(join(serverDir, 'package.json'));
const Database = require('libsql');
const { pino } = require('pino');
const { SqliteStore } = await import(join(serverDir, 'dist', 'index.js'));

const TICK = 100; // clock ticks per second (getconf CLK_TCK)
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};

async function startServer(dataDir) {
  const files = mkdtempSync(join(tmpdir(), 'parley-bench-files-'));
  const child = spawn(
    process.execPath,
    [
      join(serverDir, 'dist', 'bin.js'),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--udp-port',
      '-1',
      '--files-dir',
      files,
      '--data-dir',
      dataDir,
      '--rate',
      '1000000',
      '--burst',
      '1000000',
      '--send-queue-bytes',
      String(64 << 20),
      '--history-on-join',
      '0',
      '--log-level',
      'warn',
      '--log-format',
      'json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('parley-server ready'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  return { child, port, files };
}

class Client {
  lines = [];
  #buf = '';
  #waiters = [];
  static async join(port, nick) {
    const socket = await new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new Client(socket);
    socket.write(`${nick}\n`);
    await c.until((l) => l.startsWith('online '));
    return c;
  }
  constructor(socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      const data = this.#buf + chunk;
      const parts = data.split('\n');
      this.#buf = parts.pop();
      for (const l of parts) {
        this.lines.push(l);
        for (const w of this.#waiters) w(l);
      }
    });
  }
  /** Resolves with the first line from now on that matches; `onLine` sees every line meanwhile. */
  until(match, onLine) {
    return new Promise((resolve) => {
      const w = (l) => {
        onLine?.(l);
        if (match(l)) {
          this.#waiters = this.#waiters.filter((x) => x !== w);
          resolve(l);
        }
      };
      this.#waiters.push(w);
    });
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-data-'));
const load = loadavg()[0];
const server = await startServer(dataDir);
const alice = await Client.join(server.port, 'alice');
alice.socket.write('ids,on\n');
await alice.until((l) => l === 'ids on');

// 1. insert N through the server
let cpu0 = cpuSeconds(server.child.pid);
let t0 = performance.now();
const lastSent = alice.until((l) => l.startsWith('sent ') && alice.lines.filter((x) => x.startsWith('sent ')).length >= N);
let batch = '';
for (let i = 0; i < N; i++) {
  batch += `broadcast,${text}\n`;
  if (batch.length > 60_000) {
    alice.socket.write(batch);
    batch = '';
  }
}
alice.socket.write(batch);
await lastSent;
const insertMs = performance.now() - t0;
const insertCpu = cpuSeconds(server.child.pid) - cpu0;

// 2. catch up N from the start
const bob = await Client.join(server.port, 'bob');
bob.socket.write('ids,on\n');
await bob.until((l) => l === 'ids on');
cpu0 = cpuSeconds(server.child.pid);
t0 = performance.now();
let first;
let received = 0;
let lastId = '0';
let pages = 0;
for (;;) {
  pages += 1;
  bob.socket.write(`history,after,${lastId}\n`);
  const end = await bob.until(
    (l) => l.startsWith('history end '),
    (l) => {
      if (l.startsWith('history broadcast ')) {
        first ??= performance.now() - t0;
        received += 1;
        lastId = l.split(' ')[3];
      }
    },
  );
  if (end.endsWith(' all')) break;
}
const catchupMs = performance.now() - t0;
const catchupCpu = cpuSeconds(server.child.pid) - cpu0;
alice.socket.destroy();
bob.socket.destroy();
server.child.kill('SIGTERM');
await new Promise((r) => server.child.once('exit', r));
const db = new Database(join(dataDir, 'history.db'));
db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
const stored = db.prepare('SELECT count(*) FROM messages').raw(true).get()[0];
db.close();
const bytes = readdirSync(dataDir).reduce((n, f) => n + statSync(join(dataDir, f)).size, 0);
rmSync(dataDir, { recursive: true, force: true });
rmSync(server.files, { recursive: true, force: true });

// 3. the store alone
function storeRate(batchSize) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-store-'));
  const s = new SqliteStore({ dir, maxMessages: 10_000_000, maxAgeMs: 0, privateGraceMs: 0, log: pino({ level: 'silent' }) }, Date.now());
  const total = batchSize === 1 ? 5000 : 50_000;
  const t = performance.now();
  for (let i = 0; i < total; i += batchSize) {
    for (let j = 0; j < batchSize; j++) s.append({ kind: 'broadcast', from: 'alice', fromKey: 'alice', fromTenure: 1, text }, Date.now());
    s.commitPending();
  }
  const rate = total / ((performance.now() - t) / 1000);
  s.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}
const rates = [1, 10, 100].map((b) => [b, storeRate(b)]);

const f = (n, d = 1) => n.toFixed(d);
console.log(`${N} messages of ${Buffer.byteLength(`broadcast,${text}\n`)} bytes as sent (text ${text.length} bytes); load average ${f(load, 2)} at start\n`);
console.log('| what | result |');
console.log('| --- | --- |');
console.log(
  `| insert through the server (one sender, ids on, until the last \`sent\`) | ${N} in ${f(insertMs, 0)} ms = ${Math.round(N / (insertMs / 1000))} msg/s, server CPU ${f((insertCpu * 1e6) / N, 1)} µs per message |`,
);
console.log(`| stored after a checkpoint | ${stored} messages, ${bytes} bytes = ${f(bytes / stored, 1)} bytes per message |`);
console.log(
  `| catch-up \`history,after,…\` from the start | ${received} messages in ${pages} answers: first line after ${f(first, 1)} ms, last after ${f(catchupMs, 0)} ms; server CPU ${f(catchupCpu * 1000, 0)} ms (${f((catchupCpu * 1e6) / received, 1)} µs per message) |`,
);
for (const [b, r] of rates)
  console.log(`| store alone, ${b === 1 ? 'one message per transaction' : `batches of ${b}`} | ${Math.round(r)} msg/s (${f(1e6 / r, 1)} µs per message) |`);
