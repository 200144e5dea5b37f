import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerEvent } from '@parley/protocol';
import { Connection } from '../src/net/connection.js';
import { CLIENT_BIN, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { haveTmux, Tmux } from './helpers/tmux.js';
import { makeCerts, TlsRelay, type TestCerts } from './helpers/tls.js';
import { WAIT } from './helpers/wait.js';

/**
 * Trust on first use in the chat screen (tmux): the real parley-server
 * behind a node:tls front serving self-signed certificates. Wide terminal, so
 * a fingerprint fits on one line of the conversation.
 */
const W = 200;
const H = 40;
let files: Awaited<ReturnType<typeof tempDir>>;
let work: Awaited<ReturnType<typeof tempDir>>;
let certs: TestCerts;
let server: RunningServer;
let relay: TlsRelay;
let port: number;
let tmux: Tmux;
let bob: Connection;
let bobHeard: string[];
let configHome: string;
const knownFile = (): string => join(configHome, 'parley', 'known-servers');

function parley(args: string): string {
  return `XDG_CONFIG_HOME=${configHome} ${process.execPath} ${CLIENT_BIN} ${args}`;
}

describe.skipIf(!haveTmux())('parley --tls on screen: trust on first use', () => {
  beforeAll(async () => {
    files = await tempDir('parley-tofu-files-');
    work = await tempDir('parley-tofu-');
    certs = makeCerts(work.path);
  });

  beforeEach(async () => {
    configHome = join(work.path, `cfg-${Math.random().toString(36).slice(2)}`);
    tmux = new Tmux();
    server = await startServer(files.path);
    relay = new TlsRelay(certs.selfA, server.port);
    port = await relay.listen();
    bobHeard = [];
    bob = new Connection(
      { host: '127.0.0.1', port: server.port, nick: 'bob', reconnect: false },
      { onEvent: (e: ServerEvent) => void (e.type === 'broadcast' && bobHeard.push(`${e.from}: ${e.text}`)) },
    );
    bob.start();
    await vi.waitFor(() => expect(bob.state).toBe('online'), WAIT);
  });

  afterEach(async () => {
    await tmux.kill();
    bob.close();
    await relay.close();
    await server.stop();
  });

  afterAll(async () => {
    await files?.remove();
    await work?.remove();
  });

  /** ann's first connection: the question, y, the pin, the welcome. */
  async function firstUse(): Promise<void> {
    await tmux.start('ann', parley(`--tls --host 127.0.0.1 --port ${port} --nick ann`), W, H);
    const asked = await tmux.waitFor('ann', /Trust this certificate and pin it\? \(y\/N\)/u);
    expect(asked).toContain(`its fingerprint is SHA256:${certs.selfA.fingerprint}`);
    expect(asked).toContain(`not signed by a CA this computer trusts`);
    // Nothing is sent before the answer, and nothing is pinned.
    expect(relay.received).toBe('');
    await expect(stat(knownFile())).rejects.toThrow(/ENOENT/u);
    await tmux.type('ann', 'y');
    await tmux.waitFor('ann', /Welcome to Parley, ann!/u);
  }

  it('asks before trusting a self-signed certificate, pins it on yes (0600), then chats with TLS in the status bar', async () => {
    await firstUse();
    const s = await tmux.waitFor('ann', /● online │ TLS 1\.3 · pinned/u);
    expect(s).toContain(`pinned 127.0.0.1:${port} SHA256:${certs.selfA.fingerprint}`);
    expect(await readFile(knownFile(), 'utf8')).toMatch(new RegExp(`\\n127\\.0\\.0\\.1:${port} SHA256:${certs.selfA.fingerprint}\\n$`, 'u'));
    expect((await stat(knownFile())).mode & 0o777).toBe(0o600);
    expect((await stat(join(configHome, 'parley'))).mode & 0o777).toBe(0o700);
    // Chat both ways through the TLS front.
    await tmux.type('ann', 'hello over tls');
    await tmux.keys('ann', 'Enter');
    await vi.waitFor(() => expect(bobHeard).toContain('ann: hello over tls'), WAIT);
    expect(relay.received).toContain('hello over tls');
    bob.send({ type: 'broadcast', text: 'hi ann' });
    await tmux.waitFor('ann', /<bob> hi ann/u);
    // A dropped connection comes back over TLS with the same pin, not plain.
    const sessions = relay.sessions;
    relay.dropSessions();
    await tmux.waitFor('ann', /reconnected as ann/u);
    expect(relay.sessions).toBeGreaterThan(sessions);
    await tmux.waitFor('ann', /● online │ TLS 1\.3 · pinned/u);
  });

  it('trusts a certificate the --ca CA signed without a question, pins nothing, and says TLS 1.3 · CA', async () => {
    relay.useCertificate(certs.signed);
    await tmux.start('ann', parley(`--ca ${certs.ca.cert} --host localhost --port ${port} --nick ann`), W, H);
    const s = await tmux.waitFor('ann', /● online │ TLS 1\.3 · CA/u);
    expect(s).toMatch(/Welcome to Parley, ann!/u);
    expect(s).not.toMatch(/Trust this certificate/u);
    await expect(stat(knownFile())).rejects.toThrow(/ENOENT/u);
  });

  it('no (the default, Enter) connects nowhere and pins nothing', async () => {
    await tmux.start('ann', parley(`--tls --host 127.0.0.1 --port ${port} --nick ann`), W, H);
    await tmux.waitFor('ann', /Trust this certificate and pin it\? \(y\/N\)/u);
    await tmux.keys('ann', 'Enter');
    const s = await tmux.waitFor('ann', /not connected: the certificate of 127\.0\.0\.1:\d+ was not trusted/u);
    expect(s).toMatch(/○ closed │ TLS/u);
    expect(relay.received).toBe('');
    await expect(stat(knownFile())).rejects.toThrow(/ENOENT/u);
  });

  it('refuses a changed certificate loudly, on a reconnect and on a new start, with no question and nothing sent', async () => {
    await firstUse();
    await tmux.waitFor('ann', /TLS 1\.3 · pinned/u);
    const pins = await readFile(knownFile(), 'utf8');
    // Same host:port, another certificate: the reconnect is refused, not asked about.
    relay.useCertificate(certs.selfB);
    const sent = relay.received;
    relay.dropSessions();
    let s = await tmux.waitFor('ann', /HAS CHANGED/u);
    expect(s).toContain(`pinned   SHA256:${certs.selfA.fingerprint} (line 2)`);
    expect(s).toContain(`now      SHA256:${certs.selfB.fingerprint}`);
    expect(s).toMatch(/man-in-the-middle/u);
    // The screen may wrap the line between the words and the (random-length) path.
    expect(s).toMatch(/delete line 2 of\s/u);
    expect(s).toContain(knownFile());
    expect(s).not.toMatch(/Trust this certificate/u);
    expect(relay.received).toBe(sent);
    // A new start: the same refusal, at once.
    await tmux.start('ann2', parley(`--tls --host 127.0.0.1 --port ${port} --nick ann2`), W, H);
    s = await tmux.waitFor('ann2', /HAS CHANGED/u);
    expect(s).toContain(`now      SHA256:${certs.selfB.fingerprint}`);
    expect(s).toMatch(/○ closed/u);
    expect(s).not.toMatch(/Trust this certificate/u);
    expect(relay.received).toBe(sent);
    expect(await readFile(knownFile(), 'utf8')).toBe(pins);
  });
});
