#!/usr/bin/env node
// Fan-out with history on beside history off, in the same run (issue 15):
// parley-harness' fan-out load (200 clients, each sending 8 broadcasts/s,
// 64-byte lines) against a spawned parley-server with `--history off`, then
// with `--history on` and a fresh --data-dir, alternating, `--reps` times each.
// Prints a Markdown table of every run and the medians.
//
//   node bench/history/fanout.mjs [--clients 200] [--rate 8] [--duration 10] [--reps 2] [--toggle history|accounts]
// --toggle accounts compares `--accounts off` with `--accounts on` instead (history off
// in both): issue 16's "fan-out unchanged with accounts on".
//
// Build first: node scripts/pnpm.mjs exec turbo run build
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const harness = join(root, 'packages', 'test-harness', 'dist', 'bin.js');
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    rate: { type: 'string', default: '8' },
    duration: { type: 'string', default: '10' },
    reps: { type: 'string', default: '2' },
    toggle: { type: 'string', default: 'history' },
  },
});

function run(history) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-history-'));
  const args = [harness, 'load', 'fanout', '-c', values.clients, '-r', values.rate, '-d', values.duration, '--json'];
  if (values.toggle === 'accounts')
    args.push('--server-arg=--history=off', `--server-arg=--accounts=${history ? 'on' : 'off'}`, `--server-arg=--data-dir=${dir}`);
  else if (history) args.push('--server-arg=--history=on', `--server-arg=--data-dir=${dir}`);
  const load = loadavg()[0];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`harness failed:\n${r.stderr}${r.stdout}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  const result = JSON.parse(line);
  const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  rmSync(dir, { recursive: true, force: true });
  return { history, load, bytes, ...result };
}

const runs = [];
for (let i = 0; i < Number(values.reps); i++) {
  runs.push(run(false));
  runs.push(run(true));
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (n, d = 2) => n.toFixed(d);
console.log(`fan-out ${values.clients} × ${values.rate} msg/s, ${values.duration} s, ${values.reps} runs each, alternating\n`);
console.log(
  `| ${values.toggle} | delivered/s (offered/s) | lost / dup / reordered | p50 ms | p99 ms | server CPU | µs per delivery | others' CPU | load avg | database bytes |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of runs) {
  console.log(
    `| ${r.history ? 'on' : 'off'} | ${Math.round(r.deliveredPerSec)} (${Math.round(r.offeredPerSec)}) | ${r.lost} / ${r.duplicated} / ${r.reordered} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${Math.round(r.serverCpu * 100)} % | ${f(r.serverUsPerDelivery)} | ${Math.round(r.othersCpu * 100)} % | ${f(r.load, 1)} | ${r.history ? r.bytes : '–'} |`,
  );
}
const off = runs.filter((r) => !r.history);
const on = runs.filter((r) => r.history);
const mOff = median(off.map((r) => r.serverUsPerDelivery));
const mOn = median(on.map((r) => r.serverUsPerDelivery));
console.log(
  `\nmedian µs per delivery: off ${f(mOff)}, on ${f(mOn)} (${f(((mOn - mOff) / mOff) * 100, 1)} %); median p99: off ${f(median(off.map((r) => r.p99Ms)))} ms, on ${f(median(on.map((r) => r.p99Ms)))} ms`,
);
