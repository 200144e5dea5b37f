#!/usr/bin/env node
// `npm run pack:client`: builds the terminal client and packs it into
// dist/parley-tui-client-<version>.tgz (or `--out <folder>`), ready for
// `npm i -g ./dist/parley-tui-client-<version>.tgz` on any machine with
// Node >= 20.19: the Parley packages are bundled inside, there is no native
// code, and the LICENSE is in it. The client's install test packs with this
// script too, so what it installs is what a user installs.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// --skip-build: the client is built already (its install test runs after the build, inside turbo).
const { values } = parseArgs({ options: { out: { type: 'string' }, 'skip-build': { type: 'boolean', default: false } } });
const out = resolve(values.out ?? join(root, 'dist'));
if (!values['skip-build']) {
  if (!existsSync(join(root, 'node_modules', '.modules.yaml')) && pnpm(['install', '--frozen-lockfile', '--prefer-offline']) !== 0) process.exit(1);
  if (pnpm(['exec', 'turbo', 'run', 'build', '--filter=@parley/tui-client...', '--output-logs=errors-only']) !== 0) process.exit(1);
}
mkdirSync(out, { recursive: true });
process.exit(pnpm(['--filter', '@parley/tui-client', 'pack', '--pack-destination', out]));
