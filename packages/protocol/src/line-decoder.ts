import { isUtf8 } from 'node:buffer';
import { DEFAULT_MAX_LINE_BYTES } from './limits.js';
import { protocolError, type ParleyProtocolError } from './errors.js';

/** What the decoder is doing with the bytes of the current line. */
export const LineDecoderState = {
  /** Collecting a line. */
  Collecting: 'collecting',
  /** The current line went over the limit: dropping bytes up to the next LF. */
  Discarding: 'discarding',
} as const;
export type LineDecoderState = (typeof LineDecoderState)[keyof typeof LineDecoderState];

export type DecodedLine = { readonly ok: true; readonly line: string } | { readonly ok: false; readonly error: ParleyProtocolError };

export interface LineDecoderOptions {
  /** Largest line in bytes, not counting CR LF. Default 4096. */
  readonly maxLineBytes?: number;
}

const LF = 0x0a;
/** First size of the pending buffer; it doubles from here as a line grows. */
const INITIAL_PENDING_BYTES = 64;
const CR = 0x0d;

/**
 * Streaming decoder for UTF-8 lines ending in LF (a CR before the LF is
 * dropped). It yields the same lines however the input is split into chunks.
 * An over-long line is one error (reported as soon as it is detected); the rest
 * of it is discarded up to the next LF and decoding goes on. Invalid UTF-8 is an
 * error for that line only.
 */
export class LineDecoder {
  readonly maxLineBytes: number;
  #state: LineDecoderState = LineDecoderState.Collecting;
  /**
   * The unfinished line: one buffer, grown by doubling up to the limit and
   * copied into, whatever the segmentation (with one copied buffer per chunk,
   * a 4000-byte line sent one byte per TCP segment held ≈ 600 KiB).
   * Allocated only when a line spans chunks; dropped when the line ends.
   */
  #pending: Uint8Array | undefined;
  #pendingLength = 0;

  constructor(options: LineDecoderOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(this.maxLineBytes) || this.maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${this.maxLineBytes}`);
    }
  }

  get state(): LineDecoderState {
    return this.#state;
  }

  /** Bytes held for an unfinished line. */
  get pendingBytes(): number {
    return this.#pendingLength;
  }

  /**
   * Bytes of memory the decoder holds between calls: the capacity of its one
   * buffer. Never more than `maxLineBytes + 1` (the +1 is a CR waiting for its LF).
   */
  get retainedBytes(): number {
    return this.#pending?.byteLength ?? 0;
  }

  /** Feeds a chunk; returns the lines (and line errors) it completed, in order. */
  push(chunk: Uint8Array): DecodedLine[] {
    const out: DecodedLine[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.#keep(chunk.subarray(start), out);
        break;
      }
      if (this.#pendingLength === 0 && this.#state === LineDecoderState.Collecting) this.#whole(chunk, start, lf, out);
      else this.#finish(chunk.subarray(start, lf), out);
      start = lf + 1;
    }
    return out;
  }

  /** Forgets any unfinished line (e.g. at end of stream); returns how many bytes were dropped. */
  reset(): number {
    const dropped = this.#pendingLength;
    this.#release();
    this.#state = LineDecoderState.Collecting;
    return dropped;
  }

  #keep(tail: Uint8Array, out: DecodedLine[]): void {
    if (tail.length === 0) return;
    switch (this.#state) {
      case LineDecoderState.Discarding:
        return;
      case LineDecoderState.Collecting:
        // +1: a CR that belongs to the line ending may still be in the buffer.
        if (this.#pendingLength + tail.length > this.maxLineBytes + 1) {
          this.#tooLong(out);
          return;
        }
        // Copy: the caller may reuse its chunk buffer.
        this.#reserve(this.#pendingLength + tail.length).set(tail, this.#pendingLength);
        this.#pendingLength += tail.length;
        return;
    }
  }

  /** The pending buffer, grown (doubling, capped at the limit) to hold at least `needed` bytes. */
  #reserve(needed: number): Uint8Array {
    const have = this.#pending;
    if (have && have.byteLength >= needed) return have;
    const cap = this.maxLineBytes + 1;
    let size = Math.min(cap, Math.max(INITIAL_PENDING_BYTES, (have?.byteLength ?? 0) * 2));
    // Callers never ask for more than the cap (they check the limit first).
    while (size < needed && size < cap) size = Math.min(cap, size * 2);
    // Not Buffer.allocUnsafe: a small one is a slice of an 8 KiB shared pool, which it would keep alive.
    const grown = new Uint8Array(size);
    if (have) grown.set(have.subarray(0, this.#pendingLength));
    this.#pending = grown;
    return grown;
  }

  #release(): void {
    this.#pending = undefined;
    this.#pendingLength = 0;
  }

  /**
   * A line wholly inside `chunk[start, lf)`, nothing held from earlier chunks:
   * decoded in place, without making views of it (this runs for every line).
   */
  #whole(chunk: Uint8Array, start: number, lf: number, out: DecodedLine[]): void {
    let end = lf;
    if (end > start && chunk[end - 1] === CR) end -= 1;
    if (end - start > this.maxLineBytes) {
      out.push({ ok: false, error: lineTooLong(this.maxLineBytes) });
      return;
    }
    let ascii = true;
    for (let i = start; i < end; i++) {
      if ((chunk[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii && !isUtf8(chunk.subarray(start, end))) {
      out.push({ ok: false, error: protocolError('INVALID_UTF8') });
      return;
    }
    const line = Buffer.isBuffer(chunk)
      ? ascii
        ? chunk.toString('latin1', start, end)
        : chunk.toString('utf8', start, end)
      : Buffer.from(chunk.buffer, chunk.byteOffset + start, end - start).toString('utf8');
    out.push({ ok: true, line });
  }

  #finish(piece: Uint8Array, out: DecodedLine[]): void {
    if (this.#state === LineDecoderState.Discarding) {
      this.#state = LineDecoderState.Collecting;
      return;
    }
    let bytes: Uint8Array;
    if (this.#pendingLength === 0) {
      bytes = piece;
    } else if (this.#pendingLength + piece.length > this.maxLineBytes + 1) {
      // Over the limit with this piece: there is no need to copy it to know.
      this.#release();
      out.push({ ok: false, error: lineTooLong(this.maxLineBytes) });
      return;
    } else {
      const length = this.#pendingLength + piece.length;
      const buffer = this.#reserve(length);
      buffer.set(piece, this.#pendingLength);
      bytes = buffer.subarray(0, length);
      // The line is decoded below, before anything else can write here; the buffer itself is let go.
      this.#release();
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end -= 1;
    if (end > this.maxLineBytes) {
      out.push({ ok: false, error: lineTooLong(this.maxLineBytes) });
      return;
    }
    const content = bytes.subarray(0, end);
    if (!isUtf8(content)) {
      out.push({ ok: false, error: protocolError('INVALID_UTF8') });
      return;
    }
    out.push({ ok: true, line: Buffer.from(content.buffer, content.byteOffset, content.length).toString('utf8') });
  }

  #tooLong(out: DecodedLine[]): void {
    this.#release();
    this.#state = LineDecoderState.Discarding;
    out.push({ ok: false, error: lineTooLong(this.maxLineBytes) });
  }
}

function lineTooLong(max: number): ParleyProtocolError {
  return protocolError('LINE_TOO_LONG', `line is longer than ${max} bytes; it was dropped`);
}

/** Encodes one line (adds LF). The text must not contain CR or LF. */
export function encodeLine(text: string): Buffer {
  return Buffer.from(`${text}\n`, 'utf8');
}
