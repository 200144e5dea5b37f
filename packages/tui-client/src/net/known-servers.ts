import { constants } from 'node:fs';
import { chmod, mkdir, open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { KNOWN_SERVERS_MAX_BYTES, knownServerLine, parseKnownServers, type Fingerprint, type KnownServersFile } from './trust.js';

/**
 * Where pins are kept: `$XDG_CONFIG_HOME/parley/known-servers`, or
 * `~/.config/parley/known-servers` (a relative XDG_CONFIG_HOME is ignored, as
 * the XDG spec says).
 */
export function knownServersPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(base, 'parley', 'known-servers');
}

/** The file could not be read: trust decisions cannot be made (a pin might be hidden in it), so TLS connections are refused. */
export class KnownServersError extends Error {
  readonly code = 'KNOWN_SERVERS_UNREADABLE';
}

/**
 * Reads the known-servers file (missing = no pins). A file bigger than
 * KNOWN_SERVERS_MAX_BYTES, not a regular file, or unreadable is an error, not
 * an empty list: a pin that cannot be read must not turn into a question.
 */
export async function readKnownServers(path: string): Promise<KnownServersFile> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [] };
    throw new KnownServersError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new KnownServersError(`${path} is not a regular file`);
    if (st.size > KNOWN_SERVERS_MAX_BYTES) throw new KnownServersError(`${path} is larger than ${KNOWN_SERVERS_MAX_BYTES} bytes; not read`);
    const buf = Buffer.alloc(KNOWN_SERVERS_MAX_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > KNOWN_SERVERS_MAX_BYTES) throw new KnownServersError(`${path} is larger than ${KNOWN_SERVERS_MAX_BYTES} bytes; not read`);
    return parseKnownServers(buf.subarray(0, bytesRead).toString('utf8'));
  } catch (err) {
    if (err instanceof KnownServersError) throw err;
    throw new KnownServersError(`cannot read ${path}: ${(err as Error).message}`);
  } finally {
    await fh.close();
  }
}

const HEADER = '# Parley known servers: one "host:port SHA256:fingerprint" per line (see the parley README).\n';

/**
 * Pins `server` → `fingerprint`: appends one line (one write, O_APPEND), after
 * a newline if the file does not end with one. Creates the folder 0700 and the
 * file 0600 when missing.
 */
export async function addKnownServer(path: string, server: string, fingerprint: Fingerprint): Promise<void> {
  // Only what the reader will read back: a pin that would be ignored must not be written (nor a second line smuggled in).
  const line = knownServerLine(server, fingerprint);
  if (parseKnownServers(line).entries.length !== 1)
    throw new KnownServersError(`cannot pin "${server}": not a host name or address the known-servers file can hold`);
  const dir = dirname(path);
  const made = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (made !== undefined) await chmod(dir, 0o700); // the umask may have taken bits away
  const fh = await open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new KnownServersError(`${path} is not a regular file`);
    let prefix = st.size === 0 ? HEADER : '';
    if (st.size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, st.size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await fh.write(`${prefix}${line}\n`);
    if (st.size === 0) await fh.chmod(0o600);
  } finally {
    await fh.close();
  }
}
