import { readFile } from 'node:fs/promises';
import type { TlsSettings } from './connection.js';
import { readKnownServers } from './known-servers.js';
import { decideTrust, serverKey, type Fingerprint } from './trust.js';

/** The --ca file could not be used. */
export class CaFileError extends Error {
  readonly code = 'CA_FILE_UNREADABLE';
}

/** Biggest --ca file read (a CA bundle such as Mozilla's is about 220 KB). */
export const CA_FILE_MAX_BYTES = 4 * 1024 * 1024;

export async function readCaFile(path: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (err) {
    throw new CaFileError(`cannot read --ca ${path}: ${(err as Error).message}`);
  }
  if (pem.length > CA_FILE_MAX_BYTES) throw new CaFileError(`--ca ${path} is larger than ${CA_FILE_MAX_BYTES} bytes`);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CaFileError(`--ca ${path} has no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return pem;
}

export interface TrustOptions {
  readonly host: string;
  readonly port: number;
  /** The contents of --ca. */
  readonly ca?: Buffer | undefined;
  /** --fingerprint. */
  readonly fingerprint?: Fingerprint | undefined;
  /** A person can be asked on the first connection (the chat screen); scripts never ask. */
  readonly interactive: boolean;
  /** The known-servers file. */
  readonly knownFile: string;
  /** Lines of the known-servers file that were ignored, said once. */
  readonly onFileProblems?: (lines: string[]) => void;
}

/**
 * The connection's TLS settings: every handshake re-reads the known-servers
 * file (a pin made a moment ago counts) and decides with `decideTrust`.
 */
export function tlsSettings(o: TrustOptions): TlsSettings {
  let told = false;
  return {
    ca: o.ca,
    verify: async (peer, { first }) => {
      const file = await readKnownServers(o.knownFile);
      if (!told && file.problems.length > 0) {
        told = true;
        o.onFileProblems?.(file.problems.map((p) => `${o.knownFile} line ${p.line} ignored: ${p.why}`));
      }
      return decideTrust({
        server: serverKey(o.host, o.port),
        peer,
        known: file.entries,
        knownFile: o.knownFile,
        expected: o.fingerprint,
        customCa: o.ca !== undefined,
        mayAsk: o.interactive && first,
      });
    },
  };
}
