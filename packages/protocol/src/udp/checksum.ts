import { crc32 } from 'node:zlib';

/** CRC-32 (IEEE) of `buf[0, end)`: the packet trailer. */
export type Crc32Function = (buf: Uint8Array, end: number) => number;

const zlibChecksum: Crc32Function = (buf, end) => crc32(buf.subarray(0, end));
let checksum: Crc32Function = zlibChecksum;

/** The trailer's CRC-32 of `buf[0, end)`, by the implementation in use. */
export function trailerChecksum(buf: Uint8Array, end: number): number {
  return checksum(buf, end);
}

/**
 * Installs a faster implementation of the trailer's CRC-32 (e.g. a carry-less
 * multiply one in native code). It must compute exactly what `zlib.crc32`
 * does: it is checked against it on test data first, and refused (with a
 * thrown Error, nothing changed) if it differs. Packets are the same bytes
 * either way. `useCrc32(undefined)` goes back to `zlib.crc32`.
 */
export function useCrc32(impl: Crc32Function | undefined): void {
  if (impl === undefined) {
    checksum = zlibChecksum;
    return;
  }
  const data = new Uint8Array(4099);
  for (let i = 0, x = 0x9e3779b9; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x >>> 24;
  }
  for (const [from, to] of [
    [0, 0],
    [0, 1],
    [3, 66],
    [1, 1473],
    [0, 4099],
    [7, 2900],
  ] as const) {
    const view = data.subarray(from, to);
    if (impl(view, view.length) !== crc32(view)) throw new Error(`useCrc32: the implementation differs from zlib.crc32 on ${view.length} bytes`);
  }
  checksum = impl;
}
