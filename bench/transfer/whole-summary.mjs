#!/usr/bin/env node
// Reads whole-command.sh output and prints markdown: per loss and size, the
// median (and range) exec → exit time of each row, MB/s for the median, and
// the traced phase split of each client build.
//   node bench/transfer/whole-summary.mjs run.txt
import { readFileSync } from 'node:fs';

const rows = new Map();
const phases = [];
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  const m = /^(\S+) (\S+) (\S+) (\{.*?\})(?: (ok|CORRUPT))?/u.exec(line);
  if (!m || m[2] === '-') continue;
  const [, loss, mb, row, json, check] = m;
  const j = JSON.parse(json);
  if (row.endsWith('-phases')) phases.push({ loss, mb, row: row.replace(/-phases$/u, ''), ...j, check });
  else {
    const k = `${loss}|${mb}|${row}`;
    if (!rows.has(k)) rows.set(k, { loss, mb, row, ms: [], bad: 0 });
    const r = rows.get(k);
    if (check === 'ok' && j.rc === 0) r.ms.push(j.ms);
    else r.bad++;
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
process.stdout.write('| loss | file | command | exec → exit, median (runs) | MB/s at the median | failed |\n|--:|--:|---|--:|--:|--:|\n');
for (const r of rows.values()) {
  const med = median(r.ms);
  const mbps = ((Number(r.mb) * 1.048576) / (med / 1000)).toFixed(1);
  process.stdout.write(`| ${r.loss} % | ${r.mb} MB | ${r.row} | ${med.toFixed(0)} ms (${r.ms.join(', ')}) | ${mbps} | ${r.bad} |\n`);
}
process.stdout.write(
  '\n| loss | file | client | start-up | join | offer | first DATA | transfer | verify | exit | total (traced) |\n|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|\n',
);
for (const p of phases) {
  const c = ['startup', 'join', 'offer', 'firstData', 'transfer', 'verify', 'exit', 'total'].map((k) => (p[k] === null ? '–' : Math.round(p[k]))).join(' | ');
  process.stdout.write(`| ${p.loss} % | ${p.mb} MB | ${p.row} | ${c} |\n`);
}
