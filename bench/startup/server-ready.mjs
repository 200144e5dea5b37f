#!/usr/bin/env node
// Times a Parley server start from exec: to its "parley-server ready" line on
// stdout, and to the first client accepted (a TCP connect, the nickname, the
// server's `welcome`), polling the port from another process as a
// supervisor's health check would. Each run is a fresh process in a fresh
// data folder; --runs runs, median/p90/min/max printed.
// Several --bin are run in turn (interleaved), so load on a shared machine hits each alike.
//   node bench/startup/server-ready.mjs [--runs 20] [--bin packages/server/dist/bin.js]… [-- extra server args]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stats } from './runner.mjs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash < 0 ? argv : argv.slice(0, dash);
const extra = dash < 0 ? [] : argv.slice(dash + 1);
const opt = (name, dflt) => (own.includes(name) ? own[own.indexOf(name) + 1] : dflt);
const runs = Number(opt('--runs', 20));
const bins = own.flatMap((a, i) => (a === '--bin' ? [own[i + 1]] : []));
if (bins.length === 0) bins.push('packages/server/dist/bin.js');

/** A port free right now (the server binds it a moment later; a clash would show as an early exit). */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Connects, sends a nickname and waits for `welcome`; resolves true, or false when refused/closed. */
function joinOnce(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setNoDelay(true);
    s.on('connect', () => s.write('probe\n'));
    s.on('data', (d) => {
      buf += d;
      if (/^welcome/mu.test(buf)) {
        s.destroy();
        resolve(true);
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

async function once(bin) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'parley-ready-'));
  const t0 = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const child = spawn(
    process.execPath,
    [bin, '--host', '127.0.0.1', '--port', String(port), '--udp-port', '0', '--files-dir', join(dir, 'files'), '--data-dir', join(dir, 'data'), ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('parley-server ready')) resolve(ms());
    });
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  let joined;
  while (joined === undefined) {
    if (await joinOnce(port)) joined = ms();
    else await new Promise((r) => setTimeout(r, 2));
    if (ms() > 20_000) throw new Error(`no join within 20 s: ${out}`);
  }
  const readyMs = await ready;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
  return { readyMs, joinedMs: joined };
}

const before = loadavg()[0];
const results = bins.map(() => []);
for (let i = 0; i < runs + 2; i++) {
  for (const [k, bin] of bins.entries()) {
    const r = await once(bin);
    if (i >= 2) results[k].push(r); // two warm-up runs (page cache)
  }
}
const fmt = (s) => `${s.median.toFixed(0)} | ${s.p90.toFixed(0)} | ${s.min.toFixed(0)} | ${s.max.toFixed(0)}`;
process.stdout.write(`| server (${extra.join(' ') || 'default options'}) | measured | runs | median ms | p90 | min | max |\n|---|---|--:|--:|--:|--:|--:|\n`);
for (const [k, bin] of bins.entries()) {
  process.stdout.write(`| ${bin} | exec → ready line | ${runs} | ${fmt(stats(results[k].map((r) => r.readyMs)))} |\n`);
  process.stdout.write(`| ${bin} | exec → first join welcomed | ${runs} | ${fmt(stats(results[k].map((r) => r.joinedMs)))} |\n`);
}
process.stdout.write(`\nload average (1 min) before ${before.toFixed(2)}, after ${loadavg()[0].toFixed(2)}\n`);
