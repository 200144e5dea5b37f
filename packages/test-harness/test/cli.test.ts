import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';

let dir: string;
let out: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'harness-cli-'));
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('parley-harness run', () => {
  it('exits 1 and shows the failing step, what the client had received and the server output', async () => {
    const file = join(dir, 'wrong.yaml');
    await writeFile(
      file,
      'name: expects a reply that never comes\nclients: [alice]\nsteps:\n  - join: alice\n  - send: alice\n    line: online\n  - expect: alice\n    line: "online 2 alice bob"\n    timeout: 300\n',
    );
    expect(await main(['run', file, '--udp', 'off'])).toBe(1);
    expect(out).toContain('✓  1. alice joins');
    expect(out).toContain('✗  3. alice receives line "online 2 alice bob"');
    expect(out).toContain('timed out after 300 ms waiting for line "online 2 alice bob"');
    expect(out).toContain('| online 1 alice');
    expect(out).toContain('parley-server ready');
    expect(out).toContain('scenarios: 0 passed, 1 failed, 0 skipped');
  });

  it('exits 2 and lists the problems of an invalid scenario without running anything', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ name: 'bad', clients: ['a'], steps: [{ join: 'b' }] }));
    expect(await main(['run', file])).toBe(2);
    expect(out).toContain('unknown client "b"');
    expect(out).not.toContain('scenarios:');
  });

  it('skips scenarios that need their own server when pointed at --target', async () => {
    expect(await main(['run', 'shutdown', '--target', '127.0.0.1:9'])).toBe(0);
    expect(out).toContain('SKIP on SIGTERM');
    expect(out).toContain('scenarios: 0 passed, 0 failed, 1 skipped');
  });

  it('prints help with both commands and exits 0', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(out).toMatch(/run \[scenarios\.\.\]/u);
    expect(out).toMatch(/load <mode>/u);
  });
});
