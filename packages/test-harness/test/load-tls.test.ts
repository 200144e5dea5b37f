import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIdle, runTraffic } from '../src/load/runs.js';
import { overTls, startParley, type LoadTarget, type ParleyTarget } from '../src/load/servers.js';
import { pairOrder } from '../src/load/tls-compare.js';
import { spread } from '../src/load/tls-report.js';

describe('parley-harness load over TLS against the real server', () => {
  let server: ParleyTarget;
  beforeAll(async () => {
    server = await startParley({ tls: true });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('delivers every broadcast over TLS to every other client, once and in order, on a verified TLS 1.3 session', { timeout: 60_000 }, async () => {
    const r = await runTraffic(overTls(server), {
      mode: 'fanout',
      clients: 4,
      senders: 4,
      rate: 20,
      duration: 1,
      warmup: 0.2,
      size: 64,
      connectConcurrency: 4,
    });
    expect(r.sent).toBeGreaterThan(0);
    expect(r.expected).toBe(r.sent * 3);
    expect({ lost: r.lost, duplicated: r.duplicated, reordered: r.reordered, dropped: r.dropped }).toEqual({
      lost: 0,
      duplicated: 0,
      reordered: 0,
      dropped: 0,
    });
    expect(r.tls).toMatch(/^TLSv1\.3 TLS_/u);
  });

  it('joins idle clients over TLS and reports the plain runs as plain', { timeout: 60_000 }, async () => {
    const tls = await runIdle(overTls(server), 30, 10);
    expect(tls.connected).toBe(30);
    expect(tls.tls).toMatch(/^TLSv1\.3 /u);
    const plain = await runIdle(server, 30, 10);
    expect(plain.connected).toBe(30);
    expect(plain.tls).toBeUndefined();
  });

  it('is turned away by the TLS port when it connects without TLS: the TLS runs above did speak TLS', { timeout: 60_000 }, async () => {
    const plainOnTlsPort: LoadTarget = { ...overTls(server), tls: undefined };
    await expect(runIdle(plainOnTlsPort, 1, 1)).rejects.toThrow(/TLS_REQUIRED/u);
  });

  it('refuses a server whose certificate is not the one it was given to trust', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-tls-other-'));
    try {
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'k.pem'),
          '-out',
          join(dir, 'c.pem'),
        ],
        { encoding: 'utf8' },
      );
      expect(made.status, made.stderr).toBe(0);
      const stranger: LoadTarget = { ...overTls(server), tls: { ca: readFileSync(join(dir, 'c.pem'), 'utf8') } };
      await expect(runIdle(stranger, 1, 1)).rejects.toThrow(/certificate/u);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('load tls bookkeeping', () => {
  it('alternates which transport runs first from pair to pair', () => {
    expect([1, 2, 3].map(pairOrder)).toEqual([
      ['plain', 'tls'],
      ['tls', 'plain'],
      ['plain', 'tls'],
    ]);
  });

  it('gives the median and range of what was measured, leaving out what was not', () => {
    expect(spread([3, 1, Number.NaN, 2, undefined])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(spread([4, 1])).toEqual({ median: 2.5, min: 1, max: 4, n: 2 });
    expect(spread([]).n).toBe(0);
  });
});
