import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchReceiver, BatchSender, nativeBatch, socketFd } from '../src/batch-io.js';
import { waitFor } from './helpers/files.js';
import { BATCH_AVAILABLE } from './helpers/setup.js';

// The native addon over real loopback sockets: every datagram arrives whole,
// separately, in order, whatever the batching underneath.
const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  s.setRecvBufferSize(4 * 1024 * 1024);
  return s;
}

/** Packets whose bytes say which packet they are (index in the first 4 bytes, then a pattern). */
function packets(count: number, size: number, lastSize = size): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const b = Buffer.alloc(i === count - 1 ? lastSize : size, (i * 7) & 0xff);
    b.writeUInt32BE(i, 0);
    return b;
  });
}

async function collect(s: dgram.Socket, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve) => {
    s.on('message', (m) => {
      got.push(m);
      if (got.length === n) resolve(got);
    });
  });
}

describe.skipIf(!BATCH_AVAILABLE)('native UDP batch I/O', () => {
  it('loads, and finds the descriptor of a bound dgram socket', async () => {
    expect(nativeBatch()).toBeDefined();
    const s = await bound();
    expect(socketFd(s)).toBeGreaterThan(2);
  });

  it.each([
    ['UDP GSO', true],
    ['sendmmsg', false],
  ])('sends a batch as separate datagrams of the right sizes, in order (%s)', async (_, gso) => {
    const [tx, rx] = [await bound(), await bound()];
    const sender = BatchSender.open(tx)!;
    if (!gso) (sender as unknown as { gso: boolean }).gso = false;
    const batch = packets(64, 1472, 300); // a run of equal sizes ending in a shorter one
    const arriving = collect(rx, batch.length);
    expect(sender.send(batch, batch.length, sender.sockaddr('127.0.0.1', rx.address().port))).toBe(64);
    const got = await arriving;
    expect(got.map((b) => b.length)).toEqual(batch.map((b) => b.length));
    for (const [i, b] of got.entries()) expect(b.equals(batch[i]!)).toBe(true);
  });

  it('sends only the first `count` packets, of mixed sizes', async () => {
    const [tx, rx] = [await bound(), await bound()];
    const sender = BatchSender.open(tx)!;
    const batch = [...packets(3, 1000), ...packets(2, 1472), ...packets(3, 50)];
    const arriving = collect(rx, 7);
    expect(sender.send(batch, 7, sender.sockaddr('127.0.0.1', rx.address().port))).toBe(7);
    expect((await arriving).map((b) => b.length)).toEqual(batch.slice(0, 7).map((b) => b.length));
  });

  it('refuses to make an address of what is not an IP literal (the server then sends that transfer through dgram)', async () => {
    const sender = BatchSender.open(await bound())!;
    expect(sender.sockaddr('127.0.0.1', 9).length).toBe(16);
    expect(sender.sockaddr('::1', 9).length).toBe(28);
    expect(() => sender.sockaddr('fe80::1%lo', 9)).toThrow(/not an IP address/);
    expect(() => sender.sockaddr('localhost', 9)).toThrow(/not an IP address/);
  });

  it('reports a send error to an unreachable address family instead of crashing', async () => {
    const tx = await bound();
    const sender = BatchSender.open(tx)!;
    expect(() => sender.send(packets(2, 100), 2, sender.sockaddr('::1', 9))).toThrow(/errno/);
  });

  it('computes CRC-32 exactly as zlib does, on every length up to 3 000 bytes at several alignments', () => {
    const crc = nativeBatch()!.crc32;
    // On x86-64 with PCLMULQDQ (CI's machine) it must be there; elsewhere it may be absent.
    if (process.arch === 'x64' && /\bpclmulqdq\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) expect(crc).toBeTypeOf('function');
    if (crc === undefined) return;
    const data = randomBytes(3100);
    let wrong = 0;
    for (let n = 0; n <= 3000; n++) {
      for (let at = 0; at < 4; at++) {
        const view = data.subarray(at, at + n);
        if (crc(view, view.length) !== zlibCrc32(view)) wrong++;
      }
    }
    expect(wrong).toBe(0);
    expect(crc(data, 10)).toBe(zlibCrc32(data.subarray(0, 10))); // `end` below the length
    expect(() => crc(data, data.length + 1)).toThrow(TypeError);
  });

  it('drains every waiting datagram, keeps earlier views intact across blocks, and drops oversized ones', async () => {
    // As the client uses it: Node delivers one datagram, the drain reads the rest.
    const [tx, rx] = [await bound(), await bound()];
    const batch = packets(3000, 1472); // more than one 4 MiB block of 1536-byte slots
    const port = rx.address().port;
    const receiver = BatchReceiver.open(rx, 1472)!;
    const got: Buffer[] = [];
    let calls = 0;
    let truncated = 0;
    rx.on('message', (m) => {
      got.push(m);
      truncated += receiver.drain(
        (d) => got.push(d),
        () => calls++,
      );
    });
    for (let sent = 0; sent < batch.length; sent += 100) {
      for (let i = sent; i < sent + 100; i++) tx.send(batch[i]!, port, '127.0.0.1');
      if (sent === 1500) tx.send(Buffer.alloc(5000), port, '127.0.0.1'); // mid-burst: the drain meets it
      await new Promise((r) => setTimeout(r, 2));
    }
    await waitFor(() => got.length >= batch.length, 'every datagram');
    expect(truncated).toBe(1);
    expect(got.length).toBe(batch.length);
    for (const [i, b] of got.entries()) expect(b.equals(batch[i]!)).toBe(true);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(got.length / 10); // many datagrams per system call
  });
});
