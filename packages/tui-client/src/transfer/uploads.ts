import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FILE_NAME_MAX_BYTES, hasControlCharacters } from '@parley/protocol';

/** What a `share` needs to say about a local file: the name to offer, its size and SHA-256. */
export interface LocalShare {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Reads a file to share: a regular file, its base name as the name to offer (the
 * server cleans and may suffix it), its size and SHA-256 (streamed, so a large file
 * is never held in memory). Throws an Error whose message is for the user.
 */
export async function describeLocalFile(path: string): Promise<LocalShare> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${err.code ?? err.message}`);
  });
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  const name = basename(path);
  if (name.startsWith('.') || hasControlCharacters(name) || Buffer.byteLength(name) > FILE_NAME_MAX_BYTES) {
    throw new Error(`the name "${name}" cannot be shared (no leading dot or control characters, at most ${FILE_NAME_MAX_BYTES} bytes): rename the file`);
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  if (size !== st.size) throw new Error(`${path} changed while it was read; try again`);
  return { path, name, size, sha256: hash.digest('hex') };
}
