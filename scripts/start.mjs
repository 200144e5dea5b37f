#!/usr/bin/env node
// `npm start`: install and build when needed, then run parley-server with
// sensible defaults (chat on TCP 55000, downloads on UDP 57000, files from
// ./files, created on first start). Extra options go after `--`:
//   npm start -- --port 6000 --files-dir /srv/parley
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages', 'server', 'dist', 'bin.js');

if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) {
  if (pnpm(['install', '--frozen-lockfile', '--prefer-offline']) !== 0) process.exit(1);
}
if (pnpm(['exec', 'turbo', 'run', 'build', '--filter=@parley/server...', '--output-logs=errors-only']) !== 0) process.exit(1);

const child = spawn(process.execPath, [bin, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
