#!/usr/bin/env node
// The entry point checks the Node version before loading anything else: on an
// older Node a dependency fails to parse, which would be a stack trace instead
// of one line saying what to install. So the rest is imported dynamically.
// V8 flags first: one of them only counts if set before the server is loaded (v8-flags.ts).
import './v8-flags.js';
import { nodeIsSupported, unsupportedNodeMessage } from './node-version.js';

const EXIT_UNSUPPORTED = 2;

if (!nodeIsSupported(process.versions.node)) {
  process.stderr.write(`${unsupportedNodeMessage(process.version, process.execPath)}\n`);
  process.exit(EXIT_UNSUPPORTED);
}

const { main } = await import('./cli.js');
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
