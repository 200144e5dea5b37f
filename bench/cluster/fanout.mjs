#!/usr/bin/env node
// Fan-out benchmark: the same clients on 1 node (in-memory hub), 1 node on
// Redis, and 2 or 3 nodes on Redis; each node a real `parley-server` process
// (as users run it, limits on rate and queue lifted), the clients in this
// process, a throw-away redis-server per setup. Prints a Markdown table.
//
//   node bench/cluster/fanout.mjs [--clients 100] [--senders 4] [--rate 400] [--seconds 3] [--nodes 1,2,3]
//                                 [--delivery pubsub,stream,stream+history]
//
// `--delivery` runs each Redis setup once per way messages travel between
// nodes: `pubsub` (--cluster-delivery pubsub, the at-most-once path),
// `stream` (Redis Streams, --history off: delivery only) and
// `stream+history` (the default: streams, privates and tenures kept).
// CPU is read from /proc/<pid>/stat (user + system) of each node and of
// redis-server over the sending and draining window; "µs CPU / delivery" is
// a node's CPU time over the deliveries to the clients connected to it.
//
// Build first: node scripts/pnpm.mjs exec turbo run build
// `--rate` is broadcasts per second from all senders together; each goes to
// every other client, so deliveries/s ≈ rate × (clients − 1) when keeping up.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../../packages/test-support/dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serverBin = join(root, 'packages', 'server', 'dist', 'bin.js');

/** One chat node: the real binary on loopback, downloads off, flood limits lifted for the load. */
async function spawnNode(redisUrl, nodeId, delivery) {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  const args = [
    serverBin,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--udp-port',
    '-1',
    '--files-dir',
    join(dir, 'files'),
    '--data-dir',
    join(dir, 'data'),
    '--accounts',
    'off',
    '--rate',
    '1000000',
    '--burst',
    '1000000',
    '--max-clients',
    '100000',
    '--send-queue-bytes',
    String(64 * 1024 * 1024),
    '--log-level',
    'warn',
    '--log-format',
    'json',
    ...EXTRA_SERVER_ARGS,
  ];
  if (redisUrl) args.push('--cluster', redisUrl, '--node-id', nodeId);
  if (delivery === 'pubsub') args.push('--cluster-delivery', 'pubsub', '--history', 'off');
  else if (delivery === 'stream') args.push('--history', 'off');
  else if (delivery === 'memory') args.push('--history', 'off');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('parley-server ready'));
      if (line) resolve({ child, port: JSON.parse(line).port, dir });
    });
    child.once('exit', (code) => reject(new Error(`bench node ${nodeId} exited (${code})`)));
  });
}

/** Server flags every node gets on top of the above (per-address limits off for 100 clients from one address). */
const EXTRA_SERVER_ARGS = [];

/** A client that counts broadcast lines and measures their latency from the timestamp in the text. */
class BenchClient {
  received = 0;
  /** Nicks this client has seen join. */
  joined = new Set();
  latencies;
  socket;
  #buf = '';
  #onLine;
  constructor(socket, latencies) {
    this.socket = socket;
    this.latencies = latencies;
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      const data = this.#buf + chunk;
      let start = 0;
      let nl;
      while ((nl = data.indexOf('\n', start)) !== -1) {
        this.#line(data, start, nl);
        start = nl + 1;
      }
      this.#buf = data.slice(start);
    });
  }

  static async join(port, nick, latencies) {
    const socket = await new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new BenchClient(socket, latencies);
    await c.until(
      (l) => l.startsWith('online '),
      () => socket.write(`${nick}\n`),
    );
    return c;
  }

  #line(data, start, end) {
    if (data.startsWith('broadcast ', start)) {
      const colon = data.indexOf(' :t', start);
      if (colon > 0 && colon < end) {
        this.received += 1;
        this.latencies.push(performance.now() - Number(data.slice(colon + 3, end)));
        return;
      }
    }
    const line = data.slice(start, end);
    if (line.startsWith('joined ')) this.joined.add(line.slice(7));
    this.#onLine?.(line);
  }

  until(match, then) {
    return new Promise((resolve) => {
      this.#onLine = (l) => {
        if (match(l)) {
          this.#onLine = undefined;
          resolve();
        }
      };
      then();
    });
  }
}

