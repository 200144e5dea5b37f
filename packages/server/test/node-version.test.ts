import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIN_NODE, nodeIsSupported, unsupportedNodeMessage } from '../src/node-version.js';

describe('the Node version check at start', () => {
  it('asks for the same Node as package.json "engines"', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE.replace(/\.0$/u, '')}`);
  });

  it('accepts the minimum and anything newer, refuses anything older', () => {
    expect(nodeIsSupported('20.19.0')).toBe(true);
    expect(nodeIsSupported('v20.20.2')).toBe(true);
    expect(nodeIsSupported('22.1.0')).toBe(true);
    expect(nodeIsSupported('20.18.3')).toBe(false);
    expect(nodeIsSupported('18.20.4')).toBe(false);
    expect(nodeIsSupported('v12.22.12')).toBe(false);
    expect(nodeIsSupported('garbage')).toBe(false);
  });

  it('names the version it needs, the one it found, and where to get a newer one, in one line', () => {
    const m = unsupportedNodeMessage('v18.20.4', '/usr/bin/node');
    expect(m).not.toContain('\n');
    expect(m).toContain(MIN_NODE);
    expect(m).toContain('v18.20.4');
    expect(m).toContain('/usr/bin/node');
    expect(m).toContain('NodeSource');
  });
});
