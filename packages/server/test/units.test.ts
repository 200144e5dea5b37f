import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DEPLOY = new URL('../deploy/', import.meta.url);
const single = readFileSync(new URL('parley-server.service', DEPLOY), 'utf8');
const template = readFileSync(new URL('parley-server@.service', DEPLOY), 'utf8');

/** `Key=Value` lines of one section, comments and blank lines left out. */
function directives(unit: string, section: string): string[] {
  const body = unit.split(/^\[/mu).find((s) => s.startsWith(`${section}]`)) ?? '';
  return body
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

/** What a cluster node's unit may change: where its config, state and log name are. */
const PER_INSTANCE = /^(ExecStart|WorkingDirectory|StateDirectory|ReadWritePaths|SyslogIdentifier)=/u;

describe('the systemd units in deploy/', () => {
  it('harden a cluster node (parley-server@) exactly like the single server: only its paths differ', () => {
    const a = directives(single, 'Service').filter((l) => !PER_INSTANCE.test(l));
    const b = directives(template, 'Service').filter((l) => !PER_INSTANCE.test(l));
    expect(b).toEqual(a);
    expect(directives(template, 'Service')).toContain(
      'ExecStart=/opt/parley-server/bin/parley-server --config /etc/parley/%i.json --node-id %i --log-format json',
    );
    expect(directives(template, 'Install')).toEqual(directives(single, 'Install'));
  });

  it('both pass systemd-analyze verify (an instance of the template, as systemctl would load it)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-units-'));
    try {
      writeFileSync(join(dir, 'parley-server.service'), single);
      writeFileSync(join(dir, 'parley-server@.service'), template);
      const r = spawnSync('systemd-analyze', ['verify', join(dir, 'parley-server.service'), join(dir, 'parley-server@chat-1.service')], { encoding: 'utf8' });
      expect(r.error, 'systemd-analyze must be installed (Debian package systemd)').toBeUndefined();
      // /opt/parley-server is not installed on this machine: only complaints about it are allowed.
      const complaints = `${r.stderr}${r.stdout}`.split('\n').filter((l) => l.trim() && !l.includes('/opt/parley-server'));
      expect(complaints).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
