import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addKnownServer, KnownServersError, knownServersPath, readKnownServers } from '../src/net/known-servers.js';
import {
  decideTrust,
  KNOWN_SERVERS_MAX_BYTES,
  knownServerLine,
  parseFingerprint,
  parseKnownServers,
  serverKey,
  TRUST_REFUSALS,
  type Fingerprint,
  type TrustInput,
} from '../src/net/trust.js';
import { tempDir } from './helpers/server.js';

const HEX_A = 'ab'.repeat(32);
const FP_A = parseFingerprint(HEX_A) as Fingerprint;
const FP_B = parseFingerprint('cd'.repeat(32)) as Fingerprint;
const COLONS_A = `${'AB:'.repeat(31)}AB`;

describe('fingerprints', () => {
  it('reads SHA256:AB:CD…, bare colon pairs and 64 hex digits in any case, all to the same canonical form', () => {
    for (const text of [`SHA256:${COLONS_A}`, `sha256:${COLONS_A.toLowerCase()}`, COLONS_A, HEX_A, HEX_A.toUpperCase(), `SHA-256:${HEX_A}`, `  ${HEX_A}\n`]) {
      expect(parseFingerprint(text), text).toBe(COLONS_A);
    }
    expect(FP_A).not.toBe(FP_B);
  });

  it('refuses anything that is not exactly 32 bytes of hex', () => {
    for (const text of [
      '',
      'SHA256:',
      HEX_A.slice(2),
      `${HEX_A}ab`,
      `${HEX_A.slice(1)}g`,
      `SHA1:${HEX_A}`,
      `A:B${COLONS_A.slice(3)}`,
      `${COLONS_A}:`,
      HEX_A.replace('ab', 'a b'),
    ]) {
      expect(parseFingerprint(text), text).toBeUndefined();
    }
  });

  it('names servers as lower-case host:port, IPv6 in brackets', () => {
    expect(serverKey('Chat.Example.ORG', 55443)).toBe('chat.example.org:55443');
    expect(serverKey('::1', 55443)).toBe('[::1]:55443');
    expect(serverKey('[2001:DB8::1]', 1)).toBe('[2001:db8::1]:1');
    expect(serverKey('chat.example.org.', 55443)).toBe('chat.example.org:55443');
  });
});

describe('the known-servers file format', () => {
  it('reads pins, skipping comments and blank lines, and writes the same line back', () => {
    const text = `# pins\n\nchat.example.org:55443 SHA256:${COLONS_A}\r\n[::1]:55443   ${HEX_A}\n`;
    const f = parseKnownServers(text);
    expect(f.problems).toEqual([]);
    expect(f.entries).toEqual([
      { server: 'chat.example.org:55443', fingerprint: FP_A, line: 3 },
      { server: '[::1]:55443', fingerprint: FP_A, line: 4 },
    ]);
    expect(parseKnownServers(`${knownServerLine('chat.example.org:55443', FP_B)}\n`).entries[0]).toMatchObject({
      server: 'chat.example.org:55443',
      fingerprint: FP_B,
    });
  });

  it('ignores and reports hostile or broken lines by number, never half-using one', () => {
    const lines = [
      `chat.example.org ${HEX_A}`, // no port
      `chat.example.org:0 ${HEX_A}`, // port 0
      `chat.example.org:70000 ${HEX_A}`, // port too big
      `chat.example.org:55443 ${HEX_A} extra`, // extra field
      `chat.example.org:55443 SHA1:${HEX_A}`, // not SHA-256
      `chat.example.org:55443`, // no fingerprint
      `chat\u0000.example.org:55443 ${HEX_A}`, // NUL in the host
      `\u001b[31mchat.example.org:55443 ${HEX_A}`, // escape sequence
      `-chat.example.org:55443 ${HEX_A}`, // a host cannot start with -
      `x`.repeat(5000), // overlong
      `good.example:1 ${HEX_A}`,
    ];
    const f = parseKnownServers(lines.join('\n'));
    expect(f.entries).toEqual([{ server: 'good.example:1', fingerprint: FP_A, line: 11 }]);
    expect(f.problems.map((p) => p.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(f.problems[9]?.why).toMatch(/longer than 1024/u);
  });

  it('survives random bytes: only typed results, every line either an entry or a problem or skipped', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 400) }, () => Math.floor(rnd() * 256)));
      const f = parseKnownServers(bytes.toString('utf8'));
      for (const e of f.entries) expect(parseFingerprint(e.fingerprint)).toBe(e.fingerprint);
    }
  });
});

