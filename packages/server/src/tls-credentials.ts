import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';

/** What a loaded certificate is, for the ready line and the reload log. */
export interface CertificateInfo {
  /** SHA-256 of the DER certificate, `AB:CD:…` (what users pin). */
  readonly fingerprint: string;
  readonly subject: string;
  /** Names the certificate is valid for, from its subjectAltName. */
  readonly names: string;
  readonly validTo: string;
  readonly selfSigned: boolean;
}

/** A certificate or key that cannot be used; its message is one line naming the file and why. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

/**
 * TLS 1.2 at least (1.3 is preferred by both sides when they have it). Node's
 * default cipher list for 1.2 is forward-secret AEAD first; it is kept.
 */
export const TLS_MIN_VERSION = 'TLSv1.2' as const;

/**
 * The server's certificate and key, re-readable (SIGHUP after a renewal).
 * Connections already open keep the context they were made with; new ones get
 * the current one.
 */
export class TlsCredentials {
  #context: SecureContext;
  #info: CertificateInfo;

  private constructor(
    readonly certPath: string,
    readonly keyPath: string,
    loaded: { context: SecureContext; info: CertificateInfo },
  ) {
    this.#context = loaded.context;
    this.#info = loaded.info;
  }

  /** Reads and checks the files; throws `TlsConfigError` with one clear line. */
  static load(certPath: string, keyPath: string): TlsCredentials {
    return new TlsCredentials(certPath, keyPath, loadPair(certPath, keyPath));
  }

  get context(): SecureContext {
    return this.#context;
  }

  get info(): CertificateInfo {
    return this.#info;
  }

  /**
   * Reads the files again. On success new connections use them; on failure
   * (a half-written renewal, a bad permission) the old pair stays in use and
   * the error says why.
   */
  reload(): { ok: true; info: CertificateInfo; changed: boolean } | { ok: false; error: TlsConfigError } {
    try {
      const loaded = loadPair(this.certPath, this.keyPath);
      const changed = loaded.info.fingerprint !== this.#info.fingerprint;
      this.#context = loaded.context;
      this.#info = loaded.info;
      return { ok: true, info: loaded.info, changed };
    } catch (err) {
      return { ok: false, error: err instanceof TlsConfigError ? err : new TlsConfigError(String(err)) };
    }
  }
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder' : (code ?? (err as Error).message);
    throw new TlsConfigError(`TLS ${what} ${path}: cannot read it (${why})`);
  }
}

function loadPair(certPath: string, keyPath: string): { context: SecureContext; info: CertificateInfo } {
  const cert = readPem(certPath, 'certificate');
  const key = readPem(keyPath, 'key');
  let x509: X509Certificate;
  try {
    // The first certificate of the file is the server's; the rest is its chain (Let's Encrypt's fullchain.pem).
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new TlsConfigError(`TLS certificate ${certPath}: not a PEM certificate (${(err as Error).message})`);
  }
  let context: SecureContext;
  try {
    context = createSecureContext({ cert, key, minVersion: TLS_MIN_VERSION });
  } catch (err) {
    const message = (err as Error).message;
    const why = /key values mismatch/iu.test(message) ? 'the key does not belong to the certificate' : message;
    throw new TlsConfigError(`TLS key ${keyPath}: cannot use it with ${certPath} (${why})`);
  }
  return {
    context,
    info: {
      fingerprint: x509.fingerprint256,
      subject: x509.subject.replace(/\n/gu, ', '),
      names: x509.subjectAltName ?? '',
      validTo: x509.validTo,
      selfSigned: x509.checkIssued(x509),
    },
  };
}
