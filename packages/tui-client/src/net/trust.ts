/**
 * Whether to trust a TLS server's certificate: CA verification, pins in the
 * known-servers file (trust on first use, like ssh's known_hosts) and a
 * fingerprint given on the command line. Pure: no files, no sockets — the
 * caller reads the file (`known-servers.ts`) and the TLS socket.
 */

/** A SHA-256 certificate fingerprint as node's `X509Certificate.fingerprint256` writes it: 32 upper-case hex pairs joined by colons. */
export type Fingerprint = string & { readonly __fingerprint: unique symbol };

const HEX64 = /^[0-9a-f]{64}$/iu;

/**
 * Reads a fingerprint as a person may write it: `SHA256:AB:CD:…`, `AB:CD:…`,
 * `abcd…` (64 hex digits), any case, with or without colons. Returns the
 * canonical form, or undefined when it is not a SHA-256 fingerprint.
 */
export function parseFingerprint(text: string): Fingerprint | undefined {
  let t = text.trim();
  if (/^sha-?256:/iu.test(t)) t = t.slice(t.indexOf(':') + 1);
  if (t.includes(':') && !/^[0-9a-f]{2}(?::[0-9a-f]{2}){31}$/iu.test(t)) return undefined;
  const hex = t.replace(/:/gu, '');
  if (!HEX64.test(hex)) return undefined;
  return hex.toUpperCase().replace(/(..)(?!$)/gu, '$1:') as Fingerprint;
}

/** How a fingerprint is shown and written: `SHA256:AB:CD:…`. */
export function showFingerprint(f: Fingerprint): string {
  return `SHA256:${f}`;
}

/** A server's name in the known-servers file: `host:port`, the host in lower case, an IPv6 address in brackets. */
export function serverKey(host: string, port: number): string {
  // A trailing dot names the same host (chat.example.org. = chat.example.org).
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/u, '$1')
    .replace(/(?<=[^.])\.$/u, '');
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

/** One pin: `server` (see serverKey) → `fingerprint`, from line `line` (1-based) of the file. */
export interface KnownServer {
  readonly server: string;
  readonly fingerprint: Fingerprint;
  readonly line: number;
}

export interface KnownServersFile {
  readonly entries: readonly KnownServer[];
  /** Lines that are not a pin, not blank and not a comment: ignored, reported. */
  readonly problems: readonly { readonly line: number; readonly why: string }[];
}

/** Longest line read from the file; a longer one is reported and ignored. */
export const KNOWN_SERVERS_MAX_LINE = 1024;
/** Biggest known-servers file read (bytes); a bigger one is refused (not half-read). */
export const KNOWN_SERVERS_MAX_BYTES = 1024 * 1024;

const SERVER_FIELD = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)):([0-9]{1,5})$/iu;

/**
 * Parses the known-servers file: one `host:port SHA256:fingerprint` per line;
 * blank lines and lines starting with `#` are skipped. Anything else (a bad
 * host, port or fingerprint, extra fields, control bytes, an overlong line) is
 * reported by line number and ignored, never half-used.
 */
export function parseKnownServers(text: string): KnownServersFile {
  const entries: KnownServer[] = [];
  const problems: { line: number; why: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = (lines[i] ?? '').replace(/\r$/u, '');
    if (raw.length > KNOWN_SERVERS_MAX_LINE) {
      problems.push({ line, why: `longer than ${KNOWN_SERVERS_MAX_LINE} characters` });
      continue;
    }
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    const fields = t.split(/[ \t]+/u);
    if (fields.length !== 2) {
      problems.push({ line, why: 'expected "host:port SHA256:fingerprint"' });
      continue;
    }
    const m = SERVER_FIELD.exec(fields[0] ?? '');
    const port = Number(m?.[3]);
    if (!m || !(port >= 1 && port <= 65535)) {
      problems.push({ line, why: 'the server is not host:port' });
      continue;
    }
    const fingerprint = parseFingerprint(fields[1] ?? '');
    if (!fingerprint) {
      problems.push({ line, why: 'the fingerprint is not SHA256 followed by 64 hex digits' });
      continue;
    }
    entries.push({ server: serverKey(m[1] ?? m[2] ?? '', port), fingerprint, line });
  }
  return { entries, problems };
}

/** The line that pins `server` to `fingerprint` (without the newline). */
export function knownServerLine(server: string, fingerprint: Fingerprint): string {
  return `${server} ${showFingerprint(fingerprint)}`;
}

/** What the TLS handshake told us about the server's certificate. */
export interface PeerCertificate {
  /** The chain verified against the CAs and the host name matched. */
  readonly authorized: boolean;
  /** node's reason when not authorized (`DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, …). */
  readonly authorizationError?: string | undefined;
  readonly fingerprint: Fingerprint;
}

/** How a trusted server was trusted (shown in the status bar). */
export type TrustBasis = 'CA' | 'pinned' | 'fingerprint';

/** Why a certificate was refused: stable codes, each with its exit code in scripted mode. */
export const TRUST_REFUSALS = {
  /** Not signed by a trusted CA, not pinned, no --fingerprint (scripted mode, or the user said no). */
  NOT_TRUSTED: 'NOT_TRUSTED',
  /** The certificate differs from the one pinned for this server. */
  FINGERPRINT_CHANGED: 'FINGERPRINT_CHANGED',
  /** The certificate differs from --fingerprint. */
  FINGERPRINT_MISMATCH: 'FINGERPRINT_MISMATCH',
  /** A CA-signed certificate for another host name. */
  HOSTNAME_MISMATCH: 'HOSTNAME_MISMATCH',
  /** Any other verification failure (expired, not yet valid, not signed by the --ca CA, …). */
  CERT_INVALID: 'CERT_INVALID',
} as const;
export type TrustRefusal = (typeof TRUST_REFUSALS)[keyof typeof TRUST_REFUSALS];

