import type dgram from 'node:dgram';
import { openSync, closeSync, fstatSync } from 'node:fs';
import { type PacketSealer, protocolError } from '@parley/protocol';
import { BatchSender } from './batch-io.js';
import { BlockReader, readAheadBlockBytes } from './block-reader.js';
import { WakeTimer, monotonicNow } from './clock.js';
import { clientSealing, connectToServer, resolveServer } from './client-socket.js';
import { Sender } from './sender.js';
import { UploadOpener } from './upload-opener.js';
import type { DownloadProgress } from './download-types.js';

/** The fields of the TCP `upload` event. */
export interface UploadTicket {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly token: string;
  readonly udpPort?: number;
  /** 64 hex digits on an encrypted upload (TLS sessions): every UDP packet is sealed. */
  readonly key?: string;
}

export interface UploadOptions {
  readonly host: string;
  /** Server UDP port; defaults to `ticket.udpPort`. */
  readonly port?: number;
  readonly ticket: UploadTicket;
  /** The file to send; it must be `ticket.size` bytes. */
  readonly path: string;
  /** Chunk payload bytes. Default 1452, or 1440 when encrypted. */
  readonly payloadSize?: number;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly progressIntervalMs?: number;
  readonly signal?: AbortSignal;
  /** Give up when the server says nothing for this long. Default 15 s (10 s while opening). */
  readonly idleTimeoutMs?: number;
}

export interface UploadResult {
  /** Bytes the server holds (the whole file). */
  readonly bytes: number;
  /** Bytes it already had from an earlier attempt (a resume). */
  readonly resumedBytes: number;
  readonly retransmissions: number;
}

/** Datagrams handed to the socket per turn before letting the event loop breathe (ACKs in). */
const MAX_PER_TURN = 256;
/** DATA packets per batched send (UDP GSO takes at most 64 segments per call). */
const BURST = 64;

/**
 * Sends one file to the server over UDP (PROTOCOL.md §7.2): opens the upload like
 * a download (REQUEST with the token, CHALLENGE, REQUEST with the nonce), takes the
 * server's first ACK as where to start, then runs the Sender. Resolves when the
 * server has acknowledged every byte and the END; the server then checks the
 * SHA-256 and announces the file on the chat connection (`shared`).
 */
export async function uploadFile(options: UploadOptions): Promise<UploadResult> {
  const { ticket } = options;
  if (!/^[0-9a-fA-F]{32}$/.test(ticket.token)) throw protocolError('BAD_ARGUMENTS', 'upload token must be 32 hex characters');
  const { sealer, payloadSize } = clientSealing(ticket.key, options.payloadSize, 'upload');
  const port = options.port ?? ticket.udpPort;
  if (port === undefined) throw protocolError('BAD_ARGUMENTS', 'no UDP port');
  options.signal?.throwIfAborted();
  const address = await resolveServer(options.host);
  const fd = openSync(options.path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== ticket.size) throw protocolError('BAD_ARGUMENTS', `${options.path} is ${size} bytes now, not the ${ticket.size} announced`);
    const socket = await connectToServer(address, port, { send: 4 * 1024 * 1024 });
    return await sendFile({ options, fd, socket, payloadSize, sealer, address, port });
  } finally {
    closeSync(fd);
  }
}

interface SendInput {
  readonly options: UploadOptions;
  readonly fd: number;
  readonly socket: dgram.Socket;
  readonly payloadSize: number;
  readonly sealer: PacketSealer | undefined;
  readonly address: string;
  readonly port: number;
}

