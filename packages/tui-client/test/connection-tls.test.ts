import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Connection, type LinkState } from '../src/net/connection.js';
import { decideTrust, type PeerCertificate, type TrustDecision } from '../src/net/trust.js';
import { startServer, tempDir, type RunningServer } from './helpers/server.js';
import { makeCerts, TlsRelay, type TestCerts } from './helpers/tls.js';
import { WAIT } from './helpers/wait.js';

/** The Connection's TLS contract, over real sockets: the real server behind a node:tls front. */
let server: RunningServer;
let files: Awaited<ReturnType<typeof tempDir>>;
let work: Awaited<ReturnType<typeof tempDir>>;
let certs: TestCerts;
const relays: TlsRelay[] = [];
const conns: Connection[] = [];

beforeAll(async () => {
  files = await tempDir('parley-ctls-files-');
  work = await tempDir('parley-ctls-');
  certs = makeCerts(work.path);
  server = await startServer(files.path);
});

afterAll(async () => {
  for (const c of conns) c.close();
  for (const r of relays) await r.close();
  await server?.stop();
  await files?.remove();
  await work?.remove();
});

async function relay(cert: keyof TestCerts): Promise<{ relay: TlsRelay; port: number }> {
  const r = new TlsRelay(certs[cert], server.port);
  relays.push(r);
  return { relay: r, port: await r.listen() };
}

/** A connection through `port` that trusts the test CA, asks a person when it may, and records every call and state. */
function open(port: number, nick: string) {
  const calls: Array<{ first: boolean; peer: PeerCertificate; decision: TrustDecision }> = [];
  const states: LinkState[] = [];
  const untrusted: TrustDecision[] = [];
  const c = new Connection(
    {
      host: 'localhost',
      port,
      nick,
      backoff: { initialMs: 50, maxMs: 200 },
      tls: {
        ca: readFileSync(certs.ca.cert),
        verify: (peer, { first }) => {
          const decision = decideTrust({ server: `localhost:${port}`, peer, known: [], knownFile: 'known-servers', customCa: false, mayAsk: first });
          calls.push({ first, peer, decision });
          return decision;
        },
      },
    },
    { onState: (s) => states.push(s), onUntrusted: (d) => untrusted.push(d) },
  );
  conns.push(c);
  c.start();
  return { c, calls, states, untrusted };
}

describe('Connection with TLS', () => {
  it('verifies before joining, reports TLS and how it was trusted, and reconnects over TLS with the check run again (not as a first use)', async () => {
    const { relay: r, port } = await relay('signed');
    const { c, calls } = open(port, 'tlsann');
    await vi.waitFor(() => expect(c.state).toBe('online'), WAIT);
    expect(c.security).toEqual({ tls: true, version: 'TLSv1.3', basis: 'CA' });
    expect(calls.map((x) => x.first)).toEqual([true]);
    r.dropSessions();
    await vi.waitFor(() => expect(calls.length).toBe(2), WAIT);
    await vi.waitFor(() => expect(c.state).toBe('online'), WAIT);
    expect(calls[1]?.first).toBe(false);
    expect(r.sessions).toBe(2);
    expect(r.received.match(/^tlsann$/gmu)?.length).toBe(2);
  });

  it('a certificate that would be asked about on a reconnect is refused instead, and the connection stops there', async () => {
    const { relay: r, port } = await relay('signed');
    const { c, calls, untrusted, states } = open(port, 'tlsbob');
    await vi.waitFor(() => expect(c.state).toBe('online'), WAIT);
    const sent = r.received;
    r.useCertificate(certs.selfA);
    r.dropSessions();
    await vi.waitFor(() => expect(c.state).toBe('closed'), WAIT);
    expect(calls[1]?.peer).toMatchObject({ authorized: false, authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(untrusted).toMatchObject([{ kind: 'refused', code: 'NOT_TRUSTED' }]);
    expect(r.received).toBe(sent);
    // 'closed', not 'reconnecting': the Connection schedules a retry only in 'reconnecting' (see #lost).
    const afterRefusal = states.slice(states.lastIndexOf('online') + 1);
    expect(afterRefusal).toEqual(['reconnecting', 'connecting', 'closed']);
  });
});
