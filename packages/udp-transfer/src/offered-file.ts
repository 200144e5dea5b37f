import { closeSync, constants as fsConstants, fstatSync, openSync } from 'node:fs';
import { protocolError } from '@parley/protocol';

/**
 * Opens an offered file for reading without following a symbolic link at `path`
 * (O_NOFOLLOW; O_NONBLOCK so that a FIFO swapped in cannot block the process), and
 * checks that it is a regular file of the size that was listed.
 */
export function openOffered(path: string, size: number): number {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw protocolError('FILE_UNREADABLE', code === 'ELOOP' ? 'the file was replaced by a link' : 'the file cannot be opened');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw protocolError('FILE_UNREADABLE', 'the file is no longer a regular file');
    if (st.size !== size) throw protocolError('FILE_UNREADABLE', `the file changed size (${size} → ${st.size} bytes)`);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Closes a descriptor, ignoring one that is already closed. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
