#!/usr/bin/env node
// Logins per second and server CPU per login at the default scrypt cost, over
// loopback against the built parley-server (issue 16).
//   node bench/accounts/logins.mjs [accounts=16] [logins=200] [concurrency=8]
// Registers <accounts> accounts, then runs <logins> logins (a connection, the
// nickname, NICK_REGISTERED, login,<password>, the `account identified` line,
// exit) <concurrency> at a time, round-robin over the accounts. Server CPU is
// read from /proc/<pid>/stat around the logins. Also times one scrypt hash in
// this process, alone, as the floor. Then the same number of logins with
// resume tokens (`login,token,<token>`, each use giving the next token), in
// the same run, for the reconnect path.
import { spawn } from 'node:child_process';
import { randomBytes, scrypt } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, loadavg, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [accounts = 16, logins = 200, concurrency = 8] = process.argv.slice(2).map(Number);
const PASSWORD = 'correct horse battery';
const dir = mkdtempSync(join(tmpdir(), 'parley-bench-accounts-'));

function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Runs a scripted exchange; resolves with the last `resume` token seen (if any). */
function session(port, lines, until) {
  let token;
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let buf = '';
    let step = 0;
    s.setEncoding('utf8');
    s.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('error ') && !line.startsWith('error NICK_REGISTERED')) return reject(new Error(line));
        if (line.startsWith('resume ')) token = line.split(' ')[1];
        if (until[step] && line.startsWith(until[step])) {
          step += 1;
          if (step === until.length) {
            s.end('exit\n');
            return resolve(token);
          }
          if (lines[step]) s.write(`${lines[step]}\n`);
        }
      }
    });
    s.on('error', reject);
    s.write(`${lines[0]}\n`);
  });
}

const t0 = performance.now();
await new Promise((resolve, reject) =>
  scrypt(PASSWORD, randomBytes(16), 64, { N: 2 ** 15, r: 8, p: 3, maxmem: 64 * 1024 * 1024 }, (e) => (e ? reject(e) : resolve())),
);
const oneHashMs = performance.now() - t0;

const server = spawn(
  process.execPath,
  [
    join(root, 'packages/server/dist/bin.js'),
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--udp-port',
    '-1',
    '--history',
    'off',
    '--data-dir',
    join(dir, 'data'),
    '--files-dir',
    join(dir, 'files'),
    '--log-level',
    'warn',
    '--log-format',
    'json',
    '--rate',
    '1000000',
    '--burst',
    '1000000',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const port = await new Promise((resolve) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /"port":(\d+)/u.exec(out);
    if (m) resolve(Number(m[1]));
  });
});
const tokens = [];
for (let i = 0; i < accounts; i++) tokens.push(await session(port, [`bench${i}`, `register,${PASSWORD}`], ['online ', 'account registered', 'resume ']));

const load0 = loadavg()[0];
const cpu0 = cpuMs(server.pid);
const start = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < logins) {
      const i = next++;
      await session(port, [`bench${i % accounts}`, `login,${PASSWORD}`], ['error NICK_REGISTERED', 'account identified', 'resume ']);
    }
  }),
);
const seconds = (performance.now() - start) / 1000;
const cpu = cpuMs(server.pid) - cpu0;

// Resume tokens: worker w logs in the accounts i ≡ w (mod concurrency), each time with the token the last login gave.
const tokenLogins = logins;
const tcpu0 = cpuMs(server.pid);
const tstart = performance.now();
let done = 0;
await Promise.all(
  Array.from({ length: Math.min(concurrency, accounts) }, async (_, w) => {
    const mine = [];
    for (let i = w; i < accounts; i += Math.min(concurrency, accounts)) mine.push(i);
    for (let k = 0; done < tokenLogins; k++) {
      const i = mine[k % mine.length];
      done++;
      tokens[i] = await session(port, [`bench${i}`, `login,token,${tokens[i]}`], ['error NICK_REGISTERED', 'account identified', 'resume ']);
    }
  }),
);
const tseconds = (performance.now() - tstart) / 1000;
const tcpu = cpuMs(server.pid) - tcpu0;
server.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    date: new Date().toISOString(),
    cpus: cpus().length,
    node: process.version,
    loadavgBefore: load0,
    loadavgAfter: loadavg()[0],
    scrypt: 'N=2^15 r=8 p=3',
    oneHashMsAlone: Number(oneHashMs.toFixed(1)),
    accounts,
    logins,
    concurrency,
    seconds: Number(seconds.toFixed(2)),
    loginsPerSecond: Number((logins / seconds).toFixed(1)),
    serverCpuMsPerLogin: Number((cpu / logins).toFixed(1)),
    tokenLogins: done,
    tokenLoginsPerSecond: Number((done / tseconds).toFixed(1)),
    serverCpuMsPerTokenLogin: Number((tcpu / done).toFixed(2)),
  }),
);
