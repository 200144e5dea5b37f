import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'auto' | 'json' | 'pretty';

/** JSON lines for machines (the default when not on a terminal), pretty for a person at a terminal. */
export function createLogger(level: LevelWithSilent, format: LogFormat = 'auto', destination: NodeJS.WritableStream = process.stdout): Logger {
  const usePretty = format === 'pretty' || (format === 'auto' && (destination as { isTTY?: boolean }).isTTY === true);
  const options = { level, base: { service: 'parley-server' }, redact: ['token', '*.token'] };
  if (usePretty) {
    return pino(options, pretty({ destination, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true }));
  }
  return pino(options, destination);
}
