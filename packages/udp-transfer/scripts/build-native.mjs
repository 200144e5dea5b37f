#!/usr/bin/env node
// Compiles native/udp_batch.c into build/udp_batch.node: batched UDP system
// calls (sendmmsg, UDP GSO, recvmmsg) for Linux. The addon is optional: without
// it the transfer uses node:dgram alone, one system call per datagram.
// Also native/udp_aead.c into build/udp_aead.node: ChaCha20-Poly1305 for sealed
// (encrypted) transfers through the OpenSSL Node links, one cipher context per
// key; optional too (without it node:crypto seals), and its failure to build
// never costs the batch addon.
// Needs a C compiler (`cc`) and Node's headers (<prefix>/include/node, shipped
// with Node's official builds and Debian's nodejs). Uses Node-API only, so one
// build works on every Node ≥ 20.
//   PARLEY_NATIVE=0         skip the build (and remove an earlier one)
//   PARLEY_NATIVE=require   fail (exit 1) when it cannot be built, as CI does
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.env.PARLEY_NATIVE ?? 'auto';
const out = join(root, 'build', 'udp_batch.node');
const aeadOut = join(root, 'build', 'udp_aead.node');
const say = (msg) => process.stderr.write(`udp-transfer native: ${msg}\n`);

function give_up(why) {
  if (mode === 'require') {
    say(`${why} (PARLEY_NATIVE=require)`);
    process.exit(1);
  }
  say(`${why}; transfers will use node:dgram only`);
  process.exit(0);
}

// Whatever happens below, no older addon stays behind: a skipped or failed build means
// none (node:dgram alone), never last time's build against today's JavaScript.
rmSync(out, { force: true });
rmSync(aeadOut, { force: true });
if (mode === '0' || mode === 'off') {
  say('skipped (PARLEY_NATIVE=0)');
  process.exit(0);
}
if (process.platform !== 'linux') give_up(`not built on ${process.platform} (Linux only)`);
const headers = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
if (headers === undefined) give_up("Node's headers (node_api.h) not found");
const cc = process.env.CC ?? 'cc';
mkdirSync(dirname(out), { recursive: true });
const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-fvisibility=hidden', `-I${headers}`, '-o', out, join(root, 'native', 'udp_batch.c')];
const r = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error !== undefined || r.status !== 0) give_up(`${cc} failed${r.error ? `: ${r.error.message}` : ''}`);
say(`built ${out}`);
// The AEAD addon needs OpenSSL's headers (shipped with Node's in include/node/openssl); its
// symbols are resolved from the running Node when it loads.
const aeadArgs = [
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-shared',
  '-fPIC',
  '-fvisibility=hidden',
  `-I${headers}`,
  '-o',
  aeadOut,
  join(root, 'native', 'udp_aead.c'),
];
const a = spawnSync(cc, aeadArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
if (a.error !== undefined || a.status !== 0) {
  rmSync(aeadOut, { force: true });
  give_up(`${cc} failed on udp_aead.c; encrypted transfers will seal with node:crypto`);
}
say(`built ${aeadOut}`);
