#!/usr/bin/env node
// Per-packet cost of sealing and opening one DATA payload: AES-256-GCM and
// ChaCha20-Poly1305 through node:crypto (a cipher object per packet, as
// PacketSealer does without the addon), and the native addon when it is built.
// Usage: node bench/transfer/aead-micro.mjs [packets=100000] [bytes=1444]
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const n = Number(process.argv[2] ?? 100_000);
const bytes = Number(process.argv[3] ?? 1444);
const key = randomBytes(32);
const iv = Buffer.alloc(12);
const buf = randomBytes(12 + bytes + 16);
const us = (t0) => Number(process.hrtime.bigint() - t0) / 1000 / n;
for (const alg of ['aes-256-gcm', 'chacha20-poly1305']) {
  let tag;
  let ct;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    iv.writeUInt32BE(i, 8);
    const c = createCipheriv(alg, key, iv, { authTagLength: 16 });
    c.setAAD(buf.subarray(0, 12), { plaintextLength: bytes });
    ct = c.update(buf.subarray(12, 12 + bytes));
    c.final();
    tag = c.getAuthTag();
  }
  const seal = us(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const d = createDecipheriv(alg, key, iv, { authTagLength: 16 });
    d.setAAD(buf.subarray(0, 12), { plaintextLength: bytes });
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  }
  console.log(`${alg} node:crypto: seal ${seal.toFixed(2)} µs, open ${us(t0).toFixed(2)} µs per ${bytes}-byte packet`);
}
try {
  const m = createRequire(import.meta.url)('../../packages/udp-transfer/build/udp_aead.node');
  const ctx = m.context(key);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    iv.writeUInt32BE(i, 8);
    m.seal(ctx, iv, buf, 12, 12 + bytes);
  }
  const seal = us(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) m.open(ctx, iv, buf, 12, 12 + bytes); // (fails the tag after the first: same work)
  console.log(`chacha20-poly1305 native addon: seal ${seal.toFixed(2)} µs, open ${us(t0).toFixed(2)} µs per ${bytes}-byte packet`);
} catch (err) {
  console.log(`native addon not built (${err.message.split('\n')[0]})`);
}
