import type dgram from 'node:dgram';
import type { FileHandle } from 'node:fs/promises';
import {
  DATA_OVERHEAD_BYTES,
  type PacketSealer,
  REQUEST_PACKET_BYTES,
  SEALED_CONTROL_EXTRA_BYTES,
  SEALED_DATA_EXTRA_BYTES,
  protocolError,
} from '@parley/protocol';
import { BatchReceiver } from './batch-io.js';
import { clientSealing, connectToServer, resolveServer } from './client-socket.js';
import { WakeTimer, monotonicNow } from './clock.js';
import { Receiver } from './receiver.js';
import { openPartialFile, verifyAndRename, type PartialFile } from './partial-file.js';

import type { DownloadOptions, DownloadResult } from './download-types.js';

export { partialPath } from './partial-file.js';
export type { DownloadOffer, DownloadOptions, DownloadProgress, DownloadResult } from './download-types.js';
import { emptyObjectArray } from './arrays.js';

/** In-order bytes gathered before one file write while data is still arriving. */
const WRITE_BATCH_BYTES = 256 * 1024;

/**
 * Downloads one offered file over UDP. Writes `<dest>.<sha16>.part`, renames it
 * to `destPath` only when its SHA-256 equals the offer's; on mismatch deletes
 * it and throws TRANSFER_CORRUPT. Cancel with `signal` (sends CANCEL; the
 * partial file stays for a later resume).
 *
 * Phases: check the options, resolve the server's address, open the partial file
 * (resuming what it holds), connect the socket, then the receive loop; it ends by
 * verifying and renaming the file; the socket closes once the FIN is sent.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { payloadSize, port, sealer } = checkOptions(options);
  options.signal?.throwIfAborted();
  const address = await resolveServer(options.host);
  const part = await openPartialFile(options.destPath, options.offer, payloadSize, options.resume !== false);
  const socket = await connectSocket(address, port, part.file);
  return receiveFile({ options, payloadSize, address, port, part, socket, sealer });
}

/**
 * Throws BAD_ARGUMENTS for an offer or option that cannot work; returns the payload
 * size, the server port and, for an encrypted offer, the client's sealer.
 */
function checkOptions(options: DownloadOptions): { payloadSize: number; port: number; sealer: PacketSealer | undefined } {
  const { offer } = options;
  if (!/^[0-9a-fA-F]{32}$/.test(offer.token)) throw protocolError('BAD_ARGUMENTS', 'offer token must be 32 hex characters');
  if (!/^[0-9a-fA-F]{64}$/.test(offer.sha256)) throw protocolError('BAD_ARGUMENTS', 'offer sha256 must be 64 hex characters');
  if (!Number.isSafeInteger(offer.size) || offer.size < 0) throw protocolError('BAD_ARGUMENTS', 'offer size is invalid');
  const { sealer, payloadSize } = clientSealing(offer.key, options.payloadSize, 'offer');
  const port = options.port ?? offer.udpPort;
  if (port === undefined) throw protocolError('BAD_ARGUMENTS', 'no UDP port');
  return { payloadSize, port, sealer };
}

/** A UDP socket connected to the server (it then hears only the server). Closes `file` if it cannot. */
async function connectSocket(address: string, port: number, file: FileHandle): Promise<dgram.Socket> {
  try {
    return await connectToServer(address, port, { recv: 4 * 1024 * 1024 });
  } catch (err) {
    await file.close();
    throw err;
  }
}

/**
 * After the download has resolved. A receiver that sent its FIN (END_ACK before
 * END: every chunk is here) needs no reply (docs/PROTOCOL.md §5.2), so its socket
 * stops holding the process open at once (a command exits), and answers a
 * repeated END for `linger` ms more in the background, in case both FIN copies
 * were lost. The same after an END that came first. With `linger` 0 it closes at once.
 */
