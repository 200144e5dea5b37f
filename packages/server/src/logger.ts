import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type pinoPretty from 'pino-pretty';

/** pino-pretty is for a person at a terminal: loaded only then (a service logging JSON never reads its ≈ 30 files). */
function loadPretty(): typeof pinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof pinoPretty;
}

export type LogFormat = 'auto' | 'json' | 'pretty';

/** JSON lines for machines (the default when not on a terminal), pretty for a person at a terminal. */
export function createLogger(level: LevelWithSilent, format: LogFormat = 'auto', destination: NodeJS.WritableStream = process.stdout): Logger {
  const usePretty = format === 'pretty' || (format === 'auto' && (destination as { isTTY?: boolean }).isTTY === true);
  const options = { level, base: { service: 'parley-server' }, redact: ['token', '*.token'] };
  if (usePretty) {
    return pino(options, loadPretty()({ destination, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true }));
  }
  return pino(options, destination);
}
