#!/usr/bin/env node
// One address opens many idle connections; does a user from another address
// still get in? (issue 13 item 4)
//
//   node bench/hardening/address-flood.mjs [connections=2000] [-- extra server flags]
//
// Starts the built parley-server with --trusted-addresses "" (so loopback is
// counted), floods from 127.0.0.2, then joins as "carol" from 127.0.0.3.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 2000);
const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const BIN = fileURLToPath(new URL('../../packages/server/dist/bin.js', import.meta.url));
const child = spawn(
  process.execPath,
  [
    BIN,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--udp-port',
    '-1',
    '--trusted-addresses',
    '',
    '--log-format',
    'json',
    '--log-level',
    'warn',
    '--files-dir',
    `/tmp/parley-bench-files-${process.pid}`,
    ...extra,
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH },
  },
);
const port = await new Promise((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const m = /"port":(\d+)/u.exec(buf);
    if (m && buf.includes('parley-server ready')) resolve(Number(m[1]));
  });
  child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});

/** Connects from `from`; resolves with the first line the server sends (or '' if it only closes). */
function first(from, send) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => send && s.write(`${send}\n`));
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ s, line: buf.slice(0, nl) });
    });
    s.on('error', () => resolve({ s, line: 'error' }));
    s.on('close', () => resolve({ s, line: buf || '(closed)' }));
  });
}

const t0 = Date.now();
const flood = await Promise.all(Array.from({ length: N }, () => first('127.0.0.2')));
const byFirstWord = {};
for (const { line } of flood) {
  const k = line.split(' :')[0];
  byFirstWord[k] = (byFirstWord[k] ?? 0) + 1;
}
const carol = await first('127.0.0.3', 'carol');
console.log(JSON.stringify({ flood: N, floodSeconds: (Date.now() - t0) / 1000, floodAnswers: byFirstWord, secondAddressGot: carol.line }));
for (const { s } of [...flood, carol]) s.destroy();
child.kill('SIGTERM');
