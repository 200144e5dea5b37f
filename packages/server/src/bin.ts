#!/usr/bin/env node
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Leave nothing running behind a finished server (e.g. a stuck socket).
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    process.stderr.write(`parley-server: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
