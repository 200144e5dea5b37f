#!/usr/bin/env node
// Times whole commands from exec to exit, hyperfine-style: each command is run
// --runs times (interleaved, so a burst of load hits every row alike) after
// --warmup untimed runs, and the median, p90, min and max wall times are printed.
//   node bench/startup/runner.mjs [--runs 20] [--warmup 3] [--json] -- 'label=cmd arg …' …
// A command is split on spaces (no shell); it must exit 0 unless its label ends with '!'.
// Each run also records the CPU time (user + system) of the command and its
// children (/usr/bin/time), which a loaded machine inflates far less than wall time.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Parses argv: options first, then `--`, then label=command strings. */
export function parseArgs(argv) {
  const o = { runs: 20, warmup: 3, json: false, rows: [] };
  let i = 0;
  for (; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === '--runs') o.runs = Number(argv[++i]);
    else if (argv[i] === '--warmup') o.warmup = Number(argv[++i]);
    else if (argv[i] === '--json') o.json = true;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  for (const s of argv.slice(i + 1)) {
    const eq = s.indexOf('=');
    const label = s.slice(0, eq);
    o.rows.push({
      label: label.replace(/!$/, ''),
      mayFail: label.endsWith('!'),
      cmd: s
        .slice(eq + 1)
        .split(' ')
        .filter(Boolean),
    });
  }
  return o;
}

const TIME_OUT = join(tmpdir(), `parley-runner-${process.pid}.time`);

/** Runs one command to its exit; returns wall milliseconds and CPU milliseconds (user + system). */
export function timeOnce(cmd, mayFail = false, env = process.env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', TIME_OUT, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !mayFail) throw new Error(`${cmd.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  const [user = 0, sys = 0] = readFileSync(TIME_OUT, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  rmSync(TIME_OUT, { force: true });
  return { ms, cpuMs: (user + sys) * 1000 };
}

export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, median: q(0.5), p90: q(0.9), min: s[0], max: s.at(-1) };
}

export function timeRows(rows, runs, warmup) {
  const times = rows.map(() => []);
  const cpu = rows.map(() => []);
  for (let r = 0; r < warmup + runs; r++) {
    rows.forEach((row, k) => {
      const t = timeOnce(row.cmd, row.mayFail);
      if (r >= warmup) {
        times[k].push(t.ms);
        cpu[k].push(t.cpuMs);
      }
    });
  }
  return rows.map((row, k) => ({ label: row.label, cmd: row.cmd.join(' '), ...stats(times[k]), cpuMedian: stats(cpu[k]).median }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseArgs(process.argv.slice(2));
  const before = loadavg()[0];
  const res = timeRows(o.rows, o.runs, o.warmup);
  const after = loadavg()[0];
  if (o.json) process.stdout.write(`${JSON.stringify({ loadBefore: before, loadAfter: after, rows: res })}\n`);
  else {
    process.stdout.write('| command | runs | median ms | p90 ms | min | max | CPU ms (median) |\n|---|--:|--:|--:|--:|--:|--:|\n');
    for (const r of res) {
      const cells = [r.median, r.p90, r.min, r.max, r.cpuMedian].map((x) => x.toFixed(0)).join(' | ');
      process.stdout.write(`| ${r.label} (\`${r.cmd}\`) | ${r.n} | ${cells} |\n`);
    }
    process.stdout.write(`\nload average (1 min) before ${before.toFixed(2)}, after ${after.toFixed(2)}\n`);
  }
}
