import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_DIR } from './helpers/server.js';

/** The end-to-end tests run the built client: build it from the current source first. */
export default function setup(): void {
  execFileSync(process.execPath, [join(PACKAGE_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PACKAGE_DIR, stdio: 'inherit' });
  execFileSync(process.execPath, [join(PACKAGE_DIR, 'scripts', 'bundle.mjs')], { cwd: PACKAGE_DIR, stdio: 'inherit' });
}