describe('trust decisions', () => {
  const base: TrustInput = {
    server: 'chat.example.org:55443',
    peer: { authorized: false, authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT', fingerprint: FP_A },
    known: [],
    knownFile: '/home/ann/.config/parley/known-servers',
    customCa: false,
    mayAsk: true,
  };
  const pinB = [{ server: 'chat.example.org:55443', fingerprint: FP_B, line: 7 }];

  it('trusts a CA-verified certificate whose host name matches', () => {
    expect(decideTrust({ ...base, peer: { authorized: true, fingerprint: FP_A } })).toEqual({ kind: 'trusted', basis: 'CA' });
  });

  it('asks about a self-signed, unpinned certificate only when a person can be asked', () => {
    expect(decideTrust(base)).toEqual({ kind: 'ask', fingerprint: FP_A });
    const d = decideTrust({ ...base, mayAsk: false });
    expect(d).toMatchObject({ kind: 'refused', code: TRUST_REFUSALS.NOT_TRUSTED });
    expect(d.kind === 'refused' && d.lines.join('\n')).toContain(`--fingerprint SHA256:${COLONS_A}`);
  });

  it('trusts a pinned certificate without a CA, and a pin for another server or port does not count', () => {
    expect(decideTrust({ ...base, known: [{ server: 'chat.example.org:55443', fingerprint: FP_A, line: 1 }] })).toEqual({ kind: 'trusted', basis: 'pinned' });
    const elsewhere = [
      { server: 'chat.example.org:1', fingerprint: FP_A, line: 1 },
      { server: 'other.example.org:55443', fingerprint: FP_A, line: 2 },
    ];
    expect(decideTrust({ ...base, known: elsewhere })).toEqual({ kind: 'ask', fingerprint: FP_A });
  });

  it('refuses a changed certificate loudly — both fingerprints, the attack, the file and line to delete — even when a CA vouches for it, and never asks', () => {
    for (const peer of [base.peer, { authorized: true, fingerprint: FP_A }]) {
      const d = decideTrust({ ...base, peer, known: pinB });
      expect(d).toMatchObject({ kind: 'refused', code: TRUST_REFUSALS.FINGERPRINT_CHANGED });
      const text = d.kind === 'refused' ? d.lines.join('\n') : '';
      expect(text).toContain(`SHA256:${FP_B}`);
      expect(text).toContain(`SHA256:${FP_A}`);
      expect(text).toMatch(/HAS CHANGED.*man-in-the-middle/su);
      expect(text).toContain('delete line 7 of /home/ann/.config/parley/known-servers');
    }
  });

  it('requires --fingerprint to match when given, whatever the CA or the pins say', () => {
    expect(decideTrust({ ...base, expected: FP_A })).toEqual({ kind: 'trusted', basis: 'fingerprint' });
    expect(decideTrust({ ...base, expected: FP_A, known: pinB })).toEqual({ kind: 'trusted', basis: 'fingerprint' });
    expect(decideTrust({ ...base, expected: FP_B, peer: { authorized: true, fingerprint: FP_A } })).toMatchObject({
      kind: 'refused',
      code: TRUST_REFUSALS.FINGERPRINT_MISMATCH,
    });
  });

  it('refuses a CA-signed certificate for another host name, and never asks about it', () => {
    const peer = { authorized: false, authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID', fingerprint: FP_A };
    expect(decideTrust({ ...base, peer })).toMatchObject({ kind: 'refused', code: TRUST_REFUSALS.HOSTNAME_MISMATCH });
  });

  it('with --ca, refuses (does not ask about) a certificate that CA did not sign; other failures (expired) are refused', () => {
    expect(decideTrust({ ...base, customCa: true })).toMatchObject({ kind: 'refused', code: TRUST_REFUSALS.CERT_INVALID });
    expect(decideTrust({ ...base, peer: { authorized: false, authorizationError: 'CERT_HAS_EXPIRED', fingerprint: FP_A } })).toMatchObject({
      kind: 'refused',
      code: TRUST_REFUSALS.CERT_INVALID,
    });
  });
});

describe('the known-servers file on disk', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir('parley-known-')));
  afterEach(async () => dir.remove());

  it('lives in $XDG_CONFIG_HOME/parley, else ~/.config/parley (a relative XDG_CONFIG_HOME is ignored)', () => {
    expect(knownServersPath({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/ann')).toBe('/x/cfg/parley/known-servers');
    expect(knownServersPath({}, '/home/ann')).toBe('/home/ann/.config/parley/known-servers');
    expect(knownServersPath({ XDG_CONFIG_HOME: 'rel' }, '/home/ann')).toBe('/home/ann/.config/parley/known-servers');
  });

  it('is created 0600 in a 0700 folder with a header, and a pin is read back', async () => {
    const path = join(dir.path, 'cfg', 'parley', 'known-servers');
    expect(await readKnownServers(path)).toEqual({ entries: [], problems: [] });
    await addKnownServer(path, 'localhost:55443', FP_A);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir.path, 'cfg', 'parley'))).mode & 0o777).toBe(0o700);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^# Parley known servers/u);
    expect(text).toContain(`localhost:55443 SHA256:${COLONS_A}\n`);
    expect((await readKnownServers(path)).entries).toEqual([{ server: 'localhost:55443', fingerprint: FP_A, line: 2 }]);
  });

  it('appends on a line of its own when the file does not end with a newline', async () => {
    const path = join(dir.path, 'known-servers');
    await writeFile(path, `a.example:1 ${HEX_A}`);
    await addKnownServer(path, 'b.example:2', FP_B);
    expect((await readKnownServers(path)).entries.map((e) => e.server)).toEqual(['a.example:1', 'b.example:2']);
  });

  it('never writes a pin it would not read back (a name it cannot hold, a smuggled second line)', async () => {
    const path = join(dir.path, 'known-servers');
    await expect(addKnownServer(path, 'bücher.example:1', FP_A)).rejects.toThrow(/cannot pin/u);
    await expect(addKnownServer(path, `a.example:1 ${HEX_A}\nb.example:1`, FP_A)).rejects.toThrow(/cannot pin/u);
    expect(await readKnownServers(path)).toEqual({ entries: [], problems: [] });
  });

  it('refuses a file that is too big or not a file instead of treating it as empty', async () => {
    const big = join(dir.path, 'big');
    await writeFile(big, Buffer.alloc(KNOWN_SERVERS_MAX_BYTES + 1, 0x23));
    await expect(readKnownServers(big)).rejects.toThrow(KnownServersError);
    await expect(readKnownServers(big)).rejects.toThrow(/larger than/u);
    const folder = join(dir.path, 'folder');
    await mkdir(folder);
    await expect(readKnownServers(folder)).rejects.toThrow(/not a regular file/u);
    await expect(addKnownServer(folder, 'a:1', FP_A)).rejects.toThrow();
  });
});
