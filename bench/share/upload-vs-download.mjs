#!/usr/bin/env node
// Sharing (issue 18): the same file uploaded (share) and downloaded through the
// real parley-server, side by side in one run, on loopback at 0 / 1 / 5 % loss
// each way (the LossyRelay of packages/test-support, with 1 % reordering and
// duplication when there is loss), plus the server's CPU per MB received.
//
//   node bench/share/upload-vs-download.mjs [--mb 64] [--runs 2] [--sealed]
//
// Needs `npm run build` (packages/server/dist, udp-transfer/dist, test-support/dist).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { mb: { type: 'string', default: '64' }, runs: { type: 'string', default: '2' } } });
const MB = Number(values.mb);
const RUNS = Number(values.runs);
const { uploadFile, downloadFile } = await import(join(root, 'packages', 'udp-transfer', 'dist', 'index.js'));
const { decodeEvent } = await import(join(root, 'packages', 'protocol', 'dist', 'index.js'));
const { LossyRelay } = await import(join(root, 'packages', 'test-support', 'dist', 'index.js'));

const TICK = 100;
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const work = mkdtempSync(join(tmpdir(), 'parley-bench-share-'));
const file = join(work, 'payload.bin');
const bytes = randomBytes(MB * 1024 * 1024);
writeFileSync(file, bytes);
const sha256 = createHash('sha256').update(bytes).digest('hex');

async function startServer() {
  const data = mkdtempSync(join(work, 'data-'));
  const files = mkdtempSync(join(work, 'files-'));
  const child = spawn(
    process.execPath,
    [
      join(root, 'packages', 'server', 'dist', 'bin.js'),
      ...['--host', '127.0.0.1', '--port', '0', '--udp-port', '0', '--files-dir', files, '--data-dir', data],
      ...['--history', 'off', '--accounts', 'off', '--share-min-free-disk', '0', '--share-max-file-size', '4G', '--share-max-per-user', '64G'],
      ...['--share-max-total', '64G', '--share-uploads-per-user', '8', '--log-level', 'warn', '--log-format', 'json'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('parley-server ready'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  return { child, port: ready.port, udpPort: ready.udpPort, data };
}

/** A line client: `next(match)` resolves with the next line that matches. */
function lineClient(port, nick) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      const lines = [];
      let buf = '';
      let waiters = [];
      s.setEncoding('utf8');
      s.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
        for (const w of waiters) w();
      });
      const next = (match, from = lines.length) =>
        new Promise((res) => {
          const check = () => {
            const found = lines.slice(from).find(match);
            if (found === undefined) return false;
            waiters = waiters.filter((w) => w !== check);
            res(found);
            return true;
          };
          if (!check()) waiters.push(check);
        });
      const ask = (line, match) => {
        const from = lines.length;
        s.write(`${line}\n`);
        return next(match, from);
      };
      s.write(`${nick}\n`);
      next((l) => l.startsWith('online ')).then(() => resolve({ ask, next, lines, close: () => s.destroy() }));
    });
  });
}

async function oneRun(server, c, loss, n) {
  const relay = loss > 0 ? await LossyRelay.start({ targetPort: server.udpPort, loss, reorder: 0.01, duplicate: 0.01, seed: 1000 + n }) : undefined;
  const port = relay?.port ?? server.udpPort;
  const name = `f${n}.bin`;
  // Upload.
  const line = await c.ask(`share,${name},${bytes.length},${sha256}`, (l) => l.startsWith('upload ') || l.startsWith('error '));
  if (!line.startsWith('upload ')) throw new Error(line);
  const from = c.lines.length;
  const cpu0 = cpuSeconds(server.child.pid);
  const me0 = selfCpu();
  const t0 = performance.now();
  await uploadFile({ host: '127.0.0.1', port, ticket: decodeEvent(line), path: file });
  const shared = await c.next((l) => l.startsWith('shared ') || l.startsWith('error '), from);
  const up = performance.now() - t0;
  const upCpu = cpuSeconds(server.child.pid) - cpu0;
  const upClientCpu = selfCpu() - me0;
  if (!shared.startsWith('shared ')) throw new Error(shared);
  // Download of the same file.
  const offer = await c.ask(`download,${shared.split(' ')[2]}`, (l) => l.startsWith('offer ') || l.startsWith('error '));
  if (!offer.startsWith('offer ')) throw new Error(offer);
  const dest = join(work, `got-${n}.bin`);
  const cpu1 = cpuSeconds(server.child.pid);
  const t1 = performance.now();
  await downloadFile({ host: '127.0.0.1', port, offer: decodeEvent(offer), destPath: dest, lingerMs: 0 });
  const down = performance.now() - t1;
  const downCpu = cpuSeconds(server.child.pid) - cpu1;
  rmSync(dest, { force: true });
  await c.ask(`unshare,${shared.split(' ')[2]}`, (l) => l.startsWith('unshared ') || l.startsWith('error '));
  await relay?.close();
  const mb = bytes.length / 1e6;
  return {
    up: mb / (up / 1000),
    down: mb / (down / 1000),
    upCpuPerMB: (upCpu * 1000) / mb,
    downCpuPerMB: (downCpu * 1000) / mb,
    upClientCpuPerMB: (upClientCpu * 1000) / mb,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const server = await startServer();
const c = await lineClient(server.port, 'bench');
const rows = [];
let n = 0;
for (const loss of [0, 0.01, 0.05]) {
  const rs = [];
  for (let i = 0; i < RUNS; i++) rs.push(await oneRun(server, c, loss, n++));
  rows.push({
    loss,
    up: median(rs.map((r) => r.up)),
    down: median(rs.map((r) => r.down)),
    upCpu: median(rs.map((r) => r.upCpuPerMB)),
    downCpu: median(rs.map((r) => r.downCpuPerMB)),
    upClientCpu: median(rs.map((r) => r.upClientCpuPerMB)),
  });
  const r = rows.at(-1);
  process.stderr.write(
    `loss ${loss * 100}%: upload ${r.up.toFixed(1)} MB/s, download ${r.down.toFixed(1)} MB/s, server CPU ${r.upCpu.toFixed(1)} / ${r.downCpu.toFixed(1)} ms per MB\n`,
  );
}
c.close();
server.child.kill('SIGTERM');
await new Promise((r) => server.child.once('exit', r));
rmSync(work, { recursive: true, force: true });

const fmt = (x) => x.toFixed(1);
let md = `Command: \`node bench/share/upload-vs-download.mjs --mb ${MB} --runs ${RUNS}\` (median of ${RUNS} runs per row; load average at the end ${loadavg()
  .map((x) => x.toFixed(2))
  .join(
    ' ',
  )}). One ${MB} MiB file through the real \`parley-server\` on loopback: uploaded with \`share\` (client → server, verified by SHA-256 and moved into place before \`shared\` is announced), then downloaded back with \`download\` in the same run. Loss is each way through the LossyRelay (with 1 % reordering and 1 % duplication); 0 % goes direct. Server CPU is user + system time of the server process during each transfer (from /proc), per MB (10⁶ bytes) moved. The relay and the client run in the benchmark's process.\n\n`;
md +=
  '| loss each way | upload MB/s | download MB/s | server CPU per MB received (upload) | server CPU per MB sent (download) | client CPU per MB sent (upload) |\n|--:|--:|--:|--:|--:|--:|\n';
for (const r of rows) md += `| ${r.loss * 100} % | ${fmt(r.up)} | ${fmt(r.down)} | ${fmt(r.upCpu)} ms | ${fmt(r.downCpu)} ms | ${fmt(r.upClientCpu)} ms |\n`;
process.stdout.write(md);
