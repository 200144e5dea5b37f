/** Small seeded PRNG (mulberry32): the same seed gives the same run, so an impaired or fuzzed run can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic pseudo-random bytes (xorshift32), so a test file is the same on every run. */
export function seededBytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const left = size - i;
    if (left >= 4) out.writeUInt32LE(x, i);
    else for (let j = 0; j < left; j++) out[i + j] = (x >>> (8 * j)) & 0xff;
  }
  return out;
}
