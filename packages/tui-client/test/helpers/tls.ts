import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  /** node's fingerprint256: AB:CD:… */
  readonly fingerprint: string;
}

export interface TestCerts {
  /** A test CA (its certificate is what --ca gets). */
  readonly ca: CertFiles;
  /** A leaf for localhost / 127.0.0.1 signed by the test CA. */
  readonly signed: CertFiles;
  /** A leaf signed by the test CA for another name only (other.invalid). */
  readonly wrongName: CertFiles;
  /** Two different self-signed certificates for localhost / 127.0.0.1. */
  readonly selfA: CertFiles;
  readonly selfB: CertFiles;
}

const SAN = 'subjectAltName=DNS:localhost,IP:127.0.0.1';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function files(dir: string, name: string): CertFiles {
  const cert = join(dir, `${name}.pem`);
  return { cert, key: join(dir, `${name}.key`), fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

/** Makes a test CA, a leaf it signed, one for another name, and two self-signed leaves (openssl, ECDSA P-256, 2 days). */
export function makeCerts(dir: string): TestCerts {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  for (const name of ['selfA', 'selfB'])
    openssl(['req', '-x509', ...ec, '-subj', '/CN=localhost', '-addext', SAN, '-keyout', `${name}.key`, '-out', `${name}.pem`], dir);
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-subj',
      '/CN=Parley Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  for (const [name, san] of [
    ['signed', SAN],
    ['wrongName', 'subjectAltName=DNS:other.invalid'],
  ] as const) {
    openssl(
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      ],
      dir,
    );
    writeFileSync(join(dir, `${name}.ext`), `${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ],
      dir,
    );
  }
  return { ca: files(dir, 'ca'), signed: files(dir, 'signed'), wrongName: files(dir, 'wrongName'), selfA: files(dir, 'selfA'), selfB: files(dir, 'selfB') };
}

/**
 * A TLS front for a plain chat server (test-only): terminates TLS with the
 * certificate it is given and relays the line protocol to `targetPort`.
 * Records how many TLS sessions were opened and every byte clients sent
 * through them, so a test can show that nothing was sent.
 */
export class TlsRelay {
  readonly server: Server;
  /** Decrypted bytes from all clients, in order. */
  received = '';
  sessions = 0;
  readonly #sockets = new Set<Socket>();

  constructor(
    cert: CertFiles,
    readonly targetPort: number,
  ) {
    this.server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key), minVersion: 'TLSv1.2' }, (client: TLSSocket) => {
      this.sessions++;
      const upstream = tcpConnect({ host: '127.0.0.1', port: this.targetPort });
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      client.on('data', (d: Buffer) => {
        this.received += d.toString('utf8');
        upstream.write(d);
      });
      upstream.pipe(client);
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      for (const s of [client, upstream]) {
        s.on('error', () => undefined);
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
    });
    this.server.on('tlsClientError', () => undefined);
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  /** Serves another certificate on the same port from the next handshake on. */
  useCertificate(cert: CertFiles): void {
    this.server.setSecureContext({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) });
  }

  /** Cuts every open session (both sides), as a network failure would; the listener stays. */
  dropSessions(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