function lingerSocket(socket: dgram.Socket, receiver: Receiver, linger: number, sendQueued: (now: number) => void): void {
  if (linger <= 0) {
    setImmediate(() => socket.close()); // after the queued FIN has left
    return;
  }
  let t: NodeJS.Timeout | undefined;
  let open = true;
  const close = (): void => {
    clearTimeout(t);
    if (open) socket.close();
    open = false;
  };
  const lingerAfterEnd = (): void => {
    // The END handshake is over: answer a repeated END for `linger` more, in the
    // background (without holding the process open).
    socket.unref();
    clearTimeout(t);
    t = setTimeout(close, linger);
    t.unref();
  };
  socket.removeAllListeners('message');
  socket.on('message', (buf) => {
    if (!open) return;
    const before = receiver.state;
    const now = monotonicNow();
    receiver.onDatagram(buf, now);
    sendQueued(now);
    if (receiver.state === 'failed')
      close(); // e.g. the server's CANCEL at shutdown: nothing left to answer
    else if (before !== 'done' && receiver.state === 'done') lingerAfterEnd();
  });
  // Done, or our FIN is sent: answer a repeated END (both FIN copies may be lost) for
  // `linger` more, in the background: the socket no longer holds the process open,
  // so a command exits at once, and a long-lived process still spares the sender its idle timeout.
  if (receiver.state === 'done' || receiver.finSent) lingerAfterEnd();
  // The file was complete before the sender's END: wait for it, answering DATA probes
  // whose ACK was lost, until the sender has every ACK and says END. Leaving earlier
  // would leave the sender probing an empty port until its own idle timeout. At most
  // our idle timeout (a command-line process stays up that long, on a bad path).
  else t = setTimeout(close, receiver.idleTimeoutMs);
}

interface ReceiveInput {
  readonly options: DownloadOptions;
  readonly payloadSize: number;
  readonly address: string;
  readonly port: number;
  readonly part: PartialFile;
  readonly socket: dgram.Socket;
  readonly sealer: PacketSealer | undefined;
}

/**
 * The receive loop: feeds datagrams to the receiver, writes in-order chunks to the
 * partial file in batches (hashing them), sends ACKs, reports progress; resolves
 * once every byte is on disk and verified, rejects on failure, cancel or timeout.
 */