function sendFile({ options, fd, socket, payloadSize, sealer, address, port }: SendInput): Promise<UploadResult> {
  const { ticket } = options;
  const token = Buffer.from(ticket.token, 'hex');
  const startedAt = monotonicNow();
  const opener = new UploadOpener({ transferId: ticket.id, token, payloadSize, now: startedAt, ...(sealer !== undefined ? { sealer } : {}) });
  let sender: Sender | undefined;
  let resumedBytes = 0;
  let lastProgress = -Infinity;
  const progressEvery = options.progressIntervalMs ?? 100;

  return new Promise<UploadResult>((resolve, reject) => {
    let settled = false;
    let immediate: NodeJS.Immediate | undefined;
    const timer = new WakeTimer(() => service(), monotonicNow);
    // DATA in batches of up to 64 per system call (UDP GSO / sendmmsg) through the native addon, as the server sends downloads.
    let batch = BatchSender.open(socket);
    let peer: Buffer | undefined;
    try {
      peer = batch?.sockaddr(address, port);
    } catch {
      batch = undefined;
    }
    const burst: Buffer[] = [];
    /** Hands `burst` to the kernel; false when the socket's buffer is full (what did not fit went to dgram's queue). */
    const flush = (): boolean => {
      let done = 0;
      if (batch !== undefined && peer !== undefined) {
        try {
          done = batch.send(burst, burst.length, peer);
        } catch {
          batch = undefined; // a send error: go on through dgram, which reports its own errors
        }
      }
      for (let i = done; i < burst.length; i++) socket.send(burst[i] as Buffer);
      const full = done < burst.length && batch !== undefined;
      burst.length = 0;
      return !full;
    };

    const acked = (): number => (sender === undefined ? 0 : Math.min(ticket.size, sender.deliveredChunks * payloadSize));
    const progress = (force: boolean): void => {
      if (options.onProgress === undefined || sender === undefined) return;
      const now = monotonicNow();
      if (!force && now - lastProgress < progressEvery) return;
      lastProgress = now;
      const bytes = acked();
      const rate = (bytes - resumedBytes) / Math.max((now - startedAt) / 1000, 1e-3);
      options.onProgress({
        bytes,
        total: ticket.size,
        rateBytesPerSec: rate,
        etaSec: rate > 0 ? (ticket.size - bytes) / rate : bytes >= ticket.size ? 0 : Infinity,
      });
    };

    const finish = (err: unknown, result?: UploadResult): void => {
      if (settled) return;
      settled = true;
      timer.clear();
      if (immediate !== undefined) clearImmediate(immediate);
      options.signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('message');
      // Let queued datagrams (a CANCEL, the last ACK answers) leave first.
      setTimeout(() => socket.close(), 20);
      if (err !== undefined) reject(err);
      else resolve(result as UploadResult);
    };

    const failWith = (code: string, text: string, fromPeer: boolean): void => {
      const what = `upload of ${ticket.name}`;
      if (code === 'TRANSFER_TIMEOUT') return finish(protocolError('TRANSFER_TIMEOUT', `${what} stopped: ${text} (${address}:${port})`));
      if (!fromPeer) return finish(protocolError('TRANSFER_CANCELLED', `${what} cancelled: ${text}`));
      const known = ['TRANSFER_REJECTED', 'TRANSFER_LIMIT', 'TRANSFER_CORRUPT', 'SHARE_NO_SPACE', 'SHUTDOWN'] as const;
      const c = (known as readonly string[]).includes(code) ? (code as (typeof known)[number]) : 'TRANSFER_CANCELLED';
      return finish(protocolError(c, `server stopped the ${what}: ${text} (${code})`));
    };

    const service = (): void => {
      if (settled) return;
      const now = monotonicNow();
      if (sender === undefined) {
        if (opener.nextDeadline() <= now) opener.onTimer(now);
        if (opener.state === 'failed') return failWith(opener.failure?.code ?? 'TRANSFER_CANCELLED', opener.failure?.text ?? '', true);
        if (opener.state === 'open' && opener.opened !== undefined) {
          const { resumeFrom, window } = opener.opened;
          resumedBytes = Math.min(ticket.size, resumeFrom * payloadSize);
          sender = new Sender({
            transferId: ticket.id,
            token,
            size: ticket.size,
            payloadSize,
            resumeFrom,
            window,
            now,
            source: new BlockReader(fd, ticket.size, readAheadBlockBytes(payloadSize, 256 * 1024)),
            ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
            ...(sealer !== undefined ? { sealer } : {}),
          });
        } else {
          for (let dg = opener.poll(now); dg !== undefined; dg = opener.poll(now)) socket.send(dg);
          timer.schedule(opener.nextDeadline());
          return;
        }
      }
      const s = sender;
      if (s.nextDeadline() <= now) s.onTimer(now);
      let n = 0;
      let full = false;
      // Leave room in the socket's queue: what dgram has not handed to the kernel yet waits in memory.
      while (!full && n < MAX_PER_TURN && socket.getSendQueueCount() < 256) {
        for (let dg = s.poll(now); dg !== undefined; dg = burst.length < BURST ? s.poll(now) : undefined) burst.push(dg);
        if (burst.length === 0) break;
        n += burst.length;
        full = !flush();
      }
      progress(false);
      if (s.state === 'done') {
        progress(true);
        return finish(undefined, { bytes: ticket.size, resumedBytes, retransmissions: s.stats.retransmissions });
      }
      if (s.state === 'failed') return failWith(s.failure?.code ?? 'TRANSFER_CANCELLED', s.failure?.text ?? '', s.failure?.code !== 'TRANSFER_TIMEOUT');
      if (full)
        timer.schedule(now + 1); // the kernel's send buffer is full: try again shortly
      else if (n >= MAX_PER_TURN || socket.getSendQueueCount() >= 256) kick();
      else timer.schedule(Math.min(s.nextDeadline(), s.nextSendTime(now)));
    };

    const kick = (): void => {
      if (immediate !== undefined) return;
      immediate = setImmediate(() => {
        immediate = undefined;
        service();
      });
    };

    const onAbort = (): void => {
      if (settled) return;
      if (sender !== undefined) {
        sender.cancel('TRANSFER_CANCELLED', 'cancelled by the user');
        const now = monotonicNow();
        for (let dg = sender.poll(now); dg !== undefined; dg = sender.poll(now)) socket.send(dg);
      }
      finish(protocolError('TRANSFER_CANCELLED', `upload of ${ticket.name} cancelled`));
    };

    socket.on('message', (buf) => {
      if (settled) return;
      const now = monotonicNow();
      if (sender === undefined) opener.onDatagram(buf, now);
      else sender.onDatagram(buf, now);
      kick();
    });
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return;
      finish(err);
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    service();
  });
}
