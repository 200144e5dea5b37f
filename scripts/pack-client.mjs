#!/usr/bin/env node
// `npm run pack:client`: builds the terminal client and packs it into
// dist/parley-tui-client-<version>.tgz, ready for `npm i -g <file>` on any
// machine with Node >= 20.19 (the Parley packages are bundled inside).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
if (!existsSync(join(root, 'node_modules', '.modules.yaml')) && pnpm(['install', '--frozen-lockfile', '--prefer-offline']) !== 0) process.exit(1);
if (pnpm(['exec', 'turbo', 'run', 'build', '--filter=@parley/tui-client...', '--output-logs=errors-only']) !== 0) process.exit(1);
mkdirSync(out, { recursive: true });
process.exit(pnpm(['--filter', '@parley/tui-client', 'pack', '--pack-destination', out]));