function receiveFile({ options, payloadSize, address, port, part, socket, sealer }: ReceiveInput): Promise<DownloadResult> {
  const { offer, destPath } = options;
  const { file, hash } = part;
  const startedAt = monotonicNow();
  const receiver = new Receiver({
    transferId: offer.id,
    token: Buffer.from(offer.token, 'hex'),
    size: offer.size,
    payloadSize,
    resumeFrom: part.resumeFrom,
    now: startedAt,
    ...(options.window !== undefined ? { window: options.window } : {}),
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.requestRetryMs !== undefined ? { requestRetryMs: options.requestRetryMs } : {}),
    ...(sealer !== undefined ? { sealer } : {}),
  });
  const resumedBytes = part.onDisk;
  let onDisk = part.onDisk;

  return new Promise<DownloadResult>((resolve, reject) => {
    let settled = false;
    let writing = false;
    let writeError: unknown;
    let pendingWrites: Buffer[] = emptyObjectArray<Buffer>();
    /** Bytes of `receiver.bytesDelivered` already taken into write batches. */
    let batchedBytes = 0;
    let lastProgress = -Infinity;
    const progressEvery = options.progressIntervalMs ?? 100;
    const timer = new WakeTimer(() => service(), monotonicNow);
    let immediate: NodeJS.Immediate | undefined;

    const progress = (force: boolean): void => {
      if (options.onProgress === undefined) return;
      const now = monotonicNow();
      if (!force && now - lastProgress < progressEvery) return;
      lastProgress = now;
      const secs = Math.max((now - startedAt) / 1000, 1e-3);
      const rate = (onDisk - resumedBytes) / secs;
      options.onProgress({
        bytes: onDisk,
        total: offer.size,
        rateBytesPerSec: rate,
        etaSec: rate > 0 ? (offer.size - onDisk) / rate : onDisk >= offer.size ? 0 : Infinity,
      });
    };

    const cleanup = (): void => {
      timer.clear();
      if (immediate !== undefined) clearImmediate(immediate);
      options.signal?.removeEventListener('abort', onAbort);
    };

    /** Sends whatever the receiver has queued (ACKs, END_ACK, CANCEL, REQUEST). */
    const sendQueued = (now: number): void => {
      for (let dg = receiver.poll(now); dg !== undefined; dg = receiver.poll(now)) socket.send(dg);
    };

    const linger = options.lingerMs ?? 1000;

    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      cleanup();
      // Flush a queued CANCEL before closing.
      sendQueued(monotonicNow());
      socket.removeAllListeners('message');
      setImmediate(() => socket.close());
      void (async () => {
        // Wait for queued writes so the partial file is consistent for a resume.
        while (writing) await new Promise((r) => setTimeout(r, 2));
        await file.close().catch(() => {});
        reject(err);
      })();
    };

    const finish = async (): Promise<void> => {
      settled = true;
      cleanup();
      sendQueued(monotonicNow());
      lingerSocket(socket, receiver, linger, sendQueued);
      try {
        const digest = await verifyAndRename(part, offer, destPath);
        progress(true);
        resolve({ path: destPath, bytes: onDisk, sha256: digest, unauthenticated: receiver.stats.unauthenticated });
      } catch (err) {
        reject(err);
      }
    };

    const flushWrites = (): void => {
      if (writing || pendingWrites.length === 0) return;
      // Few large writes: each one is a promise, a thread-pool hop and a wake-up of
      // this thread, which cost as much as the packets they carry when done per turn.
      const bytes = receiver.bytesDelivered - batchedBytes;
      // (The first write goes out at once, so that progress starts with the data.)
      if (bytes < WRITE_BATCH_BYTES && receiver.state === 'receiving' && batchedBytes > 0) return;
      writing = true;
      const batch = pendingWrites;
      pendingWrites = emptyObjectArray<Buffer>();
      batchedBytes += bytes;
      const position = onDisk;
      // Straight from the received datagrams: one writev of the batch's payloads
      // (libuv splits it at IOV_MAX), and the hash fed chunk by chunk. Copying
      // them into one buffer first cost more CPU in all (a 100 MB micro-run:
      // 205 ms against 165 ms). The payloads stay referenced until the write ends.
      for (const b of batch) hash.update(b);
      file.writev(batch, position).then(
        (r) => {
          writing = false;
          if (r.bytesWritten !== bytes) {
            writeError = new Error(`short write: ${r.bytesWritten} of ${bytes} bytes`);
          } else {
            onDisk += bytes;
          }
          if (!settled) service();
        },
        (err: unknown) => {
          writing = false;
          writeError = err;
          if (!settled) service();
        },
      );
    };

    const service = (): void => {
      if (settled) return;
      const now = monotonicNow();
      if (writeError !== undefined) {
        receiver.cancel('TRANSFER_CANCELLED', 'client cannot write the file');
        fail(writeError);
        return;
      }
      if (receiver.nextDeadline() <= now) receiver.onTimer(now);
      receiver.takeChunksInto(pendingWrites);
      flushWrites();
      sendQueued(now);
      progress(false);
      if (receiver.state === 'failed') {
        const f = receiver.failure;
        if (f === undefined) return fail(protocolError('TRANSFER_CANCELLED'));
        if (f.code === 'TRANSFER_TIMEOUT') {
          return fail(protocolError('TRANSFER_TIMEOUT', `download of ${offer.name} stopped: ${f.text} (${address}:${port})`));
        }
        if (f.fromPeer && (f.code === 'TRANSFER_REJECTED' || f.code === 'TRANSFER_LIMIT')) {
          return fail(protocolError(f.code, `server refused the download of ${offer.name}: ${f.text}`));
        }
        if (f.fromPeer) {
          return fail(protocolError('TRANSFER_CANCELLED', `server cancelled the download of ${offer.name}: ${f.text} (${f.code})`));
        }
        return fail(protocolError(f.code, f.text));
      }
      // Every byte is here: verify and resolve now, without waiting for the sender's END;
      // the final ACK and the FIN behind it are sent by finish().
      const complete = receiver.state === 'done' || receiver.state === 'complete';
      if (complete && !writing && pendingWrites.length === 0) {
        void finish();
        return;
      }
      timer.schedule(receiver.nextDeadline());
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
      receiver.cancel('TRANSFER_CANCELLED', 'cancelled by the user');
      fail(protocolError('TRANSFER_CANCELLED', `download of ${offer.name} cancelled`));
    };

    // Every control packet is smaller than a REQUEST; DATA is payload + overhead (+ the seal's).
    const slot = Math.max(payloadSize + DATA_OVERHEAD_BYTES + SEALED_DATA_EXTRA_BYTES, REQUEST_PACKET_BYTES + SEALED_CONTROL_EXTRA_BYTES);
    const batch = options.batchIo === false ? undefined : BatchReceiver.open(socket, slot);
    let arrivedAt = 0;
    const onDatagram = (buf: Buffer): void => {
      if (!settled) receiver.onDatagram(buf, arrivedAt);
    };
    const sendAcks = (): void => {
      if (!settled) sendQueued(arrivedAt);
    };
    socket.on('message', (buf) => {
      if (settled) return;
      arrivedAt = monotonicNow();
      receiver.onDatagram(buf, arrivedAt);
      // Whatever else is waiting comes in one system call per 64 datagrams.
      if (batch !== undefined) receiver.stats.dropped += batch.drain(onDatagram, sendAcks);
      kick();
    });
    socket.on('error', (err) => {
      // ICMP port unreachable surfaces here on a connected socket: the server is not there (yet).
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return;
      receiver.cancel('TRANSFER_CANCELLED', 'client socket error');
      fail(err);
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    service();
  });
}
