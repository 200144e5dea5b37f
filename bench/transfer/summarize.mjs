#!/usr/bin/env node
// Turns bench.sh output ("<loss> <tool> <json> …" lines) into a Markdown table of medians.
// Usage: node summarize.mjs run.txt [more.txt …]
import { readFileSync } from 'node:fs';

const rows = new Map(); // tool -> loss -> [MBps]
const cpu = new Map(); // loss -> { client: [], server: [] } ms per MB for Parley
const losses = new Set();
for (const file of process.argv.slice(2)) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\S+) (\S+) (\{.*?\})(?: (\{.*\}))?(?: (ok|CORRUPT))?\s*$/.exec(line);
    if (!m) continue;
    const [, loss, tool, json, extra, check] = m;
    let v;
    try { v = JSON.parse(json); } catch { continue; }
    losses.add(loss);
    if (!rows.has(tool)) rows.set(tool, new Map());
    const byLoss = rows.get(tool);
    if (!byLoss.has(loss)) byLoss.set(loss, []);
    if (check === 'CORRUPT') byLoss.get(loss).push('corrupt');
    else if (v.unfinished) byLoss.get(loss).push(`unfinished (${(v.bytesIn60s / 1e6 / 60).toFixed(2)} in 60 s)`);
    else if (typeof v.MBps === 'number') byLoss.get(loss).push(v.MBps);
    if (tool === 'parley' && extra) {
      const s = JSON.parse(extra);
      const mb = v.bytes / 1e6;
      if (!cpu.has(loss)) cpu.set(loss, { client: [], server: [] });
      cpu.get(loss).client.push((v.cpuUserMs + v.cpuSysMs) / mb);
      cpu.get(loss).server.push((s.cpuUserMs + s.cpuSysMs) / mb);
    }
  }
}
const median = (xs) => {
  const nums = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (nums.length === 0) return xs[0] ?? '–';
  const mid = Math.floor(nums.length / 2);
  const med = nums.length % 2 ? nums[mid] : (nums[mid - 1] + nums[mid]) / 2;
  return `${med.toFixed(1)}${nums.length > 1 ? ` (n=${nums.length})` : ''}`;
};
const ls = [...losses].sort((a, b) => Number(a) - Number(b));
console.log(`| tool | ${ls.map((l) => `${l} % loss`).join(' | ')} |`);
console.log(`|---|${ls.map(() => '--:').join('|')}|`);
for (const [tool, byLoss] of rows) {
  if (tool === 'nft-drops') continue;
  console.log(`| ${tool} | ${ls.map((l) => median(byLoss.get(l) ?? [])).join(' | ')} |`);
}
console.log('');
console.log(`| Parley CPU ms per MB | ${ls.map((l) => `${l} %`).join(' | ')} |`);
console.log(`|---|${ls.map(() => '--:').join('|')}|`);
for (const side of ['client', 'server']) {
  console.log(`| ${side} | ${ls.map((l) => median(cpu.get(l)?.[side] ?? [])).join(' | ')} |`);
}
