#!/usr/bin/env node
// Bundles the client's command (src/bin.ts) with the workspace
// packages it uses (@parley/protocol, @parley/udp-transfer) into
// dist/parley.js, so `npm i -g` of the packed client needs nothing that is not
// on npm. Its npm dependencies (blessed, pino, …) stay normal imports; yargs
// (a devDependency) is bundled in, which spares every command the ≈ 60 files
// Node would otherwise resolve and read before parsing its arguments.
// Code splitting keeps what only the chat screen or a download needs in
// chunks of their own (dist/parley-*.js) that `import()` loads when they are
// used: a scripted command never loads blessed or pino (start-up times in
// bench/startup/RESULTS.md; test/startup.test.ts checks what is loaded).
// The client ships no native code: the transfer's optional addon
// (udp_batch.node) is for the server's sending side; a 100 MB loopback
// download took the same time with and without it on the receiving side
// (README "Install"), and a prebuilt binary would only fit the packing machine.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { asciiStringWidth, assertStandIn } from '../../../scripts/esbuild-start-up.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * @parley/protocol is pure (no I/O, nothing done on import), so a module of it
 * that no used export needs can be left out: without this the chat-only
 * commands would load the UDP packet formats (and node:crypto, node:zlib) too.
 */
const pureProtocol = {
  name: 'pure-protocol',
  setup(b) {
    b.onResolve({ filter: /^@parley\/protocol$/ }, async (args) => {
      if (args.pluginData?.pure) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { pure: true } });
      return { ...r, sideEffects: false };
    });
  },
};

// Chunks from an earlier build must not be packed beside the new ones.
rmSync(join(root, 'dist'), { recursive: true, force: true });

await build({
  entryPoints: { parley: join(root, 'src', 'bin.ts') },
  outdir: join(root, 'dist'),
  chunkNames: 'parley-[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // get-east-asian-width (a devDependency) is bundled as well: yargs' help
  // layout imports it at the top of its chunk, so as an external every command
  // would resolve and load the package; inside, it is evaluated only where a
  // width is measured (the chat screen, help text that is not plain ASCII).
  external: Object.keys(pkg.dependencies ?? {}),
  define: { PARLEY_CLIENT_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
  plugins: [pureProtocol, asciiStringWidth, assertStandIn],
});
