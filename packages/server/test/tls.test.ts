import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeEvent, peekPacketType } from '@parley/protocol';
import { downloadFile, uploadFile } from '@parley/udp-transfer';
import { RawClient } from './helpers.js';
import { killServers, logLines, runServer, SERVER_BIN, waitForReady, type ServerRun } from './server-process.js';

const BIN = SERVER_BIN;
const opened: Array<{ close(): void }> = [];
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-tls-'));
});
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
  killServers();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

type Run = ServerRun;

function run(args: string[], cwd = work): Run {
  // History off: several servers share the working folder here, and a data folder takes one server.
  return runServer(['--history', 'off', ...args], { cwd, env: { PATH: process.env.PATH ?? '' } });
}

interface Ready {
  port: number | 'off';
  tlsPort: number | 'off';
  udpPort: number;
  tlsFingerprint?: string;
}

const ready = (r: Run): Promise<Ready> => waitForReady<Ready>(r);

/** `parley-server self-signed`, as an operator runs it; returns the printed fingerprint. */
function selfSigned(name: string, names = ['localhost', '127.0.0.1']): { cert: string; key: string; fingerprint: string } {
  const cert = join(work, `${name}.crt`);
  const key = join(work, `${name}.key`);
  const r = spawnSync(process.execPath, [BIN, 'self-signed', '--cert', cert, '--key', key, '--force', ...names.flatMap((n) => ['--name', n])], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  const fingerprint = /SHA256 fingerprint: ([0-9A-F:]+)/u.exec(r.stdout)?.[1];
  expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/u);
  return { cert, key, fingerprint: fingerprint as string };
}

/** A TLS chat client trusting exactly `cert` (a self-signed certificate is its own CA). */
async function tlsClient(port: number, cert: string): Promise<{ client: RawClient; socket: TLSSocket }> {
  const ca = await readFile(cert);
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => resolve(s));
    s.once('error', reject);
  });
  const client = RawClient.wrap(socket);
  opened.push(client);
  return { client, socket };
}

async function tlsJoin(port: number, cert: string, nick: string): Promise<{ client: RawClient; socket: TLSSocket }> {
  const c = await tlsClient(port, cert);
  c.client.send(nick);
  await c.client.waitFor((l) => l.startsWith('online '));
  return c;
}

async function plainJoin(port: number, nick: string): Promise<RawClient> {
  const c = await RawClient.join(port, nick);
  opened.push(c);
  return c;
}

