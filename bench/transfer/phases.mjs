#!/usr/bin/env node
// Splits one traced `parley download` into phases, from `strace -f -ttt` of
// execve, connect, write, sendmsg, rename and exit (whole-command.sh makes it):
//   start-up      exec of node → connect() to the chat port
//   join          → write of the `download,<file>` command (connected, nickname sent, welcome read)
//   offer         → connect() of the UDP socket (the offer arrived, the .part file is open)
//   first-data    → the first ACK sent (REQUEST, CHALLENGE, REQUEST with the nonce, the first DATA packets)
//   transfer      → the last ACK sent before the file is renamed (the last DATA arrived)
//   verify        → rename() of the .part file (SHA-256 finished, file in place)
//   exit          → the process exits (TCP quit, the UDP socket closed, Node's exit)
// Prints one JSON object of milliseconds.
//   node bench/transfer/phases.mjs <strace output> [chat port 55000] [udp port 57000]
import { readFileSync } from 'node:fs';

const [file, chatPort = '55000', udpPort = '57000'] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n');
const ts = (l) => Number(l.trim().split(/\s+/u)[1]);
let exec, tcpConnect, tcpFd, command, udpConnect, udpFd, firstAck, lastAck, rename, exit, mainPid;
for (const l of lines) {
  const pid = l.trim().split(/\s+/u)[0];
  if (exec === undefined && /execve\("[^"]*node"/u.test(l)) {
    exec = ts(l);
    mainPid = pid;
  }
  const c = /connect\((\d+), \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\)/u.exec(l);
  if (c && c[2] === chatPort && tcpConnect === undefined) [tcpConnect, tcpFd] = [ts(l), c[1]];
  if (c && c[2] === udpPort && udpConnect === undefined) [udpConnect, udpFd] = [ts(l), c[1]];
  if (command === undefined && tcpFd !== undefined && l.includes(`write(${tcpFd}, "download,`)) command = ts(l);
  const s = /sendmsg\((\d+), .*iov_len=(\d+)/u.exec(l);
  // REQUEST is 256 bytes and END_ACK 16: the others are ACKs.
  if (s && s[1] === udpFd && s[2] !== '256' && s[2] !== '16' && rename === undefined) {
    if (firstAck === undefined) firstAck = ts(l);
    lastAck = ts(l);
  }
  if (rename === undefined && /rename\(".*\.part"/u.test(l)) rename = ts(l);
  if (pid === mainPid && l.includes('+++ exited with')) exit = ts(l);
}
const d = (a, b) => (a === undefined || b === undefined ? null : Math.round((b - a) * 1e4) / 10);
process.stdout.write(
  JSON.stringify({
    startup: d(exec, tcpConnect),
    join: d(tcpConnect, command),
    offer: d(command, udpConnect),
    firstData: d(udpConnect, firstAck),
    transfer: d(firstAck, lastAck),
    verify: d(lastAck, rename),
    exit: d(rename, exit),
    total: d(exec, exit),
  }),
);
