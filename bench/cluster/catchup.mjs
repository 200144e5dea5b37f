#!/usr/bin/env node
// A node cut off from Redis catches up: node b reaches Redis through a relay
// that is cut (every connection closed, new ones refused) while alice on
// node a sends --messages broadcasts; then the relay heals and we time how
// long bob (on b) takes to get the first and the last of them, and node b's
// CPU meanwhile. Both nodes are real `parley-server` processes (stream
// delivery, history on); a throw-away redis-server.
//
//   node bench/cluster/catchup.mjs [--messages 10000] [--watchers 10]
//
// Build first: node scripts/pnpm.mjs exec turbo run build
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../../packages/test-support/dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serverBin = join(root, 'packages', 'server', 'dist', 'bin.js');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const { values } = parseArgs({ options: { messages: { type: 'string', default: '10000' }, watchers: { type: 'string', default: '10' } } });
const total = Number(values.messages);
const watchers = Number(values.watchers);

async function cpuMs(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

async function spawnNode(url, nodeId) {
  const dir = await mkdtemp(join(tmpdir(), 'parley-catchup-'));
  const args = [serverBin, '--host', '127.0.0.1', '--port', '0', '--udp-port', '-1', '--files-dir', join(dir, 'files'), '--data-dir', join(dir, 'data')];
  args.push('--accounts', 'off', '--rate', '1000000', '--burst', '1000000', '--send-queue-bytes', String(256 * 1024 * 1024), '--log-level', 'warn');
  args.push('--log-format', 'json', '--cluster', url, '--node-id', nodeId, '--cluster-lease', '2', '--cluster-heartbeat', '0.5');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('parley-server ready'));
      if (line) resolve({ child, port: JSON.parse(line).port, dir });
    });
    child.once('exit', (code) => reject(new Error(`node ${nodeId} exited (${code})`)));
  });
}

/** A relay to Redis that can cut every connection and refuse new ones until healed. */
async function relay(target) {
  const open = new Set();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return client.destroy();
    const up = connect({ port: target, host: '127.0.0.1' });
    open.add(client).add(up);
    const end = () => {
      client.destroy();
      up.destroy();
      open.delete(client);
      open.delete(up);
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${server.address().port}`,
    cut() {
      cut = true;
      for (const s of open) s.destroy();
    },
    heal() {
      cut = false;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Joins and counts lines that contain `mark`, noting when the first and the last came. */
async function client(port, nick) {
  const socket = await new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  const c = { socket, count: 0, first: 0, last: 0, lines: 0, buf: '', waiters: [] };
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    const data = c.buf + chunk;
    let start = 0;
    let nl;
    while ((nl = data.indexOf('\n', start)) !== -1) {
      const line = data.slice(start, nl);
      start = nl + 1;
      c.lines += 1;
      if (line.includes(':missed ')) {
        c.count += 1;
        if (c.count === 1) c.first = performance.now();
        c.last = performance.now();
      }
      for (const w of c.waiters.splice(0)) w(line);
    }
    c.buf = data.slice(start);
  });
  socket.write(`${nick}\n`);
  await new Promise((resolve) => {
    const check = (l) => (l.startsWith('history end join') ? resolve() : c.waiters.push(check));
    c.waiters.push(check);
  });
  return c;
}

const redis = await startRedisServer();
const r = await relay(redis.port);
const a = await spawnNode(redis.url, 'a');
const b = await spawnNode(r.url, 'b');
try {
  const alice = await client(a.port, 'alice');
  const watching = [];
  for (let i = 0; i < watchers; i++) watching.push(await client(b.port, `bob${i}`));
  r.cut();
  await new Promise((res) => setTimeout(res, 300));
  // alice says `total` lines while b is cut off; wait until a has stored them all (its own history says so).
  for (let i = 1; i <= total; i++) alice.socket.write(`broadcast,missed ${i}\n`);
  for (;;) {
    alice.socket.write('history,1\n');
    const last = await new Promise((resolve) => {
      const check = (l) => (l.startsWith('history broadcast alice ') ? resolve(l) : alice.waiters.push(check));
      alice.waiters.push(check);
    });
    if (last.endsWith(`:missed ${total}`)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  if (watching.some((w) => w.count > 0)) throw new Error('the cut let messages through');
  const cpu0 = await cpuMs(b.child.pid);
  const t0 = performance.now();
  r.heal();
  const deadline = t0 + 60_000;
  while (watching.some((w) => w.count < total) && performance.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  const cpu = (await cpuMs(b.child.pid)) - cpu0;
  const got = watching.map((w) => w.count);
  const first = Math.min(...watching.map((w) => w.first)) - t0;
  const last = Math.max(...watching.map((w) => w.last)) - t0;
  console.log(`${total} broadcasts said while node b was cut off from Redis; ${watchers} users on b; relay healed at t = 0\n`);
  console.log('| users on b | each got | first missed line | last missed line | node b CPU | per delivery |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(
    `| ${watchers} | ${Math.min(...got)}–${Math.max(...got)} / ${total} | ${first.toFixed(0)} ms | ${last.toFixed(0)} ms | ${cpu.toFixed(0)} ms | ${((cpu * 1000) / (total * watchers)).toFixed(1)} µs |`,
  );
  for (const c of [alice, ...watching]) c.socket.destroy();
} finally {
  for (const n of [a, b]) {
    n.child.kill('SIGKILL');
    await rm(n.dir, { recursive: true, force: true });
  }
  await r.close();
  await redis.stop('SIGKILL');
}
