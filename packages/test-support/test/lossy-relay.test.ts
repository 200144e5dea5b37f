import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { LossyRelay } from '../src/index.js';

describe('the lossy UDP relay', () => {
  it('drops, reorders and duplicates datagrams as told, and counts each (a reorder only when one really overtook another)', async () => {
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const got: number[] = [];
    server.on('message', (m) => got.push(m.readUInt32BE(0)));
    const relay = await LossyRelay.start({ loss: 0.2, reorder: 0.2, duplicate: 0.1, seed: 9, targetPort: server.address().port });
    const client = createSocket('udp4');
    const n = 500;
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(i);
      await new Promise<void>((r) => client.send(b, relay.port, '127.0.0.1', () => r()));
      // Small batches: the kernel drops what a full socket buffer cannot hold, and that is not the relay's loss.
      if (i % 20 === 19) await expect.poll(() => relay.counts.received, { timeout: 5000 }).toBe(i + 1);
    }
    const s = relay.counts;
    await expect.poll(() => s.received, { timeout: 5000 }).toBe(n);
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(s.forwarded);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.reordered).toBeGreaterThan(0);
    expect(s.duplicated).toBeGreaterThan(0);
    expect(s.forwarded).toBe(n - s.dropped + s.duplicated);
    expect(got.some((v, i) => i > 0 && v < (got[i - 1] as number))).toBe(true);
    await relay.close();
    client.close();
    server.close();
  });
});

describe('the lossy UDP relay, switched off', () => {
  it('forwards everything in order and counts nothing it did not do', async () => {
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const got: number[] = [];
    server.on('message', (m) => got.push(m.readUInt32BE(0)));
    const relay = await LossyRelay.start({ targetPort: server.address().port });
    const client = createSocket('udp4');
    for (let i = 0; i < 50; i++) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(i);
      await new Promise<void>((r) => client.send(b, relay.port, '127.0.0.1', () => r()));
    }
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(50);
    expect(got).toEqual([...Array(50).keys()]);
    expect(relay.counts).toMatchObject({ received: 50, forwarded: 50, dropped: 0, reordered: 0, duplicated: 0, corrupted: 0 });
    await relay.close();
    client.close();
    server.close();
  });
});
