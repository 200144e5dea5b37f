import { readFile, stat } from 'node:fs/promises';

/** --password-file could not be used: the message says why (never the password). */
export class PasswordFileError extends Error {
  readonly code = 'PASSWORD_FILE';
}

/** The most a password file is read: a password has at most 256 bytes (PROTOCOL.md §2.4), plus a line end. */
export const MAX_PASSWORD_FILE_BYTES = 4096;

/**
 * Reads the password for a registered nickname from the first line of `path`
 * (a trailing CR LF or LF is not part of it). `warn` hears about a file that
 * other users can read. The password is returned, never logged or stored.
 */
export async function readPasswordFile(path: string, warn: (line: string) => void): Promise<string> {
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new PasswordFileError(`--password-file ${path}: not a regular file`);
    if (st.size > MAX_PASSWORD_FILE_BYTES)
      throw new PasswordFileError(`--password-file ${path}: ${st.size} bytes is too big for a password file (at most ${MAX_PASSWORD_FILE_BYTES})`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      warn(`--password-file ${path} can be read by other users (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof PasswordFileError) throw err;
    throw new PasswordFileError(`--password-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const first = (text.replace(/^\uFEFF/u, '').split('\n')[0] ?? '').replace(/\r$/u, '');
  if (first === '') throw new PasswordFileError(`--password-file ${path}: the first line is empty`);
  return first;
}
