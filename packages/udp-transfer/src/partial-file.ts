import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { protocolError } from '@parley/protocol';
import type { DownloadOffer } from './download-types.js';

/*
 * The download's file on disk: `<dest>.<sha16>.part` beside the destination,
 * resumed from the whole chunks an earlier attempt left, hashed as it is
 * written, and renamed into place only when its SHA-256 is the offer's.
 */

/** The partial file for a download: next to the destination, named after the content hash. */
export function partialPath(destPath: string, sha256: string): string {
  return `${destPath}.${sha256.slice(0, 16).toLowerCase()}.part`;
}

/** Feeds the first `bytes` of the file at `path` into `hash`. */
async function hashPrefix(path: string, bytes: number, hash: Hash): Promise<void> {
  if (bytes === 0) return;
  const stream = createReadStream(path, { start: 0, end: bytes - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
}

/** The partial file, open for writing at `onDisk`, with the hash of what it already holds. */
export interface PartialFile {
  readonly temp: string;
  readonly file: FileHandle;
  readonly hash: Hash;
  /** First chunk to ask for. */
  readonly resumeFrom: number;
  /** Bytes already in the file (whole chunks of an earlier attempt). */
  readonly onDisk: number;
}

/** Opens `<dest>.<sha16>.part`; with `resume`, keeps the whole chunks of an earlier attempt and hashes them again. */
export async function openPartialFile(destPath: string, offer: DownloadOffer, payloadSize: number, resume: boolean): Promise<PartialFile> {
  const temp = partialPath(destPath, offer.sha256);
  const hash = createHash('sha256');
  const totalChunks = Math.ceil(offer.size / payloadSize);
  let resumeFrom = 0;
  if (resume) {
    const existing = await stat(temp).catch(() => undefined);
    if (existing?.isFile() && existing.size <= offer.size) {
      resumeFrom = Math.min(totalChunks, Math.floor(existing.size / payloadSize));
      if (existing.size === offer.size) resumeFrom = totalChunks;
    }
  }
  const onDisk = Math.min(offer.size, resumeFrom * payloadSize);
  if (resumeFrom > 0) {
    await truncate(temp, onDisk);
    await hashPrefix(temp, onDisk, hash);
    return { temp, file: await open(temp, 'r+'), hash, resumeFrom, onDisk };
  }
  return { temp, file: await open(temp, 'w'), hash, resumeFrom, onDisk };
}

/** Checks the SHA-256 of the complete partial file and renames it into place; deletes it on a mismatch (TRANSFER_CORRUPT). */
export async function verifyAndRename(part: PartialFile, offer: DownloadOffer, destPath: string): Promise<string> {
  await part.file.close();
  const digest = part.hash.digest('hex');
  if (digest !== offer.sha256.toLowerCase()) {
    await unlink(part.temp).catch(() => {});
    throw protocolError('TRANSFER_CORRUPT', `SHA-256 of ${offer.name} is ${digest}, the offer said ${offer.sha256}; nothing was kept`);
  }
  await rename(part.temp, destPath);
  return digest;
}
