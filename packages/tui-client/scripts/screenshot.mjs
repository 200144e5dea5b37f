#!/usr/bin/env node
// Prints the README screenshot: a real server with TLS (a `parley-server
// self-signed` certificate, pinned in each client's known-servers file), three
// people in tmux on a private socket, a download in progress; then `tmux
// capture-pane -p` of ann's screen. Needs tmux and a built server and client.
//   node scripts/screenshot.mjs > /tmp/screen.txt
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const serverBin = join(pkg, '..', 'server', 'dist', 'bin.js');
const clientBin = join(pkg, 'dist', 'parley.js');
const work = mkdtempSync(join(tmpdir(), 'parley-shot-'));
const files = join(work, 'files');
execFileSync('mkdir', ['-p', files, join(work, 'dl')]);
writeFileSync(join(files, 'holiday-photos.zip'), randomBytes(120_000_000));
writeFileSync(join(files, 'photo.jpg'), randomBytes(2_400_000));
writeFileSync(join(files, 'notes.txt'), 'Parley notes\n');

const cert = join(work, 'cert.pem');
const key = join(work, 'key.pem');
const made = execFileSync(process.execPath, [serverBin, 'self-signed', '--cert', cert, '--key', key, '--name', '127.0.0.1'], { encoding: 'utf8' });
const fingerprint = /SHA256 fingerprint: ([0-9A-F:]+)/u.exec(made)[1];
const server = spawn(
  process.execPath,
  [
    serverBin,
    '--host',
    '127.0.0.1',
    '--port',
    '-1',
    '--tls-port',
    '0',
    '--tls-cert',
    cert,
    '--tls-key',
    key,
    '--udp-port',
    '0',
    '--files-dir',
    files,
    '--log-format',
    'json',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const port = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /"tlsPort":(\d+)/u.exec(out);
    if (m) resolve(Number(m[1]));
  });
  server.once('exit', () => reject(new Error(`server exited:\n${out}`)));
});

const sock = `parley-shot-${process.pid}`;
const tmux = (...a) => execFileSync('tmux', ['-u', '-L', sock, '-f', '/dev/null', ...a], { encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// As if each person had answered y to the first-use question.
execFileSync('mkdir', ['-p', join(work, 'cfg', 'parley')]);
writeFileSync(join(work, 'cfg', 'parley', 'known-servers'), `127.0.0.1:${port} SHA256:${fingerprint}\n`);
const client = (nick) =>
  `XDG_CONFIG_HOME=${join(work, 'cfg')} ${process.execPath} ${clientBin} --tls --host 127.0.0.1 --port ${port} --nick ${nick} --download-dir ${join(work, 'dl')} --no-bell`;
const say = async (who, text) => {
  tmux('send-keys', '-t', who, '-l', text);
  tmux('send-keys', '-t', who, 'Enter');
  await sleep(300);
};
try {
  tmux('new-session', '-d', '-s', 'ann', '-x', '100', '-y', '22', client('ann'));
  await sleep(800);
  tmux('new-session', '-d', '-s', 'bob', '-x', '100', '-y', '22', client('bob'));
  await sleep(800);
  tmux('new-session', '-d', '-s', 'chen', '-x', '100', '-y', '22', client('陈'));
  await sleep(800);
  await say('bob', 'hi all! anyone tried the new build?');
  await say('ann', 'broadcast,yes, downloads are fast now 🚀');
  await say('chen', '你好! works here too');
  await say('bob', 'ann,can you grab holiday-photos.zip?');
  await say('ann', '/msg bob on it');
  tmux('send-keys', '-t', 'ann', 'F3');
  await sleep(400);
  tmux('send-keys', '-t', 'ann', 'Enter');
  await sleep(2000);
  tmux('send-keys', '-t', 'ann', 'Escape');
  tmux('send-keys', '-t', 'ann', '-l', 'bob, it is coming in n');
  await sleep(300);
  process.stdout.write(tmux('capture-pane', '-p', '-t', 'ann'));
} finally {
  try {
    tmux('kill-server');
  } catch {
    /* already gone */
  }
  server.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
