#!/usr/bin/env node
// `npm run fuzz`: every fuzz target of packages/protocol (test/fuzz/targets.ts)
// with the full budget, through vitest (which runs the TypeScript sources), with
// --expose-gc so heap growth is measured after a collection. Ends with one line
// per target: inputs, crashes, slowest input, heap growth.
//
//   PARLEY_FUZZ_RUNS     inputs per target (default 1000000)
//   PARLEY_FUZZ_SEED     run seed (default: a random one, printed)
//   PARLEY_FUZZ_TARGETS  comma-separated target names (default: all)
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protocol = join(root, 'packages', 'protocol');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const runs = process.env.PARLEY_FUZZ_RUNS ?? '1000000';
const seed = process.env.PARLEY_FUZZ_SEED ?? String(randomInt(0, 2 ** 32));
const dir = mkdtempSync(join(tmpdir(), 'parley-fuzz-'));
const report = join(dir, 'results.jsonl');

console.log(`fuzz: ${runs} inputs per target, seed ${seed}${process.env.PARLEY_FUZZ_TARGETS ? `, targets ${process.env.PARLEY_FUZZ_TARGETS}` : ''}`);
const started = Date.now();
const child = spawnSync(process.execPath, [vitest, 'run', 'test/fuzz/fuzz.test.ts'], {
  cwd: protocol,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    PARLEY_FUZZ_RUNS: runs,
    PARLEY_FUZZ_SEED: seed,
    PARLEY_FUZZ_REPORT: report,
    // biome-ignore lint/suspicious/noUndeclaredEnvVars: the fuzzer runs outside turbo; the user's NODE_OPTIONS pass through.
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim(),
  },
});

const results = existsSync(report)
  ? readFileSync(report, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
rmSync(dir, { recursive: true, force: true });

const kib = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / 1024).toFixed(0)} KiB`;
let crashes = 0;
console.log(`\nfuzz results (seed ${seed}, ${((Date.now() - started) / 1000).toFixed(0)} s, node ${process.version}):`);
for (const r of results.filter((x) => x.target)) {
  crashes += r.crashes;
  const findings = Object.entries(r.findings ?? {})
    .map(([id, f]) => `; known finding ${id} ×${f.count} (e.g. ${f.example})`)
    .join('');
  console.log(
    `${r.target}: inputs ${r.inputs}, crashes ${r.crashes}, max ${r.maxMs.toFixed(2)} ms per input (#${r.maxMsIndex}; ${r.maxMsRerun.toFixed(3)} ms run alone; ${r.over10ms} inputs over 10 ms), ` +
      `mean ${((r.totalMs * 1000) / r.inputs).toFixed(1)} µs, heap growth ${kib(r.heapAfter - r.heapBefore)}${r.gc ? '' : ' (no gc)'}` +
      `${r.note ? `; ${r.note}` : ''}${findings}`,
  );
  for (const f of r.failures) console.log(`  FAILED #${f.index}: ${f.message.split('\n')[0]}\n    input: ${f.input}`);
}
for (const m of results.filter((x) => x.measure)) {
  console.log(
    `${m.measure}: a ${m.lineBytes}-byte unfinished line sent one byte per read: pendingBytes ${m.pendingBytes}, ` +
      `retained ${(m.retainedBytesPerDecoder / 1024).toFixed(0)} KiB per decoder (${(m.retainedBytesPerDecoder / m.lineBytes).toFixed(0)}× the bytes; mean of ${m.decoders})`,
  );
}
if (crashes > 0)
  console.log(`reproduce one input: PARLEY_FUZZ_SEED=${seed} PARLEY_FUZZ_TARGETS=<target> PARLEY_FUZZ_FROM=<index> PARLEY_FUZZ_RUNS=1 npm run fuzz`);
const ok = child.status === 0 && crashes === 0 && results.length > 0;
console.log(`fuzz: ${results.filter((x) => x.target).length} targets, ${crashes} crashes${ok ? '' : ' — FAILED'}`);
process.exit(ok ? 0 : 1);
