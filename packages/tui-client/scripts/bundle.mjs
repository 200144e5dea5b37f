#!/usr/bin/env node
// Bundles the client's command (src/bin.ts) with the workspace
// packages it uses (@parley/protocol, @parley/udp-transfer) into
// dist/parley.js, so `npm i -g` of the packed client needs nothing that is not
// on npm. Its npm dependencies (blessed, pino, yargs, …) stay normal imports.
// The transfer's optional native addon (udp_batch.node, Linux, Node-API) is
// copied next to the bundle when it was built; the bundle finds it there, and
// falls back to plain node:dgram where it is missing or cannot load.
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

await build({
  entryPoints: [join(root, 'src', 'bin.ts')],
  outfile: join(root, 'dist', 'parley.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}),
  logLevel: 'warning',
});

const addon = join(dirname(createRequire(import.meta.url).resolve('@parley/udp-transfer/package.json')), 'build', 'udp_batch.node');
rmSync(join(root, 'dist', 'udp_batch.node'), { force: true });
if (existsSync(addon)) copyFileSync(addon, join(root, 'dist', 'udp_batch.node'));
