import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes: scrypt from node:crypto, with a 16-byte random salt per
 * password. Chosen over argon2id because it needs no native package (argon2id
 * reaches node:crypto only in Node 24) and scrypt is memory-hard too; the
 * parameters are OWASP's scrypt row N=2^15, r=8, p=3 (32 MiB per hash). They
 * are stored in each hash, so a later default re-hashes on the next login.
 *
 * Stored form (PHC-like, one line, no secret in clear):
 *   $scrypt$N=32768,r=8,p=3$<salt, base64>$<64-byte key, base64>
 */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 3 };
const KEY_BYTES = 64;
const SALT_BYTES = 16;

/** Longest password accepted, in bytes of UTF-8 (hashing cost does not depend on it, but memory for the line does). */
export const PASSWORD_MAX_BYTES = 256;
export const PASSWORD_MIN_CHARS = 8;

/**
 * Why a new password is refused, or undefined when it is fine. Passwords are
 * the rest of a comma-grammar line, so a comma would make `password,<old>,<new>`
 * ambiguous: it is the one printable character refused.
 */
export function passwordProblem(password: string): string | undefined {
  const chars = [...password].length;
  if (chars < PASSWORD_MIN_CHARS) return `a password needs at least ${PASSWORD_MIN_CHARS} characters`;
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) return `a password is at most ${PASSWORD_MAX_BYTES} bytes`;
  if (password.includes(',')) return 'a password cannot contain a comma';
  // C0 controls, DEL and C1 controls.
  for (const ch of password) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return 'a password cannot contain control characters';
  }
  if (password.trim() !== password) return 'a password cannot begin or end with a space';
  return undefined;
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Hashes a password (≈ 32 MiB and tens of ms of one thread-pool thread at the default cost). */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return `$scrypt$N=${cost.N},r=${cost.r},p=${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const STORED = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/u;

/** The cost a stored hash was made with; undefined when it is not one of ours. */
export function storedCost(stored: string): ScryptCost | undefined {
  const m = STORED.exec(stored);
  if (!m) return undefined;
  const cost = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // A stored hash is ours, but a corrupted one must not make us allocate gigabytes.
  if (!Number.isInteger(Math.log2(cost.N)) || cost.N < 2 || cost.N > 2 ** 20 || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16) return undefined;
  return cost;
}

/**
 * Checks `password` against a stored hash in constant time. `rehash` says the
 * hash was made with another cost than `current` (hash it again after a good login).
 */
export async function verifyPassword(password: string, stored: string, current: ScryptCost = DEFAULT_SCRYPT_COST): Promise<{ ok: boolean; rehash: boolean }> {
  const m = STORED.exec(stored);
  const cost = storedCost(stored);
  if (!m || !cost) return { ok: false, rehash: false };
  const salt = Buffer.from(m[4] as string, 'base64');
  const expected = Buffer.from(m[5] as string, 'base64');
  if (expected.length !== KEY_BYTES) return { ok: false, rehash: false };
  const key = await derive(password, salt, cost);
  const ok = timingSafeEqual(key, expected);
  return { ok, rehash: ok && (cost.N !== current.N || cost.r !== current.r || cost.p !== current.p) };
}
