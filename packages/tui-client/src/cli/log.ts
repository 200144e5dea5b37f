import { CLIENT_ENV } from './env.js';
import { pino, type Logger } from 'pino';

/** The screen client owns the terminal: it logs to a file (--log-file) or not at all. */
export function createLog(file: string | undefined): Logger {
  if (!file) return pino({ level: 'silent' });
  return pino({ level: process.env[CLIENT_ENV.logLevel] || 'debug', base: { service: 'parley' } }, pino.destination({ dest: file, sync: true, mkdir: true }));
}
