import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_DIR } from './helpers/server.js';

/** The end-to-end tests run the bundled client: bundle it from the current source first (esbuild, well under a second). */
export default function setup(): void {
  execFileSync(process.execPath, [join(PACKAGE_DIR, 'scripts', 'bundle.mjs')], { cwd: PACKAGE_DIR, stdio: 'inherit' });
}
