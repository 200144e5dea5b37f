import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Connection } from '../src/net/connection.js';
import { runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { makeCerts, TlsRelay, type TestCerts } from './helpers/tls.js';
import { WAIT } from './helpers/wait.js';

/**
 * Scripted `--tls` over real sockets: the real (plain) parley-server behind a
 * node:tls front that serves the test's certificates (`helpers/tls.ts`).
 */
let server: RunningServer;
let files: Awaited<ReturnType<typeof tempDir>>;
let work: Awaited<ReturnType<typeof tempDir>>;
let certs: TestCerts;
let bob: Connection;
const relays: TlsRelay[] = [];

async function relay(cert: keyof TestCerts): Promise<{ relay: TlsRelay; port: number }> {
  const r = new TlsRelay(certs[cert], server.port);
  relays.push(r);
  return { relay: r, port: await r.listen() };
}

/** A fresh config folder per run, so no pin leaks from one test into another. */
async function configHome(name: string, knownServers?: string): Promise<string> {
  const home = join(work.path, name);
  await mkdir(join(home, 'parley'), { recursive: true });
  if (knownServers !== undefined) await writeFile(join(home, 'parley', 'known-servers'), knownServers);
  return home;
}

function online(port: number, flags: string[], home: string) {
  return runClient(['online', '--host', '127.0.0.1', '--port', String(port), '--tls', ...flags], { env: { XDG_CONFIG_HOME: home } });
}

beforeAll(async () => {
  files = await tempDir('parley-tls-files-');
  work = await tempDir('parley-tls-');
  certs = makeCerts(work.path);
  server = await startServer(files.path);
  bob = new Connection({ host: '127.0.0.1', port: server.port, nick: 'bob', reconnect: false });
  bob.start();
  await vi.waitFor(() => expect(bob.state).toBe('online'), WAIT);
});

afterAll(async () => {
  bob?.close();
  for (const r of relays) await r.close();
  await server?.stop();
  await files?.remove();
  await work?.remove();
});

describe('parley --tls, scripted', () => {
  it('talks to a server whose certificate the --ca CA signed, and its lines travel inside TLS', async () => {
    const { relay: r, port } = await relay('signed');
    const res = await runClient(['online', '--host', 'localhost', '--port', String(port), '--ca', certs.ca.cert, '--nick', 'viaca'], {
      env: { XDG_CONFIG_HOME: await configHome('ca') },
    });
    expect(res).toMatchObject({ code: 0, stdout: 'bob\n' });
    expect(r.received).toMatch(/^viaca\n/u);
  });

  it('refuses a certificate of the --ca CA made out for another host name: exit 3, nothing sent', async () => {
    const { relay: r, port } = await relay('wrongName');
    const res = await runClient(['online', '--host', 'localhost', '--port', String(port), '--ca', certs.ca.cert], {
      env: { XDG_CONFIG_HOME: await configHome('name') },
    });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/another host name \(ERR_TLS_CERT_ALTNAME_INVALID\)/u);
    expect(r.sessions).toBe(1);
    expect(r.received).toBe('');
  });

  it('refuses a self-signed certificate that is neither pinned nor given: exit 3, the fingerprint and the way out on stderr, nothing sent', async () => {
    const { relay: r, port } = await relay('selfA');
    const res = await online(port, [], await configHome('unpinned'));
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('not signed by a trusted CA (DEPTH_ZERO_SELF_SIGNED_CERT) and is not pinned');
    expect(res.stderr).toContain(`--fingerprint SHA256:${certs.selfA.fingerprint}`);
    expect(r.sessions).toBe(1);
    expect(r.received).toBe('');
  });

  it('with --ca, refuses a self-signed certificate instead of offering trust on first use: exit 3', async () => {
    const { relay: r, port } = await relay('selfA');
    const res = await online(port, ['--ca', certs.ca.cert], await configHome('ca-self'));
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/failed verification against --ca/u);
    expect(r.received).toBe('');
  });

  it('accepts a self-signed certificate matching --fingerprint, written without colons in lower case', async () => {
    const { relay: r, port } = await relay('selfA');
    const res = await online(port, ['--fingerprint', certs.selfA.fingerprint.replace(/:/gu, '').toLowerCase(), '--nick', 'byfp'], await configHome('fp'));
    expect(res).toMatchObject({ code: 0, stdout: 'bob\n' });
    expect(r.received).toMatch(/^byfp\n/u);
  });

  it('refuses a certificate that does not match --fingerprint: exit 3, both fingerprints, nothing sent', async () => {
    const { relay: r, port } = await relay('selfB');
    const res = await online(port, ['--fingerprint', `SHA256:${certs.selfA.fingerprint}`], await configHome('fp-bad'));
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`expected SHA256:${certs.selfA.fingerprint}`);
    expect(res.stderr).toContain(`got      SHA256:${certs.selfB.fingerprint}`);
    expect(r.received).toBe('');
  });

  it('takes --host tls://host:port as --tls --host host --port port', async () => {
    const { relay: r, port } = await relay('signed');
    const res = await runClient(['online', '--host', `tls://localhost:${port}`, '--ca', certs.ca.cert, '--nick', 'scheme'], {
      env: { XDG_CONFIG_HOME: await configHome('scheme') },
    });
    expect(res).toMatchObject({ code: 0, stdout: 'bob\n' });
    expect(r.received).toMatch(/^scheme\n/u);
    const clash = await runClient(['online', '--host', `tls://localhost:${port}`, '--port', '1']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/name different ports/u);
  });

  it('takes --tls and --fingerprint from PARLEY_CLIENT_TLS and PARLEY_CLIENT_FINGERPRINT', async () => {
    const { port } = await relay('selfA');
    const env = { XDG_CONFIG_HOME: await configHome('env'), PARLEY_CLIENT_TLS: '1', PARLEY_CLIENT_FINGERPRINT: certs.selfA.fingerprint };
    expect(await runClient(['online', '--host', '127.0.0.1', '--port', String(port)], { env })).toMatchObject({ code: 0, stdout: 'bob\n' });
  });

  it('trusts a pinned certificate with no CA, and refuses a changed one loudly with exit 4: nothing sent, the file untouched', async () => {
    const { relay: r, port } = await relay('selfA');
    const pins = `# test\n127.0.0.1:${port} SHA256:${certs.selfA.fingerprint}\n`;
    const home = await configHome('pinned', pins);
    expect(await online(port, ['--nick', 'pinned'], home)).toMatchObject({ code: 0, stdout: 'bob\n' });
    r.useCertificate(certs.selfB);
    const before = r.received;
    const res = await online(port, [], home);
    expect(res.code).toBe(4);
    expect(res.stderr).toContain(`THE CERTIFICATE OF 127.0.0.1:${port} HAS CHANGED`);
    expect(res.stderr).toContain(`pinned   SHA256:${certs.selfA.fingerprint} (line 2)`);
    expect(res.stderr).toContain(`now      SHA256:${certs.selfB.fingerprint}`);
    expect(res.stderr).toMatch(/man-in-the-middle/u);
    expect(res.stderr).toContain(`delete line 2 of ${join(home, 'parley', 'known-servers')}`);
    expect(r.received).toBe(before);
    expect(await readFile(join(home, 'parley', 'known-servers'), 'utf8')).toBe(pins);
  });

  it('warns about a broken line of the known-servers file by number and still uses the good pin', async () => {
    const { port } = await relay('selfA');
    const home = await configHome('hostile', `\u001b[2Jjunk line here\n127.0.0.1:${port} SHA256:${certs.selfA.fingerprint}\n`);
    const res = await online(port, [], home);
    expect(res).toMatchObject({ code: 0, stdout: 'bob\n' });
    expect(res.stderr).toMatch(/known-servers line 1 ignored: expected "host:port SHA256:fingerprint"/u);
    expect(res.stderr).not.toContain('\u001b');
  });

  it('refuses to decide (exit 1, nothing sent) when the known-servers file cannot be read, rather than ignoring a pin', async () => {
    const { relay: r, port } = await relay('selfA');
    const home = await configHome('unreadable');
    await mkdir(join(home, 'parley', 'known-servers'));
    const res = await online(port, ['--fingerprint', certs.selfA.fingerprint], home);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/cannot check the certificate: .*known-servers is not a regular file/u);
    expect(r.received).toBe('');
  });

  it('says the handshake failed, exit 1, when --tls is pointed at the plain port', async () => {
    const res = await online(server.port, [], await configHome('plainport'));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/TLS handshake failed \(ERR_SSL_[A-Z_]+\): is 127\.0\.0\.1:\d+ the server's TLS port\?/u);
  });

  it('exits 2 on a malformed --fingerprint or an unreadable --ca, before connecting', async () => {
    const bad = await runClient(['online', '--fingerprint', 'SHA256:12:34']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--fingerprint must be a SHA-256 fingerprint/u);
    const ca = await runClient(['online', '--ca', join(work.path, 'nope.pem')]);
    expect(ca.code).toBe(2);
    expect(ca.stderr).toMatch(/cannot read --ca .*nope\.pem/u);
  });

  it('connects to port 55443 when only --tls is given', async () => {
    // Nothing listens there in the test (or something that is not us): the attempt names the port.
    const res = await runClient(['online', '--tls', '--host', '127.0.0.1', '--timeout', '3'], { env: { XDG_CONFIG_HOME: await configHome('default-port') } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/127\.0\.0\.1:55443/u);
  });
});
