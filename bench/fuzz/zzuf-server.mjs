#!/usr/bin/env node
// zzuf against a live parley-server: chat sessions mutated by zzuf (used as a
// filter, seed = session number) are sent to the built server over TCP, 16 at a
// time, each split at a random point; every 256 sessions a clean client must
// still log in and get `online`. Prints the server's RSS over time, the error
// and bye codes it answered with, and the log levels it wrote.
//
//   node bench/fuzz/zzuf-server.mjs [sessions=5000] [ratio=0.01]
//
// Needs `zzuf` and a built server (node scripts/pnpm.mjs --filter
// @parley/server... build). Running the server itself under `zzuf -n` does not
// work: zzuf does not see the socket reads of Node's libuv (the server
// answered exactly as to clean sessions), so zzuf mutates the client's bytes.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sessions = Number(process.argv[2] ?? 5000);
const ratio = process.argv[3] ?? '0.01';
const BATCH = 16;
const PROBE_EVERY = 256;
const filesDir = mkdtempSync(join(tmpdir(), 'parley-zzuf-'));
const serverArgs = [
  join(root, 'packages/server/dist/bin.js'),
  '--port',
  '0',
  '--udp-port',
  '0',
  '--host',
  '127.0.0.1',
  '--files-dir',
  filesDir,
  '--log-format',
  'json',
  '--join-timeout',
  '5',
];
const server = spawn(process.execPath, serverArgs);

const logLevels = {};
let exited = null;
server.on('exit', (code, signal) => {
  exited = { code, signal };
});
server.stderr.on('data', (d) => process.stderr.write(`server stderr: ${d}`));
const port = await new Promise((resolve, reject) => {
  let pending = '';
  server.stdout.on('data', (d) => {
    pending += d;
    for (let i = pending.indexOf('\n'); i !== -1; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      logLevels[entry.level] = (logLevels[entry.level] ?? 0) + 1;
      if (entry.level >= 40) console.log(`server log: ${line.slice(0, 300)}`);
      if (entry.port && entry.udpPort) resolve(entry.port);
    }
  });
  server.on('exit', () => reject(new Error('server exited before it was ready')));
  setTimeout(() => reject(new Error('server not ready in 15 s')), 15_000);
});
const rssKiB = () => Number(/VmRSS:\s+(\d+)/u.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0);

const templates = [
  (n) => `alice${n}\nbroadcast,hello everyone\nonline\nfiles\nbob,hi there\ndownload,welcome.txt\npong,123\ncancel,1\nhelp\nbroadcast,héllo 👋 日本語\nexit\n`,
  (n) => `b${n}\r\nonline\r\nfiles\r\ndownload,welcome.txt\r\nbroadcast,${'x'.repeat(300)}\r\nquit\r\n`,
  (n) => `élève${n}\nalice0,private note\nbroadcast,${'long '.repeat(900)}\nonline\n`,
];

const replies = {};
function session(bytes) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => {
      received += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('connect', () => {
      const cut = Math.floor(Math.random() * bytes.length);
      socket.write(bytes.subarray(0, cut));
      setTimeout(() => socket.end(bytes.subarray(cut)), 5);
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const m of received.matchAll(/^(error|bye) ([A-Z_0-9]+)/gmu)) replies[`${m[1]} ${m[2]}`] = (replies[`${m[1]} ${m[2]}`] ?? 0) + 1;
      socket.destroy();
      resolve();
    };
    socket.setTimeout(400, finish);
    socket.on('close', finish);
  });
}

function probe(name) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 5000);
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    socket.on('connect', () => socket.write(`${name}\nonline\n`));
    socket.on('data', (d) => {
      received += d;
      if (/^online \d+/mu.test(received)) {
        clearTimeout(timer);
        socket.end('exit\n');
        resolve(true);
      }
    });
  });
}

const rssBefore = rssKiB();
const rssSamples = [];
const started = Date.now();
let bytesSent = 0;
let probesOk = 0;
let probesFailed = 0;
for (let i = 0; i < sessions && !exited; i += BATCH) {
  const batch = [];
  for (let j = i; j < Math.min(sessions, i + BATCH); j++) {
    const clean = Buffer.from(templates[j % templates.length](j), 'utf8');
    const bytes = execFileSync('zzuf', ['-s', String(j), '-r', ratio], { input: clean });
    bytesSent += bytes.length;
    batch.push(session(bytes));
  }
  await Promise.all(batch);
  if ((i + BATCH) % PROBE_EVERY === 0 && !exited) {
    if (await probe(`probe${i}`)) probesOk += 1;
    else probesFailed += 1;
    rssSamples.push(`${i + BATCH}:${rssKiB()}`);
  }
}
const finalProbeOk = !exited && (await probe('final'));
console.log(
  JSON.stringify(
    {
      ratio,
      sessions,
      seconds: (Date.now() - started) / 1000,
      bytesSent,
      serverExited: exited,
      probesOk,
      probesFailed,
      finalProbeOk,
      rssKiBBefore: rssBefore,
      rssKiBAfter: exited ? null : rssKiB(),
      rssKiBSamples: rssSamples.join(' '),
      logLevels,
      replies,
    },
    null,
    1,
  ),
);
server.kill('SIGTERM');
await new Promise((resolve) => (exited ? resolve() : server.once('exit', resolve)));
rmSync(filesDir, { recursive: true, force: true });
process.exit(finalProbeOk ? 0 : 1);
