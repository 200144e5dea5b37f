#!/usr/bin/env node
// Bundles the server's command (src/bin.ts) into dist/bin.js (over tsc's own
// dist/bin.js) and chunks beside it (dist/parley-server-*.js), with yargs and
// the workspace packages (@parley/protocol, @parley/udp-transfer) and pino
// inside.
// Node then reads a few files at start instead of ≈ 300 (yargs alone is ≈ 60
// ESM files), which was most of the time from exec to "ready"
// (bench/startup/RESULTS.md); pino bundled starts ≈ 50 ms sooner than pino
// read from its ≈ 20 CommonJS files. The other npm dependencies stay normal
// imports: pino-pretty (loaded only for a terminal) and pino's transports
// start worker threads by file name (the server uses neither in JSON mode and
// no transports at all), libsql is native,
// ioredis and prom-client are loaded only when used. The tsc output (dist/*.js)
// stays what `@parley/server` exports. The transfer's optional addons are
// copied beside the bundle, where udp-transfer looks for them.
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { asciiStringWidth, assertStandIn } from '../../../scripts/esbuild-start-up.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Bundled: pure JavaScript that is read at every start. */
const INSIDE = new Set(['yargs', 'pino', '@parley/protocol', '@parley/udp-transfer']);

for (const f of readdirSync(dist)) if (/^parley-server-.*\.js(\.map)?$/u.test(f)) rmSync(join(dist, f));

await build({
  entryPoints: { bin: join(root, 'src', 'bin.ts') },
  outdir: dist,
  chunkNames: 'parley-server-[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: Object.keys(pkg.dependencies ?? {}).filter((d) => !INSIDE.has(d)),
  // pino is CommonJS and require()s Node's built-ins; an ESM bundle has no `require` of its own.
  banner: { js: "import { createRequire as parleyCreateRequire } from 'node:module'; const require = parleyCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [asciiStringWidth, assertStandIn],
});

const addons = join(root, 'node_modules', '@parley', 'udp-transfer', 'build');
if (existsSync(addons)) for (const f of readdirSync(addons)) if (f.endsWith('.node')) copyFileSync(join(addons, f), join(dist, f));
