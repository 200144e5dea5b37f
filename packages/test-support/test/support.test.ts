import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, seededBytes, seededRandom, startRedisServer } from '../src/index.js';

function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => s.write('PING\r\n'));
    s.once('data', (d) => {
      resolve(d.toString('utf8'));
      s.destroy();
    });
    s.once('error', reject);
  });
}

describe('test support', () => {
  it('starts a throw-away redis-server on loopback that answers, and stops it', async () => {
    const redis = await startRedisServer();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await ping(redis.port)).toBe('+PONG\r\n');
    await redis.stop();
    await expect(ping(redis.port)).rejects.toThrow(/ECONNREFUSED/u);
    await redis.stop(); // idempotent
  });

  it('names a port that can be listened on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
  });

  it('gives the same numbers and bytes for the same seed, and others for another', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    expect(seededBytes(1001, 7).equals(seededBytes(1001, 7))).toBe(true);
    expect(seededBytes(1001, 7).equals(seededBytes(1001, 8))).toBe(false);
    expect(seededBytes(1001, 7)).toHaveLength(1001);
  });
});
