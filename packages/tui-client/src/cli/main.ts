import { parseClientArgs } from './args.js';
import { EXIT_FAILED, EXIT_USAGE } from './exit-codes.js';

/**
 * Runs `parley` with `argv`; resolves with the exit code. Only the argument
 * parser is loaded up front: `--help` needs nothing else, a scripted command
 * loads the protocol and the connection (./script.js), and only the chat
 * screen loads blessed and pino (../ui/app.js). scripts/bundle.mjs keeps each
 * in a chunk of its own, and test/startup.test.ts checks what each loads.
 */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = await parseClientArgs(argv);
  } catch (err) {
    process.stderr.write(`parley: ${(err as Error).message}\nTry parley --help\n`);
    return EXIT_USAGE;
  }
  if (!args) return 0;
  if (args.command !== 'chat') {
    const { runScript } = await import('./script.js');
    return runScript(args, { stdout: process.stdout, stderr: process.stderr });
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write('parley: the chat screen needs a terminal; for scripts use parley online|files|send|download (see --help)\n');
    return EXIT_USAGE;
  }
  const { CaFileError, readCaFile } = await import('../net/tls-settings.js');
  let ca: Buffer | undefined;
  try {
    ca = args.ca === undefined ? undefined : await readCaFile(args.ca);
  } catch (err) {
    if (!(err instanceof CaFileError)) throw err;
    process.stderr.write(`parley: ${err.message}\n`);
    return EXIT_USAGE;
  }
  const { runApp } = await import('../ui/app.js');
  try {
    return await runApp(args, { ca });
  } catch (err) {
    process.stderr.write(`parley: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_FAILED;
  }
}
