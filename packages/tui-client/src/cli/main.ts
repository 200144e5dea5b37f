import { parseClientArgs } from './args.js';
import { CaFileError, readCaFile } from '../net/tls-settings.js';
import { EXIT_FAILED, EXIT_USAGE, runScript } from './script.js';

/** Runs `parley` with `argv`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = await parseClientArgs(argv);
  } catch (err) {
    process.stderr.write(`parley: ${(err as Error).message}\nTry parley --help\n`);
    return EXIT_USAGE;
  }
  if (!args) return 0;
  if (args.command !== 'chat') return runScript(args, { stdout: process.stdout, stderr: process.stderr });
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write('parley: the chat screen needs a terminal; for scripts use parley online|files|send|download (see --help)\n');
    return EXIT_USAGE;
  }
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
