#!/usr/bin/env node
import { main } from './cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Do not let a stray socket or timer keep a finished client alive.
    setTimeout(() => process.exit(code), 300).unref();
  },
  (err: unknown) => {
    process.stderr.write(`parley: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
