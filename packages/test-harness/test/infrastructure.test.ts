import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../src/cli.js';
import { seededBytes } from '@parley/test-support';
import { parseReady, ServerProcess, ServerStartError } from '../src/server-process.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'harness-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the spawned server', () => {
  it('reports a server that exits before it is ready, with what it printed', async () => {
    const s = new ServerProcess({ filesDir: dir, udpPort: -1, args: ['--rate', '-5'] });
    const err = await s.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerStartError);
    expect((err as Error).message).toMatch(/exited before it was ready \(code 2/u);
    expect((err as ServerStartError).output).toContain('--rate must be a positive number');
  });

  it('names the readiness timeout when the server never says it is ready', async () => {
    const bin = join(dir, 'mute.mjs');
    await writeFile(bin, "process.stderr.write('starting…\\n'); setInterval(() => {}, 1000);\n");
    await chmod(bin, 0o755);
    const s = new ServerProcess({ bin, filesDir: dir, readyTimeoutMs: 2000 });
    const err = await s.start().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/not ready within SERVER_READY_TIMEOUT_MS \(2000 ms\)/u);
    expect((err as ServerStartError).output).toContain('starting…');
    await s.waitExit(5000);
  });

  it('starts on free ports, and exits 0 on SIGTERM', async () => {
    const s = await new ServerProcess({ filesDir: dir, udpPort: -1 }).start();
    expect(s.port).toBeGreaterThan(0);
    // No round trip first: a SIGTERM right after the ready line must be a clean stop
    // (builds before 4317267 installed their handlers after printing it and died by the signal).
    const exit = await s.stop();
    expect(exit, s.output).toEqual({ code: 0, signal: null });
  });

  it('reads the port numbers from the JSON ready line', () => {
    expect(parseReady('{"msg":"parley-server ready: chat on …","port":4000,"udpPort":"off"}')).toEqual({ port: 4000, udpPort: undefined });
    expect(parseReady('{"msg":"parley-server ready","port":4000,"udpPort":5000}')).toEqual({ port: 4000, udpPort: 5000 });
    expect(parseReady('{"msg":"joined"}')).toBeUndefined();
  });
});

describe('helpers', () => {
  it('makes the same pseudo-random file for the same seed and another for another seed', () => {
    expect(seededBytes(1001, 7).equals(seededBytes(1001, 7))).toBe(true);
    expect(seededBytes(1001, 7).equals(seededBytes(1001, 8))).toBe(false);
    expect(seededBytes(1001, 7)).toHaveLength(1001);
  });

  it('parses --target host:port and refuses anything else', () => {
    expect(parseTarget('127.0.0.1:55000')).toEqual({ host: '127.0.0.1', port: 55000 });
    expect(parseTarget('[::1]:6000')).toEqual({ host: '::1', port: 6000 });
    expect(() => parseTarget('localhost')).toThrow(/host:port/u);
    expect(() => parseTarget('h:70000')).toThrow(/host:port/u);
  });
});
