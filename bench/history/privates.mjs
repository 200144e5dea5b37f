#!/usr/bin/env node
// A history answer for a third user in a store full of other people's private
// messages: the merged per-index query the server uses (migration 2) against
// the single scan with OR it replaced, on the same database file.
//   node bench/history/privates.mjs [--privates 200000]
// Build first: node scripts/pnpm.mjs exec turbo run build
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const serverDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'server');
const require = createRequire(join(serverDir, 'package.json'));
const { pino } = require('pino');
const Database = require('libsql');
const { SqliteStore } = await import(join(serverDir, 'dist', 'index.js'));
const { values } = parseArgs({ options: { privates: { type: 'string', default: '200000' } } });
const N = Number(values.privates);

const dir = mkdtempSync(join(tmpdir(), 'parley-bench-privates-'));
const s = new SqliteStore({ dir, maxMessages: 100_000_000, maxAgeMs: 0, privateGraceMs: 0, log: pino({ level: 'silent' }) }, Date.now());
for (let i = 0; i < 100; i++) s.append({ kind: 'broadcast', from: 'a', fromKey: 'a', fromTenure: 1, text: `public ${i}` }, Date.now());
for (let i = 0; i < N; i++) {
  s.append({ kind: 'private', from: 'x', fromKey: 'x', fromTenure: 2, to: 'y', toKey: 'y', toTenure: 3, text: 'between x and y' }, Date.now());
  if (i % 1000 === 999) s.commitPending();
}
s.commitPending();
const time = (f) => {
  f();
  const t = performance.now();
  for (let i = 0; i < 20; i++) f();
  return (performance.now() - t) / 20;
};
const viewer = { key: 'carol', tenure: 9 };
console.log(`100 broadcasts, then ${N} private messages between two other users; carol asks (mean of 20)\n`);
console.log('| question | answer | merged indexes (now) | one scan with OR (before) |');
console.log('| --- | --- | --- | --- |');
const db = new Database(join(dir, 'history.db'));
const or = (where, order) =>
  db
    .prepare(
      `SELECT id FROM messages WHERE ${where} (kind = 0 OR (sender_key = 'carol' AND sender_tenure = 9) OR (recipient_key = 'carol' AND recipient_tenure = 9)) ORDER BY id ${order} LIMIT 51`,
    )
    .raw(true);
const cases = [
  ['history (last 50)', { form: 'last', count: 50 }, or('', 'DESC')],
  [`history,before,${N}`, { form: 'before', id: String(N), count: 50 }, or(`id < ${N} AND`, 'DESC')],
  ['history,after,1', { form: 'after', id: '1', count: 500 }, or('id > 1 AND', 'ASC')],
];
for (const [label, query, old] of cases) {
  const answer = s.query(viewer, query, 1e9, () => 1).messages.length;
  console.log(
    `| \`${label}\` | ${answer} messages | ${time(() => s.query(viewer, query, 1e9, () => 1)).toFixed(2)} ms | ${time(() => old.all()).toFixed(2)} ms |`,
  );
}
db.close();
s.close();
rmSync(dir, { recursive: true, force: true });
