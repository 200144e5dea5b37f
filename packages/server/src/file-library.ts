import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, access, lstat, mkdir, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { FILE_NAME_MAX_BYTES, hasControlCharacters, protocolError, type FileEntry, type ParleyProtocolError } from '@parley/protocol';

export interface ResolvedFile {
  /** Real absolute path inside the files folder. */
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

export type Resolution = { readonly ok: true; readonly file: ResolvedFile } | { readonly ok: false; readonly error: ParleyProtocolError };

interface HashEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly sha256: Promise<string>;
}

const WELCOME = `Welcome to Parley!\n\nThis folder holds the files the server offers. Put files here and users can type\n  download,<file name>\nto fetch them over Parley's reliable UDP transfer.\n`;

/**
 * The files a server offers: the regular files directly inside one folder.
 * Names are resolved inside that folder only; anything that would leave it
 * (`..`, absolute paths, separators, NUL, symlinks pointing out) is refused
 * before a byte is read.
 */
export class FileLibrary {
  #realRoot: string | undefined;
  readonly #hashes = new Map<string, HashEntry>();

  constructor(readonly root: string) {}

  /** Creates the folder (with a welcome file) when it does not exist. Returns true when it was created. */
  async ensure(): Promise<boolean> {
    let created = false;
    try {
      await stat(this.root);
    } catch {
      await mkdir(this.root, { recursive: true });
      await writeFile(join(this.root, 'welcome.txt'), WELCOME);
      created = true;
    }
    this.#realRoot = await realpath(this.root);
    return created;
  }

  async #root(): Promise<string> {
    this.#realRoot ??= await realpath(this.root);
    return this.#realRoot;
  }

  /** Regular files directly in the folder (symlinks only when they stay inside), sorted by name. */
  async list(): Promise<FileEntry[]> {
    const root = await this.#root();
    const entries = await readdir(root, { withFileTypes: true });
    const out: FileEntry[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.') || !(e.isFile() || e.isSymbolicLink())) continue;
      if (checkName(e.name)) continue;
      try {
        const real = await realpath(join(root, e.name));
        if (!inside(root, real)) continue;
        const st = await stat(real);
        if (st.isFile()) out.push({ name: e.name, size: st.size });
      } catch {
        // vanished or unreadable: not offered
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Finds a file by the name a user gave, and its SHA-256. */
  async resolve(name: string): Promise<Resolution> {
    const bad = checkName(name);
    if (bad) return { ok: false, error: bad };
    const root = await this.#root();
    const candidate = join(root, name);
    try {
      await lstat(candidate);
    } catch {
      return { ok: false, error: protocolError('FILE_NOT_FOUND', `no file "${name}" here; type files to see what there is`) };
    }
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      return { ok: false, error: protocolError('FILE_NOT_FOUND', `no file "${name}" here (a broken link)`) };
    }
    if (!inside(root, real)) {
      return { ok: false, error: protocolError('FILE_NAME_INVALID', `"${name}" points outside the files folder`) };
    }
    const st = await stat(real);
    if (!st.isFile()) return { ok: false, error: protocolError('NOT_A_FILE', `"${name}" is not a regular file`) };
    try {
      await access(real, constants.R_OK);
      const sha256 = await this.#sha256(real, st.size, st.mtimeMs, st.ino);
      return { ok: true, file: { path: real, name, size: st.size, sha256 } };
    } catch {
      return { ok: false, error: protocolError('FILE_UNREADABLE', `"${name}" cannot be read on the server`) };
    }
  }

  #sha256(path: string, size: number, mtimeMs: number, ino: number): Promise<string> {
    const cached = this.#hashes.get(path);
    if (cached && cached.size === size && cached.mtimeMs === mtimeMs && cached.ino === ino) return cached.sha256;
    const sha256 = hashFile(path);
    this.#hashes.set(path, { size, mtimeMs, ino, sha256 });
    sha256.catch(() => this.#hashes.delete(path));
    return sha256;
  }
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function inside(root: string, real: string): boolean {
  return real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** A file name is one path component: no separators, no NUL or control characters, not `.`/`..`, not hidden. */
export function checkName(name: string): ParleyProtocolError | undefined {
  if (name.includes('\0')) return protocolError('FILE_NAME_INVALID', 'file name contains a NUL byte');
  if (name.includes('/') || name.includes('\\')) {
    return protocolError('FILE_NAME_INVALID', 'file name cannot contain / or \\; use a name from the files list');
  }
  if (name === '.' || name === '..') return protocolError('FILE_NAME_INVALID', `"${name}" is not a file name`);
  if (hasControlCharacters(name)) return protocolError('FILE_NAME_INVALID', 'file name contains control characters');
  if (Buffer.byteLength(name) > FILE_NAME_MAX_BYTES) {
    return protocolError('FILE_NAME_INVALID', `file name is longer than ${FILE_NAME_MAX_BYTES} bytes`);
  }
  if (name.startsWith('.')) return protocolError('FILE_NOT_FOUND', `no file "${name}" here (hidden files are not offered)`);
  return undefined;
}
