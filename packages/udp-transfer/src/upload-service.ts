/*
 * Uploads: the transfer run the other way, on the download socket (PROTOCOL.md §7.2).
 * The client opens it exactly as it opens a download (REQUEST with the one-time
 * token, CHALLENGE, REQUEST echoing the nonce), so nothing is ever sent to an
 * address that has not proved itself beyond one small reply per REQUEST; then the
 * server answers with an ACK (its cumulative point: where to resume) and the client
 * sends DATA with the same Sender the server uses for downloads, while the server
 * runs the Receiver. Bytes go to one partial file the caller names, hashed as
 * they are written; the caller hears once: verified, or failed (and why).
 */
import { createHash, randomBytes, randomInt, type Hash } from 'node:crypto';
import { open, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import {
  AEAD_KEY_BYTES,
  MAX_ERROR_PACKET_BYTES,
  PacketSealer,
  ParleyProtocolError,
  SEALED_CONTROL_EXTRA_BYTES,
  decodePacket,
  encodePacket,
  peekTransferId,
  protocolError,
  type ErrorCode,
  type RequestPacket,
  type UdpPacket,
} from '@parley/protocol';
import { PathValidator, ReplyBudget } from './address-validation.js';
import { WakeTimer, monotonicNow } from './clock.js';
import { silentLogger, type TransferLogger } from './logger.js';
import { Receiver } from './receiver.js';
import { admitRequest, type AdmissionContext } from './request-admission.js';
import type { DatagramRoute, RouteHost } from './transfer-server.js';
import { emptyObjectArray } from './arrays.js';

export interface UploadInput {
  /** The chat session the upload belongs to (its slots, `cancelOwner`). */
  readonly owner: string;
  /** For logs only. */
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /**
   * The partial file: created, or resumed from the whole chunks it holds. Nothing is
   * ever written anywhere else. On success it holds the verified file (the caller
   * moves it into place); on failure it is deleted unless the failure may be resumed.
   */
  readonly partialPath: string;
  /** Seal every UDP packet with a fresh key (TLS sessions only; PROTOCOL.md §5.7). */
  readonly encrypt?: boolean;
}

export type UploadOutcome =
  | { readonly ok: true; readonly path: string; readonly bytes: number; readonly resumedBytes: number }
  /** `kept`: the partial file stays for a resume (the peer went silent or the session closed). */
  | { readonly ok: false; readonly code: ErrorCode; readonly text: string; readonly kept: boolean };

export interface UploadServiceOptions {
  readonly logger?: TransferLogger;
  /** How long a token waits for its REQUEST. Default 30 s. */
  readonly tokenTtlMs?: number;
  /** Nothing valid from the client for this long: the upload fails (partial kept). Default 15 s. */
  readonly idleTimeoutMs?: number;
  /** Chunks buffered beyond the in-order point per upload. Default 1024 (≈ 1.5 MB at 1452 bytes). */
  readonly window?: number;
  /** In-order bytes waiting for the disk per upload before DATA is dropped (the sender re-sends it). Default 4 MiB. */
  readonly maxBufferedBytes?: number;
  /** Active uploads per client IP address. Default 8. */
  readonly maxPerAddress?: number;
  /** Replies to unvalidated addresses per second per IP address. Default 100. */
  readonly maxErrorRepliesPerSec?: number;
  readonly maxReplyAddresses?: number;
  /** Largest DATA payload accepted. Default 65487. */
  readonly maxPayloadBytes?: number;
}

type SlotState = 'pending' | 'opening' | 'receiving' | 'finishing' | 'ended';

interface Slot {
  readonly id: number;
  readonly token: Buffer;
  readonly expiresAt: number;
  readonly size: number;
  readonly sealer?: PacketSealer;
  readonly input: UploadInput;
  readonly onDone: (outcome: UploadOutcome) => void;
  readonly log: TransferLogger;
  state: SlotState;
  address?: string;
  port?: number;
  receiver?: Receiver;
  file?: FileHandle;
  hash?: Hash;
  onDisk: number;
  resumedBytes: number;
  writing: boolean;
  pending: Buffer[];
  pendingBytes: number;
  /** When the file was verified (the slot lingers to answer END). */
  finishedAt: number;
  /** A pump is queued for the end of this turn of the event loop. */
  pumpQueued: boolean;
}

/** In-order bytes gathered before one file write while data is still arriving. */
const WRITE_BATCH_BYTES = 256 * 1024;

/** Time a finished upload stays to answer the client's END with END_ACK. */
const LINGER_MS = 3000;

/**
 * Receives uploads on the download socket (`TransferServer.attach`). The chat
 * server calls `expect()` when a user sends `share,…`; the client's REQUEST must
 * present the returned token, from an address that echoes its CHALLENGE nonce.
 */
export class UploadService implements DatagramRoute {
  private readonly host: RouteHost;
  private readonly log: TransferLogger;
  private readonly slots = new Map<number, Slot>();
  private readonly perAddress = new Map<string, number>();
  private readonly admission: AdmissionContext<Slot>;
  private readonly replyBudget: ReplyBudget;
  private readonly timer: WakeTimer;
  private readonly tokenTtlMs: number;
  private readonly idleTimeoutMs: number;
  private readonly window: number;
  private readonly maxBuffered: number;
  private readonly maxPayloadBytes: number;
  private readonly dropped: Record<string, number> = {};
  private nextId = randomInt(0x4000_0000, 0x7fff_ffff);
  private closed = false;
  bytesReceived = 0;

  constructor(attach: (route: DatagramRoute) => RouteHost, options: UploadServiceOptions = {}) {
    this.log = options.logger ?? silentLogger;
    this.tokenTtlMs = options.tokenTtlMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
    this.window = options.window ?? 1024;
    this.maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 65_487;
    const maxPerAddress = options.maxPerAddress ?? 8;
    this.admission = {
      active: (id) => {
        const s = this.slots.get(id);
        return s !== undefined && s.state !== 'pending' && s.address !== undefined && s.port !== undefined
          ? { address: s.address, port: s.port, offer: s }
          : undefined;
      },
      offer: (id) => {
        const s = this.slots.get(id);
        return s?.state === 'pending' ? s : undefined;
      },
      validator: new PathValidator(),
      maxPayloadBytes: this.maxPayloadBytes,
      activeFrom: (address) => this.perAddress.get(address) ?? 0,
      maxPerAddress,
    };
    this.replyBudget = new ReplyBudget({ perSecond: options.maxErrorRepliesPerSec ?? 100, maxAddresses: options.maxReplyAddresses ?? 4096 });
    this.timer = new WakeTimer(() => this.service(), monotonicNow);
    this.host = attach(this);
  }

  /** The UDP port clients send uploads to (the download port). */
  get port(): number {
    return this.host.port;
  }

  /** Uploads waiting for their REQUEST or running. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * Registers one upload and returns its id and one-time token (and key, with
   * `encrypt`) for the `upload` event. `onDone` is called exactly once.
   */
  expect(input: UploadInput, onDone: (outcome: UploadOutcome) => void): { id: number; token: string; key?: string } {
    if (this.closed) throw protocolError('SHUTDOWN');
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw protocolError('BAD_ARGUMENTS', 'upload size must be a non-negative integer');
    if (!/^[0-9a-f]{64}$/i.test(input.sha256)) throw protocolError('BAD_ARGUMENTS', 'upload sha256 must be 64 hex digits');
    let id = this.nextId;
    while (this.slots.has(id) || this.host.inUse(id) || id === 0) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const key = input.encrypt === true ? randomBytes(AEAD_KEY_BYTES) : undefined;
    const slot: Slot = {
      id,
      token: randomBytes(16),
      expiresAt: monotonicNow() + this.tokenTtlMs,
      size: input.size,
      input,
      onDone,
      log: this.log.child({ upload: id, owner: input.owner }),
      state: 'pending',
      onDisk: 0,
      resumedBytes: 0,
      writing: false,
      pending: emptyObjectArray<Buffer>(),
      pendingBytes: 0,
      finishedAt: 0,
      pumpQueued: false,
      ...(key !== undefined ? { sealer: new PacketSealer(key, 'server') } : {}),
    };
    this.slots.set(id, slot);
    this.timer.schedule(slot.expiresAt);
    slot.log.debug({ name: input.name, size: input.size, encrypted: key !== undefined }, 'upload expected');
    const token = slot.token.toString('hex');
    return key !== undefined ? { id, token, key: key.toString('hex') } : { id, token };
  }

  claims(id: number): boolean {
    return this.slots.has(id);
  }

  /** Stops one upload of `owner` (its partial file is deleted unless `keep`). False when there is none. */
  cancel(owner: string, id: number, text = 'upload cancelled', keep = false): boolean {
    const s = this.slots.get(id);
    if (s === undefined || s.input.owner !== owner || s.state === 'ended' || s.state === 'finishing') return false;
    this.stop(s, 'TRANSFER_CANCELLED', text, keep);
    return true;
  }

  /** The chat session is gone: its uploads stop; their partial files stay for a resume. */
  cancelOwner(owner: string): void {
    for (const s of [...this.slots.values()]) if (s.input.owner === owner) this.cancel(owner, s.id, 'the chat session closed', true);
  }

  stats(): { active: number; pending: number; bytesReceived: number; dropped: Record<string, number> } {
    let pending = 0;
    for (const s of this.slots.values()) if (s.state === 'pending') pending++;
    return { active: this.slots.size - pending, pending, bytesReceived: this.bytesReceived, dropped: { ...this.dropped } };
  }

  close(): void {
    if (this.closed) return;
    for (const s of [...this.slots.values()]) {
      if (s.state === 'finishing') this.release(s);
      else this.stop(s, 'SHUTDOWN', 'server is shutting down', true);
    }
    this.closed = true;
    this.timer.clear();
  }

  // ------------------------------------------------------------ internals

  private drop(reason: string, address: string, port: number, id?: number): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    this.log.debug({ reason, peer: { address, port, upload: id } }, 'upload datagram dropped');
  }

  onMessage(buf: Buffer, address: string, port: number): void {
    if (this.closed) return;
    const id = peekTransferId(buf);
    const slot = id === undefined ? undefined : this.slots.get(id);
    if (slot === undefined) return;
    const bound = slot.address !== undefined;
    if (slot.sealer !== undefined && bound && (slot.address !== address || slot.port !== port)) {
      this.drop('wrong_address', address, port, id);
      return;
    }
    let packet: UdpPacket;
    try {
      const limits = { maxDatagramBytes: this.maxPayloadBytes + 20 + SEALED_CONTROL_EXTRA_BYTES };
      packet = slot.sealer !== undefined ? slot.sealer.open(buf, limits) : decodePacket(buf, limits);
    } catch (err) {
      if (!(err instanceof ParleyProtocolError)) throw err;
      this.drop(err.wireCode.replace(/^PACKET_/, '').toLowerCase(), address, port, id);
      return;
    }
    if (packet.type === 'request') {
      this.onRequest(slot, packet, buf.length, address, port);
      return;
    }
    if (!bound || slot.address !== address || slot.port !== port) {
      this.drop('wrong_address', address, port, id);
      return;
    }
    const r = slot.receiver;
    if (r === undefined) {
      this.drop('not_open', address, port, id);
      return;
    }
    if (packet.type === 'data') {
      // The disk is behind: drop rather than buffer without bound (the sender re-sends it).
      if (slot.pendingBytes >= this.maxBuffered) {
        this.drop('disk_behind', address, port, id);
        return;
      }
      this.bytesReceived += buf.length;
    }
    const reason = r.onPacket(packet, monotonicNow());
    if (reason !== undefined) this.drop(reason, address, port, id);
    // DATA arrives in bursts: take the chunks, write and acknowledge once per burst, not per datagram.
    if (packet.type === 'data') this.queuePump(slot);
    else this.pump(slot);
  }

  private queuePump(slot: Slot): void {
    if (slot.pumpQueued) return;
    slot.pumpQueued = true;
    setImmediate(() => {
      slot.pumpQueued = false;
      this.pump(slot);
    });
  }

  private onRequest(slot: Slot, req: RequestPacket, receivedBytes: number, address: string, port: number): void {
    const now = monotonicNow();
    const admission = admitRequest(req, address, port, now, this.admission);
    switch (admission.kind) {
      case 'serving':
        if (slot.receiver !== undefined) {
          slot.receiver.onPacket(req, now);
          this.pump(slot);
        }
        return;
      case 'refuse':
        this.drop(admission.drop, address, port, req.transferId);
        if (admission.expired !== undefined) this.expire(admission.expired);
        this.replyUnvalidated(
          { type: 'error', transferId: req.transferId, code: admission.code, text: admission.text },
          slot.sealer,
          receivedBytes,
          address,
          port,
        );
        return;
      case 'challenge':
        this.drop(admission.drop, address, port, req.transferId);
        this.replyUnvalidated({ type: 'challenge', transferId: req.transferId, nonce: admission.nonce }, slot.sealer, receivedBytes, address, port);
        return;
      case 'start':
        slot.state = 'opening';
        slot.address = address;
        slot.port = port;
        this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
        void this.openFile(slot, req.payloadSize);
        return;
    }
  }

  /** One small reply to an address not validated yet: never larger than what it sent, within its budget. */
  private replyUnvalidated(packet: UdpPacket, sealer: PacketSealer | undefined, receivedBytes: number, address: string, port: number): void {
    const buf = sealer !== undefined ? sealer.seal(packet) : encodePacket(packet);
    if (buf.length > receivedBytes || buf.length > MAX_ERROR_PACKET_BYTES + SEALED_CONTROL_EXTRA_BYTES) return;
    if (!this.replyBudget.take(address, monotonicNow())) {
      this.dropped['reply_budget'] = (this.dropped['reply_budget'] ?? 0) + 1;
      return;
    }
    this.host.send(buf, port, address);
  }

  /** Opens (or resumes) the partial file, then starts the receiver: its first ACK says where to start. */
  private async openFile(slot: Slot, payloadSize: number): Promise<void> {
    const path = slot.input.partialPath;
    const hash = createHash('sha256');
    const totalChunks = Math.ceil(slot.size / payloadSize);
    try {
      const existing = await stat(path).catch(() => undefined);
      let resumeFrom = 0;
      if (existing?.isFile() && existing.size <= slot.size) {
        resumeFrom = existing.size === slot.size ? totalChunks : Math.floor(existing.size / payloadSize);
      }
      const onDisk = Math.min(slot.size, resumeFrom * payloadSize);
      let file: FileHandle;
      if (resumeFrom > 0) {
        await truncate(path, onDisk);
        await hashPrefix(path, onDisk, hash);
        file = await open(path, 'r+');
      } else {
        file = await open(path, 'w', 0o600);
      }
      if (slot.state !== 'opening') {
        await file.close();
        return;
      }
      slot.file = file;
      slot.hash = hash;
      slot.onDisk = onDisk;
      slot.resumedBytes = onDisk;
      slot.receiver = new Receiver({
        transferId: slot.id,
        token: slot.token,
        size: slot.size,
        payloadSize,
        resumeFrom,
        window: this.window,
        now: monotonicNow(),
        idleTimeoutMs: this.idleTimeoutMs,
        passive: true,
        ...(slot.sealer !== undefined ? { sealer: slot.sealer } : {}),
      });
      slot.state = 'receiving';
      slot.log.info(
        { peer: { address: slot.address, port: slot.port }, name: slot.input.name, size: slot.size, resumedBytes: onDisk, payloadSize },
        'upload started',
      );
      this.pump(slot);
    } catch (err) {
      slot.log.warn({ err }, 'cannot open the upload file');
      this.stop(slot, 'SHARE_NO_SPACE', 'the server cannot write the file', false);
    }
  }

  /** Moves in-order chunks to the disk, sends what the receiver queued, notices the end. */
  private pump(slot: Slot): void {
    const r = slot.receiver;
    if (r === undefined || slot.state === 'ended') return;
    const now = monotonicNow();
    if (r.nextDeadline() <= now) r.onTimer(now);
    if (slot.state === 'receiving') {
      const before = slot.pending.length;
      r.takeChunksInto(slot.pending);
      for (let i = before; i < slot.pending.length; i++) slot.pendingBytes += (slot.pending[i] as Buffer).length;
      this.write(slot);
    }
    for (let dg = r.poll(now); dg !== undefined; dg = r.poll(now)) this.host.send(dg, slot.port as number, slot.address as string);
    if (slot.state === 'receiving' && r.state === 'failed') {
      const f = r.failure;
      const code = f?.code ?? 'TRANSFER_CANCELLED';
      // Silence may be a dropped connection: keep the partial file for a resume. A cancel is meant.
      this.end(slot, { ok: false, code, text: f?.text ?? 'upload stopped', kept: code === 'TRANSFER_TIMEOUT' });
      return;
    }
    if (slot.state === 'receiving' && r.cumulative >= r.totalChunks && !slot.writing && slot.pending.length === 0) {
      void this.verify(slot);
      return;
    }
    if (slot.state === 'finishing' && (r.state === 'done' || r.state === 'failed' || now - slot.finishedAt >= LINGER_MS)) {
      this.release(slot);
      return;
    }
    this.timer.schedule(Math.min(r.nextDeadline(), slot.state === 'finishing' ? slot.finishedAt + LINGER_MS : Infinity));
  }

  private write(slot: Slot): void {
    if (slot.writing || slot.pending.length === 0 || slot.file === undefined || slot.hash === undefined) return;
    // Few large writes (each is a promise and a thread-pool hop): wait for 256 KiB unless the file is complete.
    const complete = slot.receiver !== undefined && slot.receiver.cumulative >= slot.receiver.totalChunks;
    if (slot.pendingBytes < WRITE_BATCH_BYTES && !complete) return;
    const batch = slot.pending;
    const bytes = slot.pendingBytes;
    slot.pending = emptyObjectArray<Buffer>();
    slot.pendingBytes = 0;
    slot.writing = true;
    for (const b of batch) slot.hash.update(b);
    slot.file.writev(batch, slot.onDisk).then(
      (res) => {
        slot.writing = false;
        if (res.bytesWritten !== bytes) return this.diskFailed(slot, new Error(`short write: ${res.bytesWritten} of ${bytes} bytes`));
        slot.onDisk += bytes;
        this.pump(slot);
        return undefined;
      },
      (err: unknown) => {
        slot.writing = false;
        this.diskFailed(slot, err);
      },
    );
  }

  private diskFailed(slot: Slot, err: unknown): void {
    if (slot.state !== 'receiving') return;
    const full = (err as NodeJS.ErrnoException).code === 'ENOSPC' || (err as NodeJS.ErrnoException).code === 'EDQUOT';
    slot.log.warn({ err }, 'upload write failed');
    this.stop(slot, 'SHARE_NO_SPACE', full ? 'the server\u2019s disk is full' : 'the server cannot write the file', false);
  }

  private async verify(slot: Slot): Promise<void> {
    slot.state = 'finishing';
    slot.finishedAt = monotonicNow();
    const file = slot.file;
    slot.file = undefined;
    try {
      await file?.sync();
      await file?.close();
    } catch (err) {
      slot.log.warn({ err }, 'upload file close failed');
    }
    const digest = slot.hash?.digest('hex');
    if (digest !== slot.input.sha256.toLowerCase()) {
      slot.receiver?.cancel('TRANSFER_CORRUPT', 'the file does not match its SHA-256');
      this.flush(slot);
      await unlink(slot.input.partialPath).catch(() => {});
      slot.log.warn({ digest, expected: slot.input.sha256 }, 'upload did not match its SHA-256');
      this.release(slot);
      slot.onDone({
        ok: false,
        code: 'TRANSFER_CORRUPT',
        text: `the file arrived with SHA-256 ${digest}, not the ${slot.input.sha256} announced; nothing was kept`,
        kept: false,
      });
      return;
    }
    slot.log.info({ bytes: slot.size, resumedBytes: slot.resumedBytes, elapsed: Math.round(monotonicNow() - slot.finishedAt) }, 'upload verified');
    slot.onDone({ ok: true, path: slot.input.partialPath, bytes: slot.size, resumedBytes: slot.resumedBytes });
    this.pump(slot);
  }

  private flush(slot: Slot): void {
    const r = slot.receiver;
    if (r === undefined || slot.address === undefined || slot.port === undefined) return;
    const now = monotonicNow();
    for (let dg = r.poll(now); dg !== undefined; dg = r.poll(now)) this.host.send(dg, slot.port, slot.address);
  }

  /** Stops an upload that has not finished: CANCEL to the client if it is bound, the partial file deleted unless `keep`. */
  private stop(slot: Slot, code: ErrorCode, text: string, keep: boolean): void {
    if (slot.state === 'ended' || slot.state === 'finishing') return;
    if (slot.receiver !== undefined) {
      slot.receiver.cancel(code, text);
      this.flush(slot);
    } else if (slot.address !== undefined && slot.port !== undefined) {
      const cancel: UdpPacket = { type: 'cancel', transferId: slot.id, token: slot.token, code, text };
      const buf = slot.sealer !== undefined ? slot.sealer.seal(cancel) : encodePacket(cancel);
      this.host.send(buf, slot.port, slot.address);
    }
    this.end(slot, { ok: false, code, text, kept: keep });
  }

  private end(slot: Slot, outcome: Extract<UploadOutcome, { ok: false }>): void {
    const wasOpen = slot.state !== 'pending';
    this.release(slot);
    const file = slot.file;
    slot.file = undefined;
    void (async () => {
      // Wait for a write in flight so that a kept partial file is consistent (or the unlink final).
      while (slot.writing) await new Promise((r) => setTimeout(r, 2));
      // Kept for a resume: what was acknowledged but not written yet goes to the disk first.
      if (outcome.kept) slot.receiver?.takeChunksInto(slot.pending);
      if (outcome.kept && file !== undefined && slot.pending.length > 0) {
        const res = await file.writev(slot.pending, slot.onDisk).catch(() => undefined);
        if (res !== undefined) slot.onDisk += res.bytesWritten;
        slot.pending = [];
        slot.pendingBytes = 0;
      }
      await file?.close().catch(() => {});
      if (wasOpen && !outcome.kept) await unlink(slot.input.partialPath).catch(() => {});
      slot.log.info({ code: outcome.code, text: outcome.text, kept: outcome.kept, onDisk: slot.onDisk }, 'upload stopped');
      slot.onDone(outcome);
    })();
  }

  private expire(slot: Slot): void {
    if (slot.state !== 'pending') return;
    this.end(slot, { ok: false, code: 'TRANSFER_REJECTED', text: 'the upload token expired before the client sent anything', kept: true });
  }

  private release(slot: Slot): void {
    if (slot.state === 'ended') return;
    const bound = slot.state !== 'pending' && slot.address !== undefined;
    slot.state = 'ended';
    if (this.slots.get(slot.id) === slot) this.slots.delete(slot.id);
    if (bound) {
      const n = (this.perAddress.get(slot.address as string) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(slot.address as string);
      else this.perAddress.set(slot.address as string, n);
    }
  }

  private service(): void {
    if (this.closed) return;
    const now = monotonicNow();
    for (const s of [...this.slots.values()]) {
      if (s.state === 'pending') {
        if (now >= s.expiresAt) this.expire(s);
        else this.timer.schedule(s.expiresAt);
      } else {
        this.pump(s);
      }
    }
  }
}

async function hashPrefix(path: string, bytes: number, hash: Hash): Promise<void> {
  if (bytes === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) hash.update(chunk as Buffer);
}
