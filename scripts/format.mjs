#!/usr/bin/env node
// `npm run format`: formats the repository with Biome's formatter and the
// settings in biome.jsonc (line width 160, single quotes, semicolons, trailing
// commas; Markdown left as written). `npm run format -- --check` changes
// nothing and exits 1 when a file is not formatted, naming it.
//
// Only the formatter runs here; `npm run lint` (and `npm test`) check both
// lint and format.
// Extra arguments (paths, --changed) go to Biome.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const rest = args.filter((a) => a !== '--check');
const biome = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'biome.cmd' : 'biome');
const mode = ['--formatter-enabled=true', '--linter-enabled=false', '--assist-enabled=false', ...(check ? [] : ['--write'])];
const res = spawnSync(biome, ['check', ...mode, ...(rest.length > 0 ? rest : ['.'])], { cwd: root, stdio: 'inherit' });
if (res.error) throw res.error;
process.exit(res.status ?? 1);