describe('chat over TLS (the built parley-server)', () => {
  it("self-signed writes a usable pair: the key is 0600, the fingerprint printed is the certificate's", async () => {
    const { cert, key, fingerprint } = selfSigned('a');
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(await readFile(cert));
    expect(x509.fingerprint256).toBe(fingerprint);
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    // A second run does not overwrite what an operator has without --force.
    const again = spawnSync(process.execPath, [BIN, 'self-signed', '--cert', cert, '--key', key], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists; remove it or pass --force/u);
  });

  it('a TLS user and a plain-text user chat in one room, privately too; the TLS session is TLS 1.3 on a verified certificate', async () => {
    const { cert, key } = selfSigned('b');
    const r = run(['--port', '0', '--tls-port', '0', '--tls-cert', cert, '--tls-key', key, '--udp-port', '-1', '--log-format', 'json']);
    const up = await ready(r);
    expect(typeof up.port).toBe('number');
    expect(typeof up.tlsPort).toBe('number');
    const alice = await tlsJoin(up.tlsPort as number, cert, 'alice');
    expect(alice.socket.getProtocol()).toBe('TLSv1.3');
    expect(alice.socket.authorized).toBe(true);
    const bob = await plainJoin(up.port as number, 'bob');
    alice.client.send('broadcast,hello from tls');
    await bob.waitFor((l) => l === 'broadcast alice :hello from tls');
    bob.send('alice,psst over plain');
    await alice.client.waitFor((l) => l === 'private bob alice :psst over plain');
    alice.client.send('online');
    await alice.client.waitFor((l) => l === 'online 2 alice bob');
  });

  it('a plain-text client on the TLS port gets one readable line and is closed; TLS users are unaffected', async () => {
    const { cert, key } = selfSigned('c');
    const r = run(['--port', '0', '--tls-port', '0', '--tls-cert', cert, '--tls-key', key, '--udp-port', '-1', '--ops-port', '0', '--log-format', 'json']);
    const up = (await ready(r)) as Ready & { opsPort: number };
    const alice = await tlsJoin(up.tlsPort as number, cert, 'alice');
    const nc = await RawClient.connect(up.tlsPort as number);
    opened.push(nc);
    nc.send('mallory');
    await nc.waitClosed();
    expect(nc.lines).toEqual([expect.stringMatching(/^bye TLS_REQUIRED :this port speaks TLS/u)]);
    // Garbage that starts like a handshake record fails the handshake alone.
    const junk = await RawClient.connect(up.tlsPort as number);
    opened.push(junk);
    junk.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]), randomBytes(32)]));
    await junk.waitClosed();
    const carol = await tlsJoin(up.tlsPort as number, cert, 'carol');
    carol.client.send('broadcast,still here');
    await alice.client.waitFor((l) => l === 'broadcast carol :still here');
    expect(logLines(r).some((l) => l.nick === 'mallory')).toBe(false);
    const metrics = await (await fetch(`http://127.0.0.1:${up.opsPort}/metrics`)).text();
    expect(metrics).toContain('parley_tls_connections_total{outcome="plain_text_on_tls_port"} 1');
    expect(metrics).toContain('parley_tls_connections_total{outcome="handshake_failed"} 1');
    expect(metrics).toContain('parley_tls_connections_total{outcome="TLSv1.3"} 2');
  });

  it('silent connections to the TLS port are bounded by --max-unjoined: the one silent longest makes room', async () => {
    const { cert, key } = selfSigned('i');
    const r = run(['--port', '0', '--tls-port', '0', '--tls-cert', cert, '--tls-key', key, '--udp-port', '-1', '--max-unjoined', '3', '--log-format', 'json']);
    const up = await ready(r);
    const silent: RawClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await RawClient.connect(up.tlsPort as number);
      opened.push(c);
      silent.push(c);
    }
    // The two oldest were dropped to keep three.
    await silent[0]?.waitClosed();
    await silent[1]?.waitClosed();
    // A TLS user gets in: while her handshake starts she is the newest silent one, so the oldest left makes room.
    const alice = await tlsJoin(up.tlsPort as number, cert, 'alice');
    await silent[2]?.waitClosed();
    alice.client.send('online');
    await alice.client.waitFor((l) => l === 'online 1 alice');
    expect(silent.slice(3).map((c) => c.closed)).toEqual([false, false]);
  });

  it('SIGHUP re-reads a renewed certificate: the connected user keeps chatting, new connections get the new one', async () => {
    const first = selfSigned('d');
    const live = { cert: join(work, 'live.crt'), key: join(work, 'live.key') };
    await writeFile(live.cert, await readFile(first.cert));
    await writeFile(live.key, await readFile(first.key));
    const r = run(['--port', '0', '--tls-port', '0', '--tls-cert', live.cert, '--tls-key', live.key, '--udp-port', '-1', '--log-format', 'json']);
    const up = await ready(r);
    expect(up.tlsFingerprint).toBe(first.fingerprint);
    const alice = await tlsJoin(up.tlsPort as number, live.cert, 'alice');
    expect(
      createHash('sha256')
        .update(alice.socket.getPeerX509Certificate()?.raw ?? Buffer.alloc(0))
        .digest('hex'),
    ).toBe(first.fingerprint.replace(/:/gu, '').toLowerCase());

    // A renewal half-written (a bad file) is refused, and the old certificate stays.
    await writeFile(live.cert, 'not a certificate\n');
    r.child.kill('SIGHUP');
    await vi.waitFor(() => expect(logLines(r).some((l) => String(l.msg).includes('NOT reloaded'))).toBe(true));

    const renewed = selfSigned('e');
    await writeFile(live.cert, await readFile(renewed.cert));
    await writeFile(live.key, await readFile(renewed.key));
    r.child.kill('SIGHUP');
    await vi.waitFor(() => expect(logLines(r).some((l) => l.changed === true && l.tlsFingerprint === renewed.fingerprint)).toBe(true));

    const bob = await tlsJoin(up.tlsPort as number, renewed.cert, 'bob');
    expect(bob.socket.getPeerX509Certificate()?.fingerprint256).toBe(renewed.fingerprint);
    alice.client.send('broadcast,after the renewal');
    await bob.client.waitFor((l) => l === 'broadcast alice :after the renewal');
    bob.client.send('alice,hi');
    await alice.client.waitFor((l) => l === 'private bob alice :hi');
    expect(r.child.exitCode).toBe(null);
  });

  it('--tls-only has no plain-text port; a missing key is one line and exit 2; SIGHUP without TLS does not stop the server', async () => {
    const { cert, key } = selfSigned('f');
    const only = run(['--tls-only', '--tls-port', '0', '--tls-cert', cert, '--tls-key', key, '--udp-port', '-1', '--log-format', 'json']);
    const up = await ready(only);
    expect(up.port).toBe('off');
    await tlsJoin(up.tlsPort as number, cert, 'alice');

    const missing = run(['--tls-port', '0', '--tls-cert', cert, '--tls-key', join(work, 'nope.key')]);
    expect(await missing.exit).toBe(2);
    expect(missing.err.join('').trim().split('\n')).toEqual([`parley-server: TLS key ${join(work, 'nope.key')}: cannot read it (no such file)`]);

    const wrongKey = selfSigned('g');
    const mismatch = run(['--tls-port', '0', '--tls-cert', cert, '--tls-key', wrongKey.key]);
    expect(await mismatch.exit).toBe(2);
    expect(mismatch.err.join('')).toMatch(/the key does not belong to the certificate/u);

    const plain = run(['--port', '0', '--udp-port', '-1', '--log-format', 'json']);
    const p = await ready(plain);
    plain.child.kill('SIGHUP');
    await vi.waitFor(() => expect(logLines(plain).some((l) => String(l.msg).includes('nothing to reload'))).toBe(true));
    const c = await plainJoin(p.port as number, 'bob');
    expect(c.lines.some((l) => l.startsWith('welcome'))).toBe(true);
  });
});

