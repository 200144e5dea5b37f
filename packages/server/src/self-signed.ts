import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedOptions {
  readonly certPath: string;
  readonly keyPath: string;
  /** Host names and IP addresses users will connect to; the first is the subject's CN. */
  readonly names: readonly string[];
  readonly days: number;
  /** Replace files that exist (default: refuse). */
  readonly force?: boolean;
  /** The openssl program (default: `openssl` from the PATH). */
  readonly openssl?: string;
}

export interface SelfSignedResult {
  /** SHA-256 of the certificate, `AB:CD:…`: what users compare or pin. */
  readonly fingerprint: string;
  readonly validTo: string;
  readonly names: string;
}

/** A name that can go into a certificate's subjectAltName: a DNS name or an IP address. */
export function checkCertName(name: string): string {
  if (isIP(name)) return `IP:${name}`;
  // RFC 1123 labels, with a wildcard allowed as the whole first label.
  if (name.length <= 253 && /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/iu.test(name)) return `DNS:${name}`;
  throw new Error(`"${name}" is not a host name or IP address`);
}

/**
 * Writes a self-signed certificate and its key, for a server without a CA
 * certificate. Uses the `openssl` command: node:crypto makes keys but not
 * certificates, every server distribution ships openssl (Debian's
 * ca-certificates depends on it), and an operator can read, repeat or change
 * the one command it runs. ECDSA P-256 keys: fast handshakes, small
 * certificates, accepted by every TLS 1.2+ client.
 */
export async function writeSelfSigned(options: SelfSignedOptions): Promise<SelfSignedResult> {
  const alt = options.names.map(checkCertName);
  if (alt.length === 0) throw new Error('give at least one --name');
  if (!options.force) {
    for (const path of [options.certPath, options.keyPath]) {
      if (await exists(path)) throw new Error(`${path} exists; remove it or pass --force to replace it`);
    }
  }
  const work = await mkdtemp(join(tmpdir(), 'parley-cert-'));
  try {
    const key = join(work, 'key.pem');
    const cert = join(work, 'cert.pem');
    const cn = (options.names[0] as string).replace(/[/\\=+,]/gu, '');
    try {
      await run(
        options.openssl ?? 'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          String(options.days),
          '-subj',
          `/CN=${cn}`,
          '-addext',
          `subjectAltName=${alt.join(',')}`,
          '-addext',
          'basicConstraints=critical,CA:FALSE',
          '-addext',
          'extendedKeyUsage=serverAuth',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { timeout: 30_000 },
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error('the openssl command is not installed (Debian/Ubuntu: apt-get install openssl)');
      throw new Error(`openssl failed: ${(e.stderr ?? e.message).trim().split('\n')[0] ?? ''}`);
    }
    const certPem = await readFile(cert);
    // The key is written readable by its owner only; the certificate is public.
    await writeFile(options.keyPath, await readFile(key), { mode: 0o600, flag: options.force ? 'w' : 'wx' });
    await chmod(options.keyPath, 0o600);
    await writeFile(options.certPath, certPem, { mode: 0o644, flag: options.force ? 'w' : 'wx' });
    const x509 = new X509Certificate(certPem);
    return { fingerprint: x509.fingerprint256, validTo: x509.validTo, names: x509.subjectAltName ?? '' };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
