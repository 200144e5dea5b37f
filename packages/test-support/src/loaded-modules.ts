import { fileURLToPath } from 'node:url';

/** A file for `node --import`: the process writes what it loaded to $PARLEY_TEST_MODULES_OUT at exit (see record-modules.ts). */
export const RECORD_MODULES_PRELOAD = fileURLToPath(new URL('./record-modules.js', import.meta.url));

/** What a process loaded: Node's built-in modules and the CommonJS files. */
export interface LoadedModules {
  readonly builtins: string[];
  readonly cjs: string[];
}

/** The npm packages among the CommonJS files a process loaded. */
export const npmPackagesOf = (l: LoadedModules): string[] => [
  ...new Set(l.cjs.flatMap((f) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//u.exec(f.replace(/^.*\/node_modules\/\.pnpm\/[^/]+/u, ''))?.[1] ?? [])),
];