/** A UDP relay between the client and the server that keeps every datagram and can flip one bit of the first DATA packets. */
class CapturingRelay {
  readonly datagrams: Buffer[] = [];
  flipped = 0;
  readonly #socket: UdpSocket = createSocket('udp4');
  readonly #upstream: UdpSocket = createSocket('udp4');
  #client: { address: string; port: number } | undefined;

  constructor(
    private readonly serverPort: number,
    private readonly flipDataPackets: number,
  ) {
    this.#socket.on('message', (msg, from) => {
      this.#client = { address: from.address, port: from.port };
      this.datagrams.push(Buffer.from(msg));
      this.#upstream.send(msg, this.serverPort, '127.0.0.1');
    });
    this.#upstream.on('message', (msg) => {
      this.datagrams.push(Buffer.from(msg));
      let out = msg;
      if (this.flipped < this.flipDataPackets && peekPacketType(msg) === 'data') {
        out = Buffer.from(msg);
        const at = out.length - 20;
        out[at] = (out[at] as number) ^ 0x01;
        this.flipped += 1;
      }
      if (this.#client) this.#socket.send(out, this.#client.port, this.#client.address);
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.#upstream.bind(0, '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => this.#socket.bind(0, '127.0.0.1', () => resolve()));
    return this.#socket.address().port;
  }

  close(): void {
    this.#socket.close();
    this.#upstream.close();
  }
}

