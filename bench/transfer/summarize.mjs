#!/usr/bin/env node
// Turns bench.sh output ("<loss> <tool> <json> …" lines) into a Markdown table of medians.
// Usage: [RANGE=1] node summarize.mjs run.txt [more.txt …]   (RANGE=1: each median also shows the lowest–highest value)
import { readFileSync } from 'node:fs';

const rows = new Map(); // tool -> loss -> [MBps]
const cpu = new Map(); // loss -> { client, server, 'client (dgram)', 'server (quic-bbr)', … : [] } ms per MB (Parley and QUIC rows)
const losses = new Set();
for (const file of process.argv.slice(2)) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\S+) (\S+) (\{.*?\})(?: (\{.*\}))?(?: (ok|CORRUPT))?\s*$/.exec(line);
    if (!m) continue;
    const [, loss, tool, json, extra, check] = m;
    let v;
    try {
      v = JSON.parse(json);
    } catch {
      continue;
    }
    losses.add(loss);
    if (!rows.has(tool)) rows.set(tool, new Map());
    const byLoss = rows.get(tool);
    if (!byLoss.has(loss)) byLoss.set(loss, []);
    if (check === 'CORRUPT') byLoss.get(loss).push('corrupt');
    else if (v.unfinished) {
      // TFTP lines carry bytesIn60s, KCP and QUIC lines bytes and s (their time limit)
      const bytes = v.bytes ?? v.bytesIn60s ?? 0;
      const secs = v.s ?? 60;
      byLoss.get(loss).push(`did not finish (${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB in ${secs} s)`);
    } else if (typeof v.MBps === 'number') byLoss.get(loss).push(v.MBps);
    // Rows that carry both sides' CPU: Parley (client JSON, then the server's) and, since issue 14, QUIC.
    if ((tool.startsWith('parley') || tool.startsWith('quic')) && extra && check !== 'CORRUPT' && typeof v.cpuUserMs === 'number') {
      const s = JSON.parse(extra);
      const mb = v.bytes / 1e6;
      const tag = tool === 'parley' ? '' : ` (${tool.startsWith('parley-') ? tool.slice('parley-'.length) : tool})`;
      if (!cpu.has(loss)) cpu.set(loss, {});
      const c = cpu.get(loss);
      (c[`client${tag}`] ??= []).push((v.cpuUserMs + v.cpuSysMs) / mb);
      (c[`server${tag}`] ??= []).push((s.cpuUserMs + s.cpuSysMs) / mb);
    }
  }
}
const median = (xs) => {
  const nums = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  const failed = xs.filter((x) => typeof x !== 'number');
  if (nums.length === 0) return failed.length > 1 ? `${failed[0]} ×${failed.length}` : (failed[0] ?? '–');
  const mid = Math.floor(nums.length / 2);
  const med = nums.length % 2 ? nums[mid] : (nums[mid - 1] + nums[mid]) / 2;
  const notes = [];
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: a bench script run by hand, outside turbo.
  if (nums.length > 1) notes.push(`n=${nums.length}${process.env.RANGE === '1' ? `, ${nums[0].toFixed(1)}–${nums[nums.length - 1].toFixed(1)}` : ''}`);
  if (failed.length) notes.push(`${failed.length} more: ${failed.join(', ')}`);
  return `${med.toFixed(1)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
};
const ls = [...losses].sort((a, b) => Number(a) - Number(b));
console.log(`| tool | ${ls.map((l) => `${l} % loss`).join(' | ')} |`);
console.log(`|---|${ls.map(() => '--:').join('|')}|`);
// Known tools in a fixed order (ceiling, Parley, TCP copies, TFTP, KCP, QUIC, kernel TCP); others after them.
const order = [
  'raw-dgram',
  'parley',
  'parley-sealed',
  'parley-sealed-js',
  'parley-dgram',
  'parley-warm',
  'node-net',
  'node-net-warm',
  'nc',
  'tftp-stopwait',
  'tftp-window16',
  'kcp-fast3',
  'kcp-fast3-fec',
  'quic-cubic',
  'quic-bbr',
  'iperf3',
];
const rank = (t) => (order.includes(t) ? order.indexOf(t) : order.length);
const tools = [...rows.keys()].sort((a, b) => rank(a) - rank(b)); // stable: unknown tools keep input order
for (const tool of tools) {
  const byLoss = rows.get(tool);
  if (tool === 'nft-drops') continue;
  console.log(`| ${tool} | ${ls.map((l) => median(byLoss.get(l) ?? [])).join(' | ')} |`);
}
// Rows of the same run side by side: the k-th measurement of a tool against the k-th of plain Parley at the
// same loss (bench.sh runs them back to back), so a shared machine's drift cancels out of the ratio.
if (rows.has('parley')) {
  const ratioTools = tools.filter((t) => t !== 'parley' && t !== 'nft-drops' && (t.startsWith('parley-') || t.startsWith('quic-')));
  if (ratioTools.length > 0) {
    console.log('');
    console.log(`| ÷ plain Parley, run by run (%) | ${ls.map((l) => `${l} %`).join(' | ')} |`);
    console.log(`|---|${ls.map(() => '--:').join('|')}|`);
    for (const tool of ratioTools) {
      const cells = ls.map((l) => {
        const base = rows.get('parley').get(l) ?? [];
        const mine = rows.get(tool).get(l) ?? [];
        const r = [];
        for (let k = 0; k < Math.min(base.length, mine.length); k++)
          if (typeof base[k] === 'number' && typeof mine[k] === 'number') r.push((100 * mine[k]) / base[k]);
        return median(r);
      });
      console.log(`| ${tool} | ${cells.join(' | ')} |`);
    }
  }
}
console.log('');
console.log(`| CPU ms per MB (user + sys) | ${ls.map((l) => `${l} %`).join(' | ')} |`);
console.log(`|---|${ls.map(() => '--:').join('|')}|`);
for (const side of [
  'client',
  'server',
  'client (sealed)',
  'server (sealed)',
  'client (sealed-js)',
  'server (sealed-js)',
  'client (warm)',
  'server (warm)',
  'client (dgram)',
  'server (dgram)',
  'client (quic-cubic)',
  'server (quic-cubic)',
  'client (quic-bbr)',
  'server (quic-bbr)',
]) {
  if (!ls.some((l) => cpu.get(l)?.[side])) continue;
  console.log(`| ${side} | ${ls.map((l) => median(cpu.get(l)?.[side] ?? [])).join(' | ')} |`);
}
