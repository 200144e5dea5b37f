#!/usr/bin/env node
// The whole test suite, as the README and CI run it: install (pinned pnpm via
// npx), build and typecheck every package, lint (Biome, biome.jsonc), run every
// package's vitest suite, and end with one line: `tests: N passed, M failed`.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reportDir = join(root, '.test-results');
const packages = readdirSync(join(root, 'packages')).filter((p) => existsSync(join(root, 'packages', p, 'package.json')));

function step(name, args, env = {}) {
  process.stderr.write(`\n== ${name}\n`);
  const status = pnpm(args, { env: { ...process.env, ...env, COREPACK_ENABLE_STRICT: '0' } });
  if (status !== 0) process.stderr.write(`== ${name} failed (exit ${status})\n`);
  return status === 0;
}

let ok = step('install', ['install', '--frozen-lockfile', '--prefer-offline']);
ok = ok && step('build + typecheck', ['exec', 'turbo', 'run', 'build', 'typecheck', '--output-logs=errors-only']);
ok = ok && step('lint + format', ['exec', 'biome', 'check', '--error-on-warnings']);

rmSync(reportDir, { recursive: true, force: true });
mkdirSync(reportDir, { recursive: true });
let testsRan = false;
if (ok) {
  testsRan = true;
  // One package at a time: socket and process tests share two cores.
  ok = step('test', ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue'], { PARLEY_TEST_REPORT_DIR: reportDir }) && ok;
}

let passed = 0;
let failed = 0;
for (const p of packages) {
  const file = join(reportDir, `${p}.json`);
  if (!existsSync(file)) {
    if (testsRan) {
      process.stderr.write(`no test report from packages/${p}: counted as one failure\n`);
      failed += 1;
    }
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  // A suite that failed to load reports its tests as neither passed nor failed.
  for (const suite of r.testResults ?? []) if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  process.stderr.write(`packages/${p}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped\n`);
}
if (!testsRan) failed += 1;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