describe('downloads on a TLS session', () => {
  it('are sealed: no captured datagram holds any of the file, a flipped DATA bit is dropped, and the file arrives whole', async () => {
    const { cert, key } = selfSigned('h');
    const dir = await mkdtemp(join(work, 'srv-'));
    const file = randomBytes(600_000);
    await mkdir(join(dir, 'files'));
    await writeFile(join(dir, 'files', 'secret.bin'), file);
    const r = run(
      ['--port', '0', '--tls-port', '0', '--tls-cert', cert, '--tls-key', key, '--udp-port', '0', '--udp-host', '127.0.0.1', '--log-format', 'json'],
      dir,
    );
    const up = await ready(r);

    // The same file asked for over plain TCP comes with no key; over TLS with one.
    const bob = await plainJoin(up.port as number, 'bob');
    const plainOffer = decodeEvent(await bob.ask('download,secret.bin', (l) => l.startsWith('offer ')));
    expect(plainOffer.type === 'offer' && plainOffer.key).toBeUndefined();
    const alice = await tlsJoin(up.tlsPort as number, cert, 'alice');
    const offer = decodeEvent(await alice.client.ask('download,secret.bin', (l) => l.startsWith('offer ')));
    if (offer.type !== 'offer') throw new Error('not an offer');
    expect(offer.key).toMatch(/^[0-9a-f]{64}$/u);

    const relay = new CapturingRelay(up.udpPort, 3);
    opened.push(relay);
    const relayPort = await relay.start();
    const dest = join(dir, 'got.bin');
    const result = await downloadFile({ host: '127.0.0.1', port: relayPort, offer, destPath: dest });
    expect((await readFile(dest)).equals(file)).toBe(true);
    expect(relay.flipped).toBe(3);
    expect(result.unauthenticated).toBeGreaterThanOrEqual(3);

    // Every 16-byte window of the file, looked for in every datagram that crossed the wire.
    const wire = Buffer.concat(relay.datagrams);
    expect(relay.datagrams.length).toBeGreaterThan(400);
    for (let at = 0; at + 16 <= file.length; at += 997) {
      expect(wire.indexOf(file.subarray(at, at + 16))).toBe(-1);
    }
  });
});

describe('uploads (share) on a TLS session', () => {
  it('are sealed: the upload line carries a key, no captured datagram holds any of the file, and it arrives whole', async () => {
    const { cert, key } = selfSigned('u');
    const dir = await mkdtemp(join(work, 'srv-'));
    const r = run(
      ['--port', '0', '--tls-port', '0', '--tls-cert', cert, '--tls-key', key, '--udp-port', '0', '--udp-host', '127.0.0.1', '--log-format', 'json'],
      dir,
    );
    const up = await ready(r);
    const file = randomBytes(600_000);
    const path = join(dir, 'mine.bin');
    await writeFile(path, file);
    const sha = createHash('sha256').update(file).digest('hex');
    const alice = await tlsJoin(up.tlsPort as number, cert, 'alice');
    const ticket = decodeEvent(await alice.client.ask(`share,mine.bin,${file.length},${sha}`, (l) => l.startsWith('upload ') || l.startsWith('error ')));
    if (ticket.type !== 'upload') throw new Error(`not an upload ticket: ${JSON.stringify(ticket)}`);
    expect(ticket.key).toMatch(/^[0-9a-f]{64}$/u);
    const relay = new CapturingRelay(up.udpPort, 0);
    opened.push(relay);
    const relayPort = await relay.start();
    const from = alice.client.lines.length;
    await uploadFile({ host: '127.0.0.1', port: relayPort, ticket, path });
    expect(await alice.client.waitFor((l) => l.startsWith('shared ') || l.startsWith('error '), 5000, from)).toBe('shared alice mine.bin 600000');
    expect((await readFile(join(dir, 'data', 'shared', 'mine.bin'))).equals(file)).toBe(true);
    const wire = Buffer.concat(relay.datagrams);
    expect(relay.datagrams.length).toBeGreaterThan(400);
    for (let at = 0; at + 16 <= file.length; at += 997) {
      expect(wire.indexOf(file.subarray(at, at + 16))).toBe(-1);
    }
  });
});
