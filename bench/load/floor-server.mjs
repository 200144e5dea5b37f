#!/usr/bin/env node
// The floor: the least a Node chat server can do for the load generator, to
// learn what this machine allows before blaming Parley. It speaks just enough
// of Parley's grammar for `parley-harness load` (nickname → `welcome`,
// `broadcast,<text>` → `message` to everyone else, `<nick>,<text>` → `private`
// to that one), with TCP_NODELAY, one
// write per recipient straight from the read callback, no validation, no
// limits, no join notices, no logging.
//
//   node bench/load/floor-server.mjs [port=56000] [--tls cert.pem key.pem]
//   node packages/test-harness/dist/bin.js load fanout -c 10 -r 10 -d 10 --target 127.0.0.1:56000 --server-pid <pid>
//   node packages/test-harness/dist/bin.js load idle -c 10000 --target 127.0.0.1:56000 --server-pid <pid>
// With --tls it is a plain tls.createServer (node:tls defaults, the pair from `parley-server self-signed`):
// the floor for a TLS handshake on this machine (add --tls --ca cert.pem to the load command).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const members = new Set();
const byNick = new Map();
const at = process.argv.indexOf('--tls');
const tlsOptions = at === -1 ? undefined : { cert: readFileSync(process.argv[at + 1]), key: readFileSync(process.argv[at + 2]), noDelay: true };
const onConnection = (socket) => {
  let nick;
  let rest = '';
  socket.on('data', (data) => {
    rest += data.toString('latin1');
    for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n')) {
      const line = rest.slice(0, i);
      rest = rest.slice(i + 1);
      if (nick === undefined) {
        nick = line.trim();
        members.add(socket);
        byNick.set(nick, socket);
        socket.write(`welcome ${nick} :hi\n`);
      } else if (line.startsWith('broadcast,')) {
        const out = `message ${nick} :${line.slice(10)}\n`;
        for (const other of members) if (other !== socket) other.write(out);
      } else {
        const comma = line.indexOf(',');
        byNick.get(line.slice(0, comma))?.write(`private ${nick} ${line.slice(0, comma)} :${line.slice(comma + 1)}\n`);
      }
    }
  });
  socket.on('close', () => {
    members.delete(socket);
    if (byNick.get(nick) === socket) byNick.delete(nick);
  });
  socket.on('error', () => {});
};
const server = tlsOptions ? tls.createServer(tlsOptions, onConnection) : net.createServer({ noDelay: true }, onConnection);
server.listen({ port: Number(at === 2 ? 56000 : (process.argv[2] ?? 56000)), host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`floor server${tlsOptions ? ' (TLS)' : ''} on 127.0.0.1:${server.address().port} pid ${process.pid}\n`);
});
