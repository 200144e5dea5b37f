// Preloaded with `node --import` (RECORD_MODULES_PRELOAD) by the start-up
// tests of the client and the server: when the process exits, writes what it
// loaded to the file named by PARLEY_TEST_MODULES_OUT: Node's built-in
// modules (process.moduleLoadList) and every CommonJS file (require.cache;
// blessed and pino are CommonJS, so an ESM import of them lands there too).
// Test-only: nothing in a package's src/ knows about it.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const out = process.env.PARLEY_TEST_MODULES_OUT;
if (out) {
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
    const builtins = list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
    writeFileSync(out, JSON.stringify({ builtins, cjs: Object.keys(require.cache) }));
  });
}
