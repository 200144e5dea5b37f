/**
 * Fan-out benchmark: the same clients on 1 node (in-memory hub), 1 node on
 * Redis, and 2 or 3 nodes on Redis; each node in its own process, the clients
 * in this one, a throw-away redis-server. Prints a Markdown table.
 *
 *   node packages/server/dist/cluster/bench.js [--clients 100] [--senders 4] [--rate 400] [--seconds 3] [--nodes 1,2,3]
 *
 * `--rate` is broadcasts per second from all senders together; each goes to
 * every other client, so deliveries/s ≈ rate × (clients − 1) when keeping up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ChatServer } from '../chat-server.js';
import { FileLibrary } from '../file-library.js';
import { createRedisHub } from './index.js';
import { startRedisServer } from './redis-server.js';

const self = fileURLToPath(import.meta.url);

async function runNode(redisUrl: string | undefined, nodeId: string): Promise<void> {
  const log = pino({ level: 'warn' }, process.stderr);
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  const files = new FileLibrary(dir);
  await files.ensure();
  const hub = redisUrl ? await createRedisHub({ url: redisUrl, log, nodeId }) : undefined;
  const chat = new ChatServer({
    files,
    log,
    hub,
    options: { rate: 1e6, burst: 1e6, maxClients: 100_000, maxQueuedBytes: 64 * 1024 * 1024 },
  });
  const { port } = await chat.listen(0, '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.on('SIGTERM', () => {
    void chat.close(200).then(() => rm(dir, { recursive: true, force: true })).then(() => process.exit(0));
  });
}

interface NodeProc {
  readonly child: ChildProcess;
  readonly port: number;
}

function spawnNode(redisUrl: string | undefined, nodeId: string): Promise<NodeProc> {
  const args = [self, 'node', '--id', nodeId];
  if (redisUrl) args.push('--redis', redisUrl);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port });
    });
    child.once('exit', (code) => reject(new Error(`bench node ${nodeId} exited (${code})`)));
  });
}

/** A client that counts broadcast lines and measures their latency from the timestamp in the text. */
class BenchClient {
  received = 0;
  /** Nicks this client has seen join. */
  readonly joined = new Set<string>();
  readonly latencies: number[];
  #buf = '';
  #onLine: ((line: string) => void) | undefined;
  private constructor(
    readonly socket: Socket,
    latencies: number[],
  ) {
    this.latencies = latencies;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const data = this.#buf + chunk;
      let start = 0;
      let nl: number;
      while ((nl = data.indexOf('\n', start)) !== -1) {
        this.#line(data, start, nl);
        start = nl + 1;
      }
      this.#buf = data.slice(start);
    });
  }

  static async join(port: number, nick: string, latencies: number[]): Promise<BenchClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new BenchClient(socket, latencies);
    await c.until((l) => l.startsWith('online '), () => socket.write(`${nick}\n`));
    return c;
  }

  #line(data: string, start: number, end: number): void {
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

  until(match: (line: string) => boolean, then: () => void): Promise<void> {
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

interface Result {
  readonly label: string;
  readonly sent: number;
  readonly expected: number;
  readonly delivered: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
}

async function scenario(label: string, ports: number[], o: { clients: number; senders: number; rate: number; seconds: number }): Promise<Result> {
  const latencies: number[] = [];
  const clients: BenchClient[] = [];
  for (let i = 0; i < o.clients; i++) clients.push(await BenchClient.join(ports[i % ports.length] as number, `c${i}`, latencies));
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
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      due += perTick;
      while (sent < Math.min(total, Math.floor(due))) {
        const s = senders[sent % senders.length] as BenchClient;
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
  const count = (): number => clients.reduce((n, c) => n + c.received, 0);
  while (count() < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const elapsed = (performance.now() - t0) / 1000;
  for (const c of clients) c.socket.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { label, sent, expected, delivered: count(), seconds: elapsed, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      clients: { type: 'string', default: '100' },
      senders: { type: 'string', default: '4' },
      rate: { type: 'string', default: '400' },
      seconds: { type: 'string', default: '3' },
      nodes: { type: 'string', default: '1,2,3' },
      id: { type: 'string', default: 'bench' },
      redis: { type: 'string' },
    },
  });
  if (positionals[0] === 'node') return runNode(values.redis, values.id);
  const o = { clients: Number(values.clients), senders: Number(values.senders), rate: Number(values.rate), seconds: Number(values.seconds) };
  const redis = await startRedisServer();
  const results: Result[] = [];
  try {
    const plans: Array<[string, string | undefined, number]> = [['1 node, in memory', undefined, 1]];
    for (const n of values.nodes.split(',').map(Number)) plans.push([`${n} node${n > 1 ? 's' : ''}, Redis`, redis.url, n]);
    for (const [label, url, n] of plans) {
      const nodes: NodeProc[] = [];
      for (let i = 0; i < n; i++) nodes.push(await spawnNode(url, `bench${results.length}-${i}`));
      try {
        results.push(await scenario(label, nodes.map((x) => x.port), o));
      } finally {
        for (const x of nodes) x.child.kill('SIGKILL');
      }
      if (url) await fetchFlush(redis.port);
    }
  } finally {
    await redis.stop('SIGKILL');
  }
  const fmt = (n: number, d = 1): string => n.toFixed(d);
  console.log(`clients ${o.clients}, senders ${o.senders}, ${o.rate} broadcasts/s for ${o.seconds} s (${o.rate * (o.clients - 1)} deliveries/s offered)\n`);
  console.log('| setup | delivered / expected | delivered/s | p50 ms | p99 ms |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of results) {
    console.log(`| ${r.label} | ${r.delivered} / ${r.expected} | ${Math.round(r.delivered / r.seconds)} | ${fmt(r.p50)} | ${fmt(r.p99)} |`);
  }
}

/** Empties Redis between runs (killed nodes leave leases behind). */
async function fetchFlush(port: number): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(port, '127.0.0.1');
  await r.flushall();
  r.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
