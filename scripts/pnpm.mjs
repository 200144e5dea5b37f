#!/usr/bin/env node
// Runs the pinned pnpm (from package.json "packageManager") through npx, so a
// fresh machine needs only Node and npm: no corepack, no global pnpm.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pinned = String(pkg.packageManager ?? '').replace(/\+.*$/, '');
if (!pinned.startsWith('pnpm@')) {
  console.error('package.json has no pinned "packageManager": "pnpm@x.y.z"');
  process.exit(2);
}

export function pnpm(args, options = {}) {
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const res = spawnSync(npx, ['-y', pinned, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, COREPACK_ENABLE_STRICT: '0', npm_config_update_notifier: 'false' },
    ...options,
  });
  if (res.error) throw res.error;
  return res.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(pnpm(process.argv.slice(2)));
}