/** CPU time (ms, user + system) a process has used so far. */
async function cpuMs(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

async function scenario(label, ports, o, pids = { nodes: [], redis: undefined }) {
  const latencies = [];
  const clients = [];
  for (let i = 0; i < o.clients; i++) clients.push(await BenchClient.join(ports[i % ports.length], `c${i}`, latencies));
  // Settle: every client has heard the last one join.
  const last = `c${o.clients - 1}`;
  const settle = performance.now() + 10_000;
  while (!clients.slice(0, -1).every((c) => c.joined.has(last)) && performance.now() < settle) await new Promise((r) => setTimeout(r, 20));
  const senders = clients.slice(0, o.senders);
  const total = Math.round(o.rate * o.seconds);
  const tickMs = 10;
  const perTick = (o.rate * tickMs) / 1000;
  let sent = 0;
  let due = 0;
  const cpu0 = await Promise.all(pids.nodes.map(cpuMs));
  const redis0 = pids.redis ? await cpuMs(pids.redis) : 0;
  const t0 = performance.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      due += perTick;
      while (sent < Math.min(total, Math.floor(due))) {
        const s = senders[sent % senders.length];
        s.socket.write(`broadcast,t${performance.now().toFixed(3)}\n`);
        sent += 1;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
  });
  const expected = total * (o.clients - 1);
  const deadline = performance.now() + 15_000;
  const count = () => clients.reduce((n, c) => n + c.received, 0);
  while (count() < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const elapsed = (performance.now() - t0) / 1000;
  const nodeCpu = (await Promise.all(pids.nodes.map(cpuMs))).map((c, i) => c - (cpu0[i] ?? 0));
  const redisCpu = pids.redis ? (await cpuMs(pids.redis)) - redis0 : Number.NaN;
  // Deliveries to the clients of each node (client i is on node i mod nodes).
  const perNode = ports.map((_, n) => clients.reduce((sum, c, i) => sum + (i % ports.length === n ? c.received : 0), 0));
  const usPerDelivery = nodeCpu.map((ms, i) => (ms * 1000) / Math.max(1, perNode[i] ?? 0));
  for (const c of clients) c.socket.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { label, sent, expected, delivered: count(), seconds: elapsed, p50: q(0.5), p99: q(0.99), usPerDelivery, redisCpu };
}

async function main() {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '100' },
      senders: { type: 'string', default: '4' },
      rate: { type: 'string', default: '400' },
      seconds: { type: 'string', default: '3' },
      nodes: { type: 'string', default: '1,2,3' },
      delivery: { type: 'string', default: 'pubsub,stream,stream+history' },
    },
  });
  const o = { clients: Number(values.clients), senders: Number(values.senders), rate: Number(values.rate), seconds: Number(values.seconds) };
  const results = [];
  const plans = [['1 node, in memory', false, 1, 'memory']];
  const deliveries = values.delivery.split(',');
  for (const n of values.nodes.split(',').map(Number)) {
    for (const d of deliveries) plans.push([`${n} node${n > 1 ? 's' : ''}, Redis ${d}`, true, n, d]);
  }
  for (const [label, clustered, n, delivery] of plans) {
    // A fresh Redis per setup: killed nodes leave leases behind.
    const redis = clustered ? await startRedisServer() : undefined;
    const nodes = [];
    try {
      for (let i = 0; i < n; i++) nodes.push(await spawnNode(redis?.url, `bench${results.length}-${i}`, delivery));
      results.push(
        await scenario(
          label,
          nodes.map((x) => x.port),
          o,
          { nodes: nodes.map((x) => x.child.pid), redis: redis?.pid },
        ),
      );
    } finally {
      for (const x of nodes) {
        x.child.kill('SIGKILL');
        await rm(x.dir, { recursive: true, force: true });
      }
      await redis?.stop('SIGKILL');
    }
  }
  const fmt = (n, d = 1) => n.toFixed(d);
  console.log(`clients ${o.clients}, senders ${o.senders}, ${o.rate} broadcasts/s for ${o.seconds} s (${o.rate * (o.clients - 1)} deliveries/s offered)\n`);
  console.log('| setup | delivered / expected | delivered/s | p50 ms | p99 ms | µs CPU / delivery, each node | Redis CPU ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const nodes = r.usPerDelivery.map((u) => fmt(u, 2)).join(' / ');
    const redisCpu = Number.isNaN(r.redisCpu) ? '–' : fmt(r.redisCpu, 0);
    console.log(
      `| ${r.label} | ${r.delivered} / ${r.expected} | ${Math.round(r.delivered / r.seconds)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${nodes} | ${redisCpu} |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
