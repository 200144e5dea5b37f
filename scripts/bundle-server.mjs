#!/usr/bin/env node
// `npm run bundle`: a self-contained parley-server that runs on any machine
// with Node >= 20 — its workspace dependencies and npm dependencies included.
// Writes dist/parley-server/ and dist/parley-server.tar.gz; prints the folder.
//   npm run bundle -- --out /some/where [--skip-build]
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const outParent = outIndex > 0 ? resolve(process.argv[outIndex + 1] ?? '') : join(root, 'dist');
const out = join(outParent, 'parley-server');

function must(status, what) {
  if (status !== 0) {
    console.error(`bundle: ${what} failed`);
    process.exit(1);
  }
}

if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) must(pnpm(['install', '--frozen-lockfile', '--prefer-offline']), 'install');
// --skip-build: the packages are built already (the deploy test runs after turbo's build).
if (!process.argv.includes('--skip-build')) {
  must(pnpm(['exec', 'turbo', 'run', 'build', '--filter=@parley/server...', '--output-logs=errors-only']), 'build');
}
rmSync(out, { recursive: true, force: true });
mkdirSync(outParent, { recursive: true });
// `deploy` copies the package with its production dependencies, workspace ones included.
must(pnpm(['--filter', '@parley/server', 'deploy', '--prod', '--legacy', out], { stdio: ['ignore', 'ignore', 'inherit'] }), 'pnpm deploy');
mkdirSync(join(out, 'bin'), { recursive: true });
// The wrapper runs the first `node` on the PATH (systemd's PATH puts /usr/local/bin,
// where the README installs Node, before /usr/bin); PARLEY_NODE names another one.
writeFileSync(
  join(out, 'bin', 'parley-server'),
  '#!/bin/sh\n# Starts the Parley server with Node.js >= 20.19 (PARLEY_NODE=/path/to/node to choose one).\n' +
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell line; ${PARLEY_NODE:-node} is the shell's.
    'exec "${PARLEY_NODE:-node}" "$(dirname "$(readlink -f "$0")")/../dist/bin.js" "$@"\n',
);
chmodSync(join(out, 'bin', 'parley-server'), 0o755);
// The unit's Documentation= points here: the README's deploy sections, as shipped.
writeFileSync(join(out, 'deploy', 'README.md'), deploySections(readFileSync(join(root, 'README.md'), 'utf8')));
writeFileSync(join(out, 'LICENSE'), readFileSync(join(root, 'LICENSE')));
/** "Deploy to a VM" and "Running several nodes" from the repository README, whole. */
function deploySections(readme) {
  const sections = readme.split(/^(?=## )/mu).filter((s) => /^## (Deploy to a VM|Running several nodes)\b/u.test(s));
  if (sections.length !== 2) {
    console.error('bundle: README.md has no "## Deploy to a VM" or "## Running several nodes" section');
    process.exit(1);
  }
  return `# Parley server: deploying\n\nFrom the Parley README (https://github.com/parley-chat/parley#deploy-to-a-vm).\n\n${sections.join('')}`;
}

const tar = spawnSync('tar', ['-czf', join(outParent, 'parley-server.tar.gz'), '-C', outParent, 'parley-server'], { stdio: 'inherit' });
must(tar.status ?? 1, 'tar');
console.log(out);
