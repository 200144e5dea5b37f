#!/usr/bin/env node
// What cluster history costs Redis: memory per stored message and append
// rate, through the hub's own Lua scripts (STREAM_BROADCAST, STREAM_PRIVATE)
// on a throw-away redis-server. Broadcasts go into the room stream; each
// private into an inbox and both parties' private streams (three copies).
//
//   node bench/cluster/stream-size.mjs [--messages 100000] [--text 60] [--pipeline 100]
//
// Build first: node scripts/pnpm.mjs exec turbo run build
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../../packages/test-support/dist/index.js';
import { STREAM_BROADCAST, STREAM_PRIVATE } from '../../packages/server/dist/cluster/scripts.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { Redis } = createRequire(join(root, 'packages', 'server', 'package.json'))('ioredis');

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    text: { type: 'string', default: '60' },
    pipeline: { type: 'string', default: '100' },
  },
});
const n = Number(values.messages);
const text = 'x'.repeat(Number(values.text));
const batch = Number(values.pipeline);
const limits = [1_000_000, 30 * 86_400_000];

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/u.exec(info)?.[1]);
}
async function cpuMs(redis) {
  const info = await redis.info('cpu');
  const f = (k) => Number(new RegExp(`${k}:([0-9.]+)`, 'u').exec(info)?.[1]);
  return (f('used_cpu_sys') + f('used_cpu_user')) * 1000;
}

async function run(label, send) {
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  try {
    redis.defineCommand('b', { numberOfKeys: 0, lua: STREAM_BROADCAST });
    redis.defineCommand('p', { numberOfKeys: 0, lua: STREAM_PRIVATE });
    // Recipients hold leases, as online users do (20 nicks, on one node).
    for (let i = 0; i < 20; i++) await redis.set(`{parley}:lease:u${i}`, `node1 u${i}`);
    const mem0 = await usedMemory(redis);
    const cpu0 = await cpuMs(redis);
    const t0 = performance.now();
    for (let i = 0; i < n; i += batch) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(n, i + batch); j++) send(p, j);
      await p.exec();
    }
    const seconds = (performance.now() - t0) / 1000;
    const bytes = (await usedMemory(redis)) - mem0;
    const cpu = (await cpuMs(redis)) - cpu0;
    return { label, perMessage: bytes / n, rate: n / seconds, cpuUs: (cpu * 1000) / n };
  } finally {
    redis.disconnect();
    await server.stop('SIGKILL');
  }
}

const results = [
  await run('broadcast (room stream)', (p, i) => p.b('node1', `m${i % 20}`, `u${i % 20}`, text, ...limits)),
  await run('private, history on (inbox + 2 private streams)', (p, i) =>
    p.p('node1', `m${i % 20}`, `u${i % 20}`, `u${i % 20}`, `u${(i + 1) % 20}`, text, ...limits, 10_000, 600_000, 1),
  ),
];
console.log(
  `${n} messages of ${text.length} bytes of text, ${batch} per pipeline, Redis ${(await import('node:child_process')).execFileSync('redis-server', ['--version']).toString().split(' ')[2]}\n`,
);
console.log('| message | Redis memory per message | appends/s | Redis CPU per message |');
console.log('| --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.label} | ${r.perMessage.toFixed(0)} B | ${Math.round(r.rate)} | ${r.cpuUs.toFixed(1)} µs |`);
