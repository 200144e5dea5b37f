import type { Socket } from 'node:dgram';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { useCrc32 } from '@parley/protocol';

/**
 * Batched UDP system calls through the optional native addon
 * (native/udp_batch.c, built by scripts/build-native.mjs).
 *
 * node:dgram makes one system call, one request object and one callback per
 * datagram; at 1472 bytes that caps one transfer near 120 MB/s on a small VM.
 * With the addon the server hands the kernel up to 64 DATA packets per call
 * (UDP GSO: the kernel cuts one buffer into separate datagrams, or sendmmsg)
 * and the client reads up to 64 per call (recvmmsg); on x86-64 it also
 * computes the packets' CRC-32 with carry-less multiplication. The datagrams on the wire
 * are the same; Node keeps owning the socket (bind, connect, close, errors).
 *
 * Without the addon (not Linux, no compiler when installed, or
 * PARLEY_UDP_BATCH=0) everything goes through node:dgram as before.
 */
interface NativeBatch {
  sendBatch(fd: number, packets: readonly Buffer[], count: number, sockaddr: Buffer, gso: boolean): number;
  recvBatch(fd: number, arena: Buffer, offset: number, slot: number, max: number, lengths: Int32Array): number;
  sockaddr(ip: string, port: number): Buffer;
  /** CRC-32 of bytes[0, end) with carry-less multiplication; only on x86-64 CPUs with PCLMULQDQ. */
  crc32?: (bytes: Uint8Array, end: number) => number;
}

/** Where the addon may sit: next to the package's build output, or next to a bundle. */
const CANDIDATES = ['../build/udp_batch.node', './udp_batch.node'];

let loaded: NativeBatch | null | undefined;

/** The addon, or undefined when it is missing, fails to load, or PARLEY_UDP_BATCH=0. */
export function nativeBatch(): NativeBatch | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  if (process.platform !== 'linux' || process.env.PARLEY_UDP_BATCH === '0') return undefined;
  const require = createRequire(import.meta.url);
  for (const rel of CANDIDATES) {
    try {
      // fileURLToPath, not URL.pathname: the pathname keeps %20 for a space, and the addon would not be found.
      const mod = require(fileURLToPath(new URL(rel, import.meta.url))) as Partial<NativeBatch>;
      if (typeof mod.sendBatch === 'function' && typeof mod.recvBatch === 'function' && typeof mod.sockaddr === 'function') {
        loaded = mod as NativeBatch;
        // The packet trailer's CRC-32, about 3 x faster than zlib's per packet.
        // useCrc32 checks it against zlib first and keeps zlib if it differs.
        if (typeof mod.crc32 === 'function') {
          try {
            useCrc32(mod.crc32);
          } catch {
            // keep zlib.crc32
          }
        }
        break;
      }
    } catch {
      // not there, or built for another platform: try the next place
    }
  }
  return loaded ?? undefined;
}

/**
 * The file descriptor of a bound dgram socket. Node has no public accessor;
 * this reads its internal handle without the deprecated `_handle` getter, and
 * returns undefined if that ever changes (the caller then uses dgram alone).
 */
export function socketFd(socket: Socket): number | undefined {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  if (sym === undefined) return undefined;
  const state = (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[sym];
  const fd = state?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** -errno values the addon returns that mean "the socket buffer is full, try later". */
const EAGAIN = -11;
const ENOBUFS = -105;
/** GSO refused by this kernel or route (EIO: no checksum offload; EINVAL/ENOPROTOOPT: no UDP_SEGMENT). */
const GSO_REFUSED = new Set([-5, -22, -92]);

/** Sends runs of DATA packets to one peer with as few system calls as the kernel allows. */
export class BatchSender {
  private gso = true;

  private constructor(
    private readonly native: NativeBatch,
    private readonly fd: number,
  ) {}

  static open(socket: Socket): BatchSender | undefined {
    const native = nativeBatch();
    const fd = native === undefined ? undefined : socketFd(socket);
    return native === undefined || fd === undefined ? undefined : new BatchSender(native, fd);
  }

  /** The address argument of `send` for a peer (make it once per peer). */
  sockaddr(ip: string, port: number): Buffer {
    return this.native.sockaddr(ip, port);
  }

  /**
   * Hands `packets[0…count)` to the kernel, in order, without blocking. Returns how
   * many went (fewer when the socket buffer is full), or throws the socket's error.
   * The buffers may be reused as soon as this returns.
   */
  send(packets: readonly Buffer[], count: number, sockaddr: Buffer): number {
    let n = this.native.sendBatch(this.fd, packets, count, sockaddr, this.gso);
    if (n < 0 && this.gso && GSO_REFUSED.has(n)) {
      this.gso = false;
      n = this.native.sendBatch(this.fd, packets, count, sockaddr, false);
    }
    if (n === EAGAIN || n === ENOBUFS) return 0;
    if (n < 0) throw Object.assign(new Error(`UDP batch send failed (errno ${-n})`), { errno: -n });
    return n;
  }
}

/** Most datagrams one recvmmsg asks for. */
const RECV_BATCH = 64;
/** Most datagrams read per drain before letting timers and ACKs run. */
const DRAIN_LIMIT = 1024;
/** Largest receive block; the first is small (most downloads are), each next one twice the last. */
const ARENA_BYTES = 4 * 1024 * 1024;

/**
 * Reads every datagram waiting on a socket into one large block, in slots of a
 * fixed size. The views handed out stay valid (the block is never reused; a
 * full one is replaced and freed once nothing refers to it).
 */
export class BatchReceiver {
  private arena = Buffer.alloc(0);
  private offset = 0;
  private readonly lengths = new Int32Array(RECV_BATCH);

  private constructor(
    private readonly native: NativeBatch,
    private readonly fd: number,
    private readonly slot: number,
  ) {}

  /** `slot`: the largest datagram expected (bigger ones are dropped, as truncated). */
  static open(socket: Socket, slot: number): BatchReceiver | undefined {
    const native = nativeBatch();
    const fd = native === undefined ? undefined : socketFd(socket);
    return native === undefined || fd === undefined ? undefined : new BatchReceiver(native, fd, (slot + 63) & ~63);
  }

  /**
   * Calls `onDatagram` for each datagram the socket holds now, and `afterBatch`
   * after each system call's worth (≤ 64), so that acknowledgements can go out
   * as often as they would one datagram at a time. Returns how many datagrams
   * were truncated (larger than a slot) and dropped.
   */
  drain(onDatagram: (datagram: Buffer) => void, afterBatch: () => void): number {
    let truncated = 0;
    for (let total = 0; total < DRAIN_LIMIT; ) {
      const batchBytes = this.slot * RECV_BATCH;
      if (this.arena.length - this.offset < batchBytes) {
        this.arena = Buffer.allocUnsafeSlow(Math.max(batchBytes, Math.min(ARENA_BYTES, this.arena.length * 2)));
        this.offset = 0;
      }
      const n = this.native.recvBatch(this.fd, this.arena, this.offset, this.slot, RECV_BATCH, this.lengths);
      if (n <= 0) break; // empty, or an error such as ECONNREFUSED from an ICMP reply: the next datagram will tell
      for (let i = 0; i < n; i++) {
        const len = this.lengths[i] as number;
        const at = this.offset + i * this.slot;
        if (len < 0) truncated++;
        else onDatagram(this.arena.subarray(at, at + len));
      }
      this.offset += n * this.slot;
      total += n;
      afterBatch();
      if (n < RECV_BATCH) break;
    }
    return truncated;
  }
}
