import { readSync } from 'node:fs';
import type { ChunkSource } from './sender.js';

/**
 * Chunks read from the file per system call (one pread per packet costs as much as
 * the send), at most `readAheadBytes` in all: the block's memory is the server's,
 * the payload size is the client's choice.
 */
const READ_AHEAD_CHUNKS = 32;

/** Read-ahead block bytes for a payload size: whole chunks, at least one, at most max(readAheadBytes, one chunk). */
export function readAheadBlockBytes(payloadSize: number, readAheadBytes: number): number {
  return payloadSize * Math.max(1, Math.min(READ_AHEAD_CHUNKS, Math.floor(readAheadBytes / payloadSize)));
}

/** Reads the file in blocks and copies chunks out of the last block read. */
export class BlockReader implements ChunkSource {
  private readonly block: Buffer;
  private blockStart = 0;
  private blockEnd = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    blockBytes: number,
  ) {
    this.block = Buffer.allocUnsafe(blockBytes);
  }

  read(position: number, target: Buffer, offset: number, length: number): void {
    if (position < this.blockStart || position + length > this.blockEnd) {
      const want = Math.min(this.block.length, this.size - position) | 0; // a small integer (see Sender.lastChunkBytes)
      const n = readSync(this.fd, this.block, 0, want, position);
      if (n < length) throw new Error(`short read at ${position}: ${n} of ${length} bytes`);
      this.blockStart = position;
      this.blockEnd = position + n;
    }
    this.block.copy(target, offset, position - this.blockStart, position - this.blockStart + length);
  }
}