export type TrustDecision =
  | { readonly kind: 'trusted'; readonly basis: TrustBasis }
  /** Unknown CA or self-signed, not pinned: ask the person (interactive only). */
  | { readonly kind: 'ask'; readonly fingerprint: Fingerprint }
  | { readonly kind: 'refused'; readonly code: TrustRefusal; readonly fingerprint: Fingerprint; readonly lines: readonly string[] };

export interface TrustInput {
  /** `host:port` (see serverKey). */
  readonly server: string;
  readonly peer: PeerCertificate;
  /** Every pin in the known-servers file. */
  readonly known: readonly KnownServer[];
  /** The known-servers file's path, for messages. */
  readonly knownFile: string;
  /** --fingerprint. */
  readonly expected?: Fingerprint | undefined;
  /** --ca was given: its CA is the only one, and an unknown one is refused, not asked about. */
  readonly customCa: boolean;
  /** A person can be asked (interactive, first connection). */
  readonly mayAsk: boolean;
}

/** node's verification errors that mean "signed by nobody we know": the only ones trust on first use may override. */
const UNKNOWN_ISSUER = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/**
 * The decision, in this order: --fingerprint must match when given; a pin for
 * this server must match (a change is refused loudly, never asked about, even
 * when a CA would vouch for the new certificate); else the CA verdict
 * (chain and host name); else an unknown issuer may be asked about.
 */
export function decideTrust(i: TrustInput): TrustDecision {
  const fp = i.peer.fingerprint;
  const refused = (code: TrustRefusal, lines: string[]): TrustDecision => ({ kind: 'refused', code, fingerprint: fp, lines });
  if (i.expected !== undefined) {
    if (i.expected === fp) return { kind: 'trusted', basis: 'fingerprint' };
    return refused(TRUST_REFUSALS.FINGERPRINT_MISMATCH, [
      `the certificate of ${i.server} does not match --fingerprint: nothing was sent.`,
      `  expected ${showFingerprint(i.expected)}`,
      `  got      ${showFingerprint(fp)}`,
      'Someone may be intercepting the connection, or the fingerprint you were given is out of date.',
    ]);
  }
  const pins = i.known.filter((k) => k.server === i.server);
  if (pins.length > 0) {
    if (pins.some((k) => k.fingerprint === fp)) return { kind: 'trusted', basis: 'pinned' };
    const where = pins.map((k) => k.line).join(', ');
    return refused(TRUST_REFUSALS.FINGERPRINT_CHANGED, [
      `WARNING: THE CERTIFICATE OF ${i.server} HAS CHANGED — refused, nothing was sent.`,
      ...pins.map((k) => `  pinned   ${showFingerprint(k.fingerprint)} (line ${k.line})`),
      `  now      ${showFingerprint(fp)}`,
      'Someone may be intercepting this connection (a man-in-the-middle attack), or the operator replaced the certificate.',
      `Ask the operator for the new fingerprint. Only if it matches, delete line ${where} of ${i.knownFile} and connect again.`,
    ]);
  }
  if (i.peer.authorized) return { kind: 'trusted', basis: 'CA' };
  const why = i.peer.authorizationError ?? 'unknown verification error';
  if (why === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return refused(TRUST_REFUSALS.HOSTNAME_MISMATCH, [
      `the certificate of ${i.server} is signed by a trusted CA but for another host name (${why}): refused, nothing was sent.`,
      `  its fingerprint is ${showFingerprint(fp)}`,
      'Connect with a host name the certificate is made out for, or, if the operator confirms that fingerprint, pass it with --fingerprint.',
    ]);
  }
  if (UNKNOWN_ISSUER.has(why) && !i.customCa) {
    if (i.mayAsk) return { kind: 'ask', fingerprint: fp };
    return refused(TRUST_REFUSALS.NOT_TRUSTED, [
      `the certificate of ${i.server} is not signed by a trusted CA (${why}) and is not pinned: refused, nothing was sent.`,
      `  its fingerprint is ${showFingerprint(fp)}`,
      "If that is the fingerprint the server's operator gave you, run again with --fingerprint " +
        `${showFingerprint(fp)}, or pin it by connecting once with the chat screen (parley --tls).`,
    ]);
  }
  return refused(TRUST_REFUSALS.CERT_INVALID, [
    `the certificate of ${i.server} failed verification${i.customCa ? ' against --ca' : ''} (${why}): refused, nothing was sent.`,
    `  its fingerprint is ${showFingerprint(fp)}`,
  ]);
}

/** The question shown before pinning. */
export function askLines(server: string, fingerprint: Fingerprint, knownFile: string): string[] {
  return [
    `The certificate of ${server} is not signed by a CA this computer trusts, and you have not connected to it before.`,
    `  its fingerprint is ${showFingerprint(fingerprint)}`,
    "Compare it with the fingerprint the server's operator gave you (parley-server self-signed prints it).",
    `Yes pins it in ${knownFile}: later connections check it.`,
  ];
}
