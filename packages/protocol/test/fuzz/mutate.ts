import type { Rng } from './rng.js';

/** A big-endian integer field of a valid input (a length, a count, a number) worth editing on purpose. */
export interface Field {
  readonly offset: number;
  readonly width: 1 | 2 | 4;
}

export interface ByteMutationOptions {
  /** Other valid inputs to splice with. */
  readonly others?: readonly Buffer[];
  /** Length and number fields to set to boundary values. */
  readonly fields?: readonly Field[];
  /** Byte strings worth inserting (line endings, separators, broken UTF-8). */
  readonly dictionary?: readonly Buffer[];
  /** Mutated inputs are cut to this many bytes. */
  readonly maxLength: number;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x2c, 0x3a, 0x25, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xfe, 0xff];

function interestingValue(rng: Rng, width: 1 | 2 | 4, current: number): number {
  const max = width === 4 ? 0xffff_ffff : width === 2 ? 0xffff : 0xff;
  const half = width === 4 ? 0x8000_0000 : width === 2 ? 0x8000 : 0x80;
  const candidates = [0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 1452, 1472, 65_507, 65_535, 1 << 20, (1 << 20) + 1, half - 1, half, max - 1, max];
  switch (rng.below(4)) {
    case 0:
      return (current + 1) & max;
    case 1:
      return (current - 1) & max;
    case 2:
      return rng.u32() & max;
    default:
      return rng.pick(candidates) & max;
  }
}

function writeField(buf: Buffer, field: Field, value: number): void {
  if (field.offset + field.width > buf.length) return;
  if (field.width === 1) buf[field.offset] = value;
  else if (field.width === 2) buf.writeUInt16BE(value, field.offset);
  else buf.writeUInt32BE(value >>> 0, field.offset);
}

function readField(buf: Buffer, field: Field): number {
  if (field.offset + field.width > buf.length) return 0;
  if (field.width === 1) return buf[field.offset] ?? 0;
  return field.width === 2 ? buf.readUInt16BE(field.offset) : buf.readUInt32BE(field.offset);
}

/** One mutation of `buf` (which it may modify); returns the result. */
function mutateOnce(rng: Rng, buf: Buffer, options: ByteMutationOptions): Buffer {
  const n = buf.length;
  switch (rng.below(11)) {
    case 0: {
      // bit flip
      if (n === 0) return rng.bytes(1);
      const at = rng.below(n);
      buf[at] = (buf[at] ?? 0) ^ (1 << rng.below(8));
      return buf;
    }
    case 1: {
      // set a byte to a random or an interesting value
      if (n === 0) return Buffer.of(rng.pick(INTERESTING_BYTES));
      buf[rng.below(n)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
      return buf;
    }
    case 2:
      // truncation
      return buf.subarray(0, rng.below(n + 1));
    case 3:
      // extension with random bytes
      return Buffer.concat([buf, rng.bytes(rng.size(64) + 1)]);
    case 4: {
      // byte insertion
      const at = rng.below(n + 1);
      return Buffer.concat([buf.subarray(0, at), rng.bytes(rng.int(1, 4)), buf.subarray(at)]);
    }
    case 5: {
      // byte deletion
      if (n === 0) return buf;
      const at = rng.below(n);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + rng.int(1, Math.min(8, n - at)))]);
    }
    case 6: {
      // duplicate a range in place
      if (n === 0) return buf;
      const from = rng.below(n);
      const to = from + rng.int(1, Math.min(32, n - from));
      const at = rng.below(n + 1);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(from, to), buf.subarray(at)]);
    }
    case 7: {
      // splice: the head of this input with the tail of another valid one
      const other = options.others && options.others.length > 0 ? rng.pick(options.others) : undefined;
      if (other === undefined) return buf;
      return Buffer.concat([buf.subarray(0, rng.below(n + 1)), other.subarray(rng.below(other.length + 1))]);
    }
    case 8:
    case 9: {
      // length / count / number field edit
      const fields = options.fields ?? [];
      if (fields.length === 0) {
        if (n === 0) return buf;
        buf[rng.below(n)] = rng.pick(INTERESTING_BYTES);
        return buf;
      }
      const field = rng.pick(fields);
      writeField(buf, field, interestingValue(rng, field.width, readField(buf, field)));
      return buf;
    }
    default: {
      // dictionary token insertion or overwrite
      const dict = options.dictionary ?? [];
      if (dict.length === 0) return buf;
      const token = rng.pick(dict);
      const at = rng.below(n + 1);
      const replace = rng.chance(0.3) ? Math.min(token.length, n - at) : 0;
      return Buffer.concat([buf.subarray(0, at), token, buf.subarray(at + replace)]);
    }
  }
}

/**
 * Bit flips, truncation, extension, length-field edits, byte insertion and
 * deletion, duplication, splicing with another valid input and dictionary
 * tokens: one to four of them on a copy of `input`.
 */
export function mutateBytes(rng: Rng, input: Uint8Array, options: ByteMutationOptions): Buffer {
  let buf = Buffer.from(input);
  const count = rng.chance(0.6) ? 1 : rng.int(2, 4);
  for (let i = 0; i < count; i++) buf = Buffer.from(mutateOnce(rng, buf, options));
  return buf.length > options.maxLength ? buf.subarray(0, options.maxLength) : buf;
}

/**
 * Mutates text at the code point level (insert, replace or delete a code point
 * from `alphabet`, change case, duplicate a piece) or, one time in three, at
 * the UTF-8 byte level (decoded back leniently, as a lenient peer would).
 */
export function mutateText(rng: Rng, text: string, alphabet: readonly string[], dictionary: readonly Buffer[], maxLength: number): string {
  if (rng.chance(0.3)) {
    const bytes = mutateBytes(rng, Buffer.from(text, 'utf8'), { dictionary, maxLength: maxLength * 4 });
    return bytes.toString('utf8').slice(0, maxLength);
  }
  const chars = Array.from(text);
  const count = rng.chance(0.6) ? 1 : rng.int(2, 4);
  for (let i = 0; i < count; i++) {
    const at = rng.below(chars.length + 1);
    switch (rng.below(5)) {
      case 0:
        chars.splice(at, 0, rng.pick(alphabet));
        break;
      case 1:
        if (chars.length > 0) chars[Math.min(at, chars.length - 1)] = rng.pick(alphabet);
        break;
      case 2:
        chars.splice(at, rng.int(1, 3));
        break;
      case 3: {
        const c = chars[at];
        if (c !== undefined) chars[at] = rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase();
        break;
      }
      default: {
        const piece = chars.slice(at, at + rng.int(1, 8));
        chars.splice(rng.below(chars.length + 1), 0, ...piece);
        break;
      }
    }
  }
  const out = chars.join('');
  return out.length > maxLength ? out.slice(0, maxLength) : out;
}
