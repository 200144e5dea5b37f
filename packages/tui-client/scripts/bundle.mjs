#!/usr/bin/env node
// Bundles the client's command (src/bin.ts) with the workspace
// packages it uses (@parley/protocol, @parley/udp-transfer) into
// dist/parley.js, so `npm i -g` of the packed client needs nothing that is not
// on npm. Its npm dependencies (blessed, pino, yargs, …) stay normal imports.
// The client ships no native code: the transfer's optional addon
// (udp_batch.node) is for the server's sending side; a 100 MB loopback
// download took the same time with and without it on the receiving side
// (README "Install"), and a prebuilt binary would only fit the packing machine.
import { readFileSync, rmSync } from 'node:fs';
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
  define: { PARLEY_CLIENT_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});

// An addon copied here by an older build of this script must not be packed.
rmSync(join(root, 'dist', 'udp_batch.node'), { force: true });
