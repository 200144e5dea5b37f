import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import dgram from 'node:dgram';
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import {
  MAX_ERROR_PACKET_BYTES,
  ParleyProtocolError,
  decodePacket,
  encodePacket,
  protocolError,
  type ErrorCode,
  type RequestPacket,
  type UdpPacket,
} from '@parley/protocol';
import { WakeTimer, monotonicNow } from './clock.js';
import { silentLogger, type TransferLogger } from './logger.js';
import { BatchSender } from './batch-io.js';
import { PathValidator, ReplyBudget } from './address-validation.js';
import { Sender, type ChunkSource } from './sender.js';

export interface TransferServerOptions {
  readonly host?: string;
  /** 0 = ephemeral. */
  readonly port?: number;
  readonly logger?: TransferLogger;
  /** How long an offered token may wait for its REQUEST. Default 30 s. */
  readonly tokenTtlMs?: number;
  /** A transfer with no valid packet from its receiver for this long is dropped. Default 15 s. */
  readonly idleTimeoutMs?: number;
  /** Offers plus active transfers per TCP session. Default 4. */
  readonly maxTransfersPerOwner?: number;
  /** Per-transfer pacing ceiling in bytes/s (default: none; the congestion controller decides). */
  readonly maxRateBytesPerSec?: number;
  /** SO_SNDBUF / SO_RCVBUF to ask for. Default 4 MiB (the kernel may cap it). */
  readonly socketBufferBytes?: number;
  /**
   * Replies (ERROR, CHALLENGE) to an address that has not been validated, per second
   * per IP address (a token bucket each). Default 100.
   */
  readonly maxErrorRepliesPerSec?: number;
  /** IP addresses whose reply budget is remembered at once (least recently seen forgotten first). Default 4096. */
  readonly maxReplyAddresses?: number;
  /** File bytes read ahead per transfer, whatever the payload size (at least one chunk). Default 256 KiB. */
  readonly readAheadBytes?: number;
  /** Active transfers per client IP address (checked when its REQUEST is validated). Default 8. */
  readonly maxTransfersPerAddress?: number;
  /** Offers plus active transfers on the whole server (checked by `offer`). Default 256. */
  readonly maxTransfers?: number;
  /** Largest DATA payload a REQUEST may ask for. Default 65487 (protocol maximum). */
  readonly maxPayloadBytes?: number;
  /**
   * Hand DATA packets to the kernel in batches (UDP GSO or sendmmsg) through the
   * optional native addon when it is built. Default true; false, or
   * PARLEY_UDP_BATCH=0 in the environment, sends one datagram per call.
   */
  readonly batchIo?: boolean;
}

export interface OfferInput {
  readonly owner: string;
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

export interface TransferServerStats {
  active: number;
  pendingOffers: number;
  bytesSent: number;
  retransmissions: number;
  dropped: Record<string, number>;
  /** How DATA leaves: 'batched' (native addon) or 'dgram' (one send per datagram). */
  io: 'batched' | 'dgram';
}

interface PendingOffer extends OfferInput {
  readonly id: number;
  readonly token: Buffer;
  readonly expiresAt: number;
  /**
   * The file, opened when it was offered (without following a symbolic link) and
   * read through this descriptor until the transfer ends: what is at the path later
   * does not matter. Closed when the offer expires or is cancelled, or when its
   * transfer ends.
   */
  readonly fd: number;
}

interface ActiveTransfer {
  readonly id: number;
  readonly offer: PendingOffer;
  readonly address: string;
  readonly port: number;
  readonly log: TransferLogger;
  readonly startedAt: number;
  /** The peer as a struct sockaddr for batched sends; null: this transfer uses dgram. */
  sockaddr: Buffer | null;
  readonly sender: Sender;
  /** The offer's descriptor is closed (once). */
  closed: boolean;
}

const MAX_SEND_QUEUE = 64;
/** DATA packets per batched send (UDP GSO takes at most 64 segments per call). */
const BATCH_BURST = 64;

/**
 * Every `send` on an unconnected socket resolves its address first; ours are
 * always the IP literals `rinfo` gave us, so answer at once instead of a
 * `dns.lookup` and a `nextTick` per datagram.
 */
let lastLiteral = '';
let lastFamily = 0;
function literalLookup(
  hostname: string,
  options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  if (hostname === lastLiteral) {
    callback(null, hostname, lastFamily);
    return;
  }
  const family = isIP(hostname);
  if (family !== 0) {
    lastLiteral = hostname;
    lastFamily = family;
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, options as LookupOptions, (err, address, fam) => callback(err, address as string, fam as number));
}
/**
 * Chunks read from the file per system call (one pread per packet costs as much as
 * the send), at most `readAheadBytes` in all: the block's memory is the server's,
 * the payload size is the client's choice.
 */
const READ_AHEAD_CHUNKS = 32;

/** Read-ahead block bytes for a payload size: whole chunks, at least one, at most max(readAheadBytes, one chunk). */
export function readAheadBlockBytes(payloadSize: number, readAheadBytes: number): number {
  return payloadSize * Math.max(1, Math.min(READ_AHEAD_CHUNKS, Math.floor(readAheadBytes / payloadSize)));
}

/** Reads the file in blocks and copies chunks out of the last block read. */
class BlockReader implements ChunkSource {
  private readonly block: Buffer;
  private blockStart = 0;
  private blockEnd = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    blockBytes: number,
  ) {
    this.block = Buffer.allocUnsafe(blockBytes);
  }

  read(position: number, target: Buffer, offset: number, length: number): void {
    if (position < this.blockStart || position + length > this.blockEnd) {
      const want = Math.min(this.block.length, this.size - position) | 0; // a small integer (see Sender.lastChunkBytes)
      const n = readSync(this.fd, this.block, 0, want, position);
      if (n < length) throw new Error(`short read at ${position}: ${n} of ${length} bytes`);
      this.blockStart = position;
      this.blockEnd = position + n;
    }
    this.block.copy(target, offset, position - this.blockStart, position - this.blockStart + length);
  }
}
const MAX_PACKETS_PER_TURN = 512;

/**
 * DATA packet memory for the whole server, handed out in slices of one large
 * block. A datagram's memory is only needed until the kernel has it; with the
 * socket's send queue empty every earlier `send` has completed, and the block is
 * reused from its start (no allocation, cache-warm memory). While sends are
 * queued, a full block is replaced by a fresh one (the old one stays referenced
 * by the queued sends until they finish).
 */
class PacketSlab {
  private block = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;

  alloc(bytes: number): Buffer {
    if (bytes > SLAB_BYTES) return Buffer.allocUnsafe(bytes);
    if (this.used + bytes > this.block.length) {
      this.block = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const buf = this.block.subarray(this.used, this.used + bytes);
    this.used += (bytes + 7) & ~7;
    return buf;
  }

  /** Only when nothing handed out is still waiting to be sent. */
  reset(): void {
    this.used = 0;
  }
}
const SLAB_BYTES = 1024 * 1024;

/**
 * One UDP socket serving every transfer. The chat server calls `offer()` when a
 * user types `download,<file>` and sends the returned id and token in its TCP
 * `offer` event; the client's REQUEST must present that token. Tokens are
 * one-time, expire, and bind the transfer to the address that presented them.
 */
export class TransferServer {
  private readonly socket: dgram.Socket;
  private readonly log: TransferLogger;
  private readonly tokenTtlMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxPerOwner: number;
  private readonly maxPayloadBytes: number;
  private readonly offers = new Map<number, PendingOffer>();
  private readonly transfers = new Map<number, ActiveTransfer>();
  private readonly owners = new Map<string, Set<number>>();
  /** Active transfers per client IP address. */
  private readonly perAddress = new Map<string, number>();
  private readonly maxPerAddress: number;
  private readonly maxTransfers: number;
  private readonly readAheadBytes: number;
  private readonly validator = new PathValidator();
  private readonly replyBudget: ReplyBudget;
  private readonly dropped: Record<string, number> = {};
  private readonly timer: WakeTimer;
  private nextId = randomInt(1, 0x7fff_ffff);
  private bytesSent = 0;
  private retransmissionsDone = 0;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  /** CANCEL/END packets handed to the socket whose send has not completed (close() waits for them). */
  private controlInFlight = 0;
  private readonly slab = new PacketSlab();
  private readonly allocPacket = (bytes: number): Buffer => this.slab.alloc(bytes);
  /** Set when the native addon can send DATA in batches on this socket. */
  private readonly batch: BatchSender | undefined;
  /** DATA packets polled from one sender and not yet handed to the kernel. */
  private readonly burst: Buffer[] = [];

  private constructor(socket: dgram.Socket, private readonly options: TransferServerOptions) {
    this.socket = socket;
    this.log = options.logger ?? silentLogger;
    this.tokenTtlMs = options.tokenTtlMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
    this.maxPerOwner = options.maxTransfersPerOwner ?? 4;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 65_487;
    this.maxPerAddress = options.maxTransfersPerAddress ?? 8;
    this.maxTransfers = options.maxTransfers ?? 256;
    this.readAheadBytes = options.readAheadBytes ?? 256 * 1024;
    this.replyBudget = new ReplyBudget({ perSecond: options.maxErrorRepliesPerSec ?? 100, maxAddresses: options.maxReplyAddresses ?? 4096 });
    this.timer = new WakeTimer(() => this.service(), monotonicNow);
    this.batch = options.batchIo === false ? undefined : BatchSender.open(socket);
    socket.on('message', (buf, rinfo) => this.onMessage(buf, rinfo.address, rinfo.port));
    socket.on('error', (err) => this.log.error({ err }, 'transfer socket error'));
  }

  static async listen(options: TransferServerOptions = {}): Promise<TransferServer> {
    const host = options.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const bufBytes = options.socketBufferBytes ?? 4 * 1024 * 1024;
    try {
      socket.setSendBufferSize(bufBytes);
      socket.setRecvBufferSize(bufBytes);
    } catch {
      // The kernel caps these; the defaults still work, only slower.
    }
    const server = new TransferServer(socket, options);
    server.log.info({ host, port: server.port, io: server.stats().io }, 'transfer server listening');
    return server;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /**
   * Registers a file for one download and returns the id and one-time token for the
   * TCP offer. Opens the file now, without following a symbolic link at `path`, and
   * serves the transfer from that descriptor: a link swapped in later is never
   * followed. Throws ParleyProtocolError TRANSFER_LIMIT (this owner's or the server's
   * limit) or FILE_UNREADABLE (not a regular file, a link, unreadable, or not the
   * size that was listed).
   */
  offer(input: OfferInput): { id: number; token: string } {
    if (this.closed) throw protocolError('SHUTDOWN');
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw protocolError('BAD_ARGUMENTS', 'offer size must be a non-negative integer');
    if (!/^[0-9a-f]{64}$/i.test(input.sha256)) throw protocolError('BAD_ARGUMENTS', 'offer sha256 must be 64 hex digits');
    const mine = this.owners.get(input.owner);
    if (mine !== undefined && mine.size >= this.maxPerOwner) {
      throw protocolError('TRANSFER_LIMIT', `at most ${this.maxPerOwner} downloads at once`);
    }
    if (this.offers.size + this.transfers.size >= this.maxTransfers) {
      throw protocolError('TRANSFER_LIMIT', `the server has ${this.maxTransfers} downloads at once; try again shortly`);
    }
    const fd = openOffered(input.path, input.size);
    let id = this.nextId;
    while (this.offers.has(id) || this.transfers.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const token = randomBytes(16);
    const offer: PendingOffer = { ...input, id, token, fd, expiresAt: monotonicNow() + this.tokenTtlMs };
    this.offers.set(id, offer);
    this.addOwned(input.owner, id);
    this.timer.schedule(offer.expiresAt);
    this.log.debug({ id, owner: input.owner, name: input.name, size: input.size }, 'transfer offered');
    return { id, token: token.toString('hex') };
  }

  /** The TCP session is gone: forget its offers and stop its transfers now. */
  cancelOwner(owner: string): void {
    const ids = this.owners.get(owner);
    if (ids === undefined) return;
    for (const id of [...ids]) this.cancel(owner, id, 'the chat session closed');
  }

  /** Stops one offer or transfer of `owner`. False when there is none. */
  cancel(owner: string, id: number, text = 'download cancelled by the server'): boolean {
    const offer = this.offers.get(id);
    if (offer !== undefined && offer.owner === owner) {
      this.dropOffer(offer);
      return true;
    }
    const t = this.transfers.get(id);
    if (t === undefined || t.offer.owner !== owner) return false;
    this.stopTransfer(t, 'TRANSFER_CANCELLED', text);
    return true;
  }

  stats(): TransferServerStats {
    let retransmissions = this.retransmissionsDone;
    for (const t of this.transfers.values()) retransmissions += t.sender.stats.retransmissions;
    return {
      active: this.transfers.size,
      pendingOffers: this.offers.size,
      bytesSent: this.bytesSent,
      retransmissions,
      dropped: { ...this.dropped },
      io: this.batch === undefined ? 'dgram' : 'batched',
    };
  }

  /** Per-transfer congestion-control state, for diagnostics and benchmarks. */
  inspect(): { id: number; owner: string; state: string; deliveredChunks: number; srttMs: number; minRttMs: number; cwndBytes: number; inFlightBytes: number; pacingMBps: number; bandwidthMBps: number; mode: string; packetsSent: number; retransmissions: number }[] {
    const out = [];
    for (const t of this.transfers.values()) {
      const s = t.sender;
      out.push({
        id: t.id,
        owner: t.offer.owner,
        state: s.state,
        deliveredChunks: s.deliveredChunks,
        srttMs: s.rtt.smoothed,
        minRttMs: s.rtt.min,
        cwndBytes: Math.round(s.cc.cwnd),
        inFlightBytes: s.inFlight,
        pacingMBps: s.cc.pacingRate / 1000,
        bandwidthMBps: s.cc.btlBw / 1000,
        mode: s.cc.mode,
        packetsSent: s.stats.packetsSent,
        retransmissions: s.stats.retransmissions,
      });
    }
    return out;
  }

  /** Tells active receivers (CANCEL SHUTDOWN), waits up to `graceMs` for those packets to leave, frees everything. */
  async close(graceMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const offer of [...this.offers.values()]) this.dropOffer(offer);
    for (const t of [...this.transfers.values()]) this.stopTransfer(t, 'SHUTDOWN', 'server is shutting down');
    this.timer.clear();
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    const deadline = monotonicNow() + graceMs;
    while ((this.controlInFlight > 0 || this.socket.getSendQueueCount() > 0) && monotonicNow() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    this.log.info({}, 'transfer server closed');
  }

  // ------------------------------------------------------------ internals

  private addOwned(owner: string, id: number): void {
    let set = this.owners.get(owner);
    if (set === undefined) this.owners.set(owner, (set = new Set()));
    set.add(id);
  }

  private removeOwned(owner: string, id: number): void {
    const set = this.owners.get(owner);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.owners.delete(owner);
  }

  private drop(reason: string, address: string, port: number, id?: number): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    this.log.debug({ reason, peer: { address, port, transfer: id } }, 'datagram dropped');
  }

  private onMessage(buf: Buffer, address: string, port: number): void {
    if (this.closed) return;
    let packet: UdpPacket;
    try {
      packet = decodePacket(buf, { maxDatagramBytes: this.maxPayloadBytes + 20 });
    } catch (err) {
      if (!(err instanceof ParleyProtocolError)) throw err;
      this.drop(err.wireCode.replace(/^PACKET_/, '').toLowerCase(), address, port);
      return;
    }
    if (packet.type === 'request') {
      this.onRequest(packet, buf.length, address, port);
      return;
    }
    const t = this.transfers.get(packet.transferId);
    if (t === undefined) {
      this.drop('unknown_transfer', address, port, packet.transferId);
      return;
    }
    if (t.address !== address || t.port !== port) {
      this.drop('wrong_address', address, port, packet.transferId);
      return;
    }
    const reason = t.sender.onPacket(packet, monotonicNow());
    if (reason !== undefined) this.drop(reason, address, port, packet.transferId);
    this.kick();
  }

  private onRequest(req: RequestPacket, receivedBytes: number, address: string, port: number): void {
    const active = this.transfers.get(req.transferId);
    if (active !== undefined) {
      if (active.address === address && active.port === port) {
        active.sender.onPacket(req, monotonicNow());
        return; // a retransmitted REQUEST: already serving it
      }
      const reused = timingSafeEqual(req.token, active.offer.token);
      this.drop(reused ? 'token_reused' : 'bad_token', address, port, req.transferId);
      this.replyError(req.transferId, 'TRANSFER_REJECTED', 'token already used', receivedBytes, address, port);
      return;
    }
    const offer = this.offers.get(req.transferId);
    if (offer === undefined) {
      this.drop('unknown_transfer', address, port, req.transferId);
      this.replyError(req.transferId, 'TRANSFER_REJECTED', 'no such transfer', receivedBytes, address, port);
      return;
    }
    if (!timingSafeEqual(req.token, offer.token)) {
      this.drop('bad_token', address, port, req.transferId);
      this.replyError(req.transferId, 'TRANSFER_REJECTED', 'wrong token', receivedBytes, address, port);
      return;
    }
    const now = monotonicNow();
    if (now >= offer.expiresAt) {
      this.expireOffer(offer);
      this.drop('token_expired', address, port, req.transferId);
      this.replyError(req.transferId, 'TRANSFER_REJECTED', 'token expired', receivedBytes, address, port);
      return;
    }
    const totalChunks = Math.ceil(offer.size / req.payloadSize);
    if (req.payloadSize > this.maxPayloadBytes || totalChunks > 0xffff_ffff || req.resumeFrom > totalChunks) {
      this.drop('bad_request', address, port, req.transferId);
      this.replyError(req.transferId, 'PACKET_MALFORMED', 'payload size or resume point refused', receivedBytes, address, port);
      return;
    }
    // Address validation (RFC 9000 §8.1): no data before this address has echoed the
    // nonce that only it can have seen. Until then it gets one CHALLENGE per REQUEST,
    // a ninth of the REQUEST's size.
    if (!this.validator.check(offer.id, offer.token, address, port, req.nonce)) {
      this.drop(req.nonce === undefined ? 'challenged' : 'bad_nonce', address, port, req.transferId);
      const nonce = this.validator.nonce(offer.id, offer.token, address, port);
      this.replyUnvalidated(encodePacket({ type: 'challenge', transferId: offer.id, nonce }), receivedBytes, address, port);
      return;
    }
    if ((this.perAddress.get(address) ?? 0) >= this.maxPerAddress) {
      // The offer stays: the client may try again when one of its downloads has ended.
      this.drop('address_limit', address, port, req.transferId);
      this.replyError(req.transferId, 'TRANSFER_LIMIT', `at most ${this.maxPerAddress} downloads at once from one address`, receivedBytes, address, port);
      return;
    }
    // Valid and validated: the token is spent and the transfer is bound to this address.
    this.offers.delete(offer.id);
    const log = this.log.child({ transfer: offer.id, owner: offer.owner });
    const t: ActiveTransfer = {
      id: offer.id,
      offer,
      address,
      port,
      log,
      startedAt: now,
      sockaddr: null,
      sender: new Sender({
        transferId: offer.id,
        token: offer.token,
        size: offer.size,
        payloadSize: req.payloadSize,
        resumeFrom: req.resumeFrom,
        window: req.window,
        now,
        idleTimeoutMs: this.idleTimeoutMs,
        source: new BlockReader(offer.fd, offer.size, readAheadBlockBytes(req.payloadSize, this.readAheadBytes)),
        allocPacket: this.allocPacket,
        ...(this.options.maxRateBytesPerSec !== undefined ? { maxRateBytesPerSec: this.options.maxRateBytesPerSec } : {}),
      }),
      closed: false,
    };
    t.sockaddr = this.batchAddress(t);
    this.transfers.set(offer.id, t);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    t.log.info({ peer: { address, port }, name: offer.name, size: offer.size, resumeFrom: req.resumeFrom, payloadSize: req.payloadSize }, 'transfer started');
    this.kick();
  }

  private sendControl(t: ActiveTransfer, packet: Buffer): void {
    this.controlInFlight++;
    this.socket.send(packet, t.port, t.address, () => {
      this.controlInFlight--;
    });
    this.bytesSent += packet.length;
  }

  /** A small ERROR, never larger than the datagram that caused it, within the sender's reply budget. */
  private replyError(id: number, code: ErrorCode, text: string, receivedBytes: number, address: string, port: number): void {
    this.replyUnvalidated(encodePacket({ type: 'error', transferId: id, code, text }), receivedBytes, address, port);
  }

  /**
   * The only way anything reaches an address that has not been validated: one reply per
   * datagram received, never larger than it (so at most 1× what the address sent, below
   * RFC 9000's 3×), and at most `maxErrorRepliesPerSec` per second per IP address.
   */
  private replyUnvalidated(packet: Buffer, receivedBytes: number, address: string, port: number): void {
    if (packet.length > receivedBytes || packet.length > MAX_ERROR_PACKET_BYTES) return;
    if (!this.replyBudget.take(address, monotonicNow())) {
      this.dropped['reply_budget'] = (this.dropped['reply_budget'] ?? 0) + 1;
      return;
    }
    this.socket.send(packet, port, address);
    this.bytesSent += packet.length;
  }

  private expireOffer(offer: PendingOffer): void {
    this.dropOffer(offer);
    this.log.debug({ id: offer.id, owner: offer.owner }, 'transfer offer expired');
  }

  /** Forgets an offer that never started and closes its file. */
  private dropOffer(offer: PendingOffer): void {
    if (this.offers.get(offer.id) === offer) this.offers.delete(offer.id);
    this.removeOwned(offer.owner, offer.id);
    closeQuietly(offer.fd);
  }

  private stopTransfer(t: ActiveTransfer, code: ErrorCode, text: string): void {
    t.sender.cancel(code, text);
    // Send the CANCEL right away and free the transfer.
    for (let dg = t.sender.poll(monotonicNow()); dg !== undefined; dg = t.sender.poll(monotonicNow())) this.sendControl(t, dg);
    this.finish(t);
  }

  private removeTransfer(t: ActiveTransfer): void {
    if (this.transfers.get(t.id) !== t) return;
    this.transfers.delete(t.id);
    this.removeOwned(t.offer.owner, t.id);
    const n = (this.perAddress.get(t.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(t.address);
    else this.perAddress.set(t.address, n);
  }

  private finish(t: ActiveTransfer): void {
    this.removeTransfer(t);
    const s = t.sender;
    this.retransmissionsDone += s.stats.retransmissions;
    const elapsedMs = monotonicNow() - t.startedAt;
    const fields = {
      state: s.state,
      endConfirmed: s.endConfirmed,
      reason: s.failure,
      packets: s.stats.packetsSent,
      retransmissions: s.stats.retransmissions,
      lost: s.stats.lost,
      srttMs: Math.round(s.rtt.smoothed * 100) / 100,
      minRttMs: Math.round(s.rtt.min * 100) / 100,
      bandwidthMBps: Math.round(s.cc.btlBw) / 1000,
      cwndBytes: Math.round(s.cc.cwnd),
      ptoFired: s.stats.ptoFired,
      elapsedMs: Math.round(elapsedMs),
    };
    if (s.state === 'done') t.log.info(fields, 'transfer finished');
    else t.log.warn(fields, 'transfer stopped');
    if (!t.closed) {
      t.closed = true;
      closeQuietly(t.offer.fd);
    }
  }

  private kick(): void {
    if (this.immediate !== undefined || this.closed) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.service();
    });
  }

  /**
   * Hands a burst of one transfer's DATA packets to the kernel. Returns false if
   * the socket buffer filled up (what did not fit is queued in dgram, which
   * sends it when the socket drains).
   */
  private sendData(t: ActiveTransfer, burst: Buffer[]): boolean {
    let done = 0;
    if (this.batch !== undefined && t.sockaddr !== null) {
      try {
        done = this.batch.send(burst, burst.length, t.sockaddr);
      } catch (err) {
        // A send error: this transfer goes on through dgram (which reports its own errors).
        t.log.warn({ err }, 'batched send failed; this transfer goes on through dgram');
        t.sockaddr = null;
      }
    }
    for (let i = 0; i < done; i++) this.bytesSent += (burst[i] as Buffer).length;
    for (let i = done; i < burst.length; i++) {
      const dg = burst[i] as Buffer;
      this.socket.send(dg, t.port, t.address);
      this.bytesSent += dg.length;
    }
    return t.sockaddr === null || done === burst.length;
  }

  /**
   * The peer's address for batched sends, made once when the transfer starts (not in
   * the send path: a branch that runs once per transfer there would throw away the
   * optimized code on every new transfer). Null: no addon, or an address it cannot
   * take (e.g. a scoped IPv6 one), and this transfer goes through dgram.
   */
  private batchAddress(t: ActiveTransfer): Buffer | null {
    if (this.batch === undefined) return null;
    try {
      return this.batch.sockaddr(t.address, t.port);
    } catch (err) {
      t.log.warn({ err }, 'batched sends cannot take this address; this transfer goes through dgram');
      return null;
    }
  }

  /** Runs timers, sends what congestion control and pacing allow, round-robin across transfers, re-arms the timer. */
  private service(): void {
    if (this.closed) return;
    const now = monotonicNow();
    let next = Infinity;
    for (const offer of [...this.offers.values()]) {
      if (offer.expiresAt <= now) this.expireOffer(offer);
      else next = Math.min(next, offer.expiresAt);
    }
    const senders: ActiveTransfer[] = [];
    for (const t of this.transfers.values()) {
      if (t.sender.nextDeadline() <= now) t.sender.onTimer(now);
      senders.push(t);
    }
    // Every earlier DATA send has left the process: their memory may be reused.
    if (this.socket.getSendQueueCount() === 0) this.slab.reset();
    let sent = 0;
    let blocked = false;
    // Round-robin across transfers, a burst each: one packet per turn through
    // dgram, up to BATCH_BURST through the addon (one system call per burst).
    const burstMax = this.batch === undefined ? 1 : BATCH_BURST;
    for (let progress = true; progress && !blocked; ) {
      progress = false;
      for (const t of senders) {
        if (this.socket.getSendQueueCount() > MAX_SEND_QUEUE || sent >= MAX_PACKETS_PER_TURN) {
          blocked = true;
          break;
        }
        const s = t.sender;
        const burst = this.burst;
        burst.length = 0;
        try {
          for (let dg = s.poll(now); dg !== undefined; dg = burst.length < burstMax ? s.poll(now) : undefined) burst.push(dg);
        } catch (err) {
          t.log.error({ err }, 'reading the file failed');
          s.cancel('FILE_UNREADABLE', 'file cannot be read');
        }
        if (burst.length === 0) continue;
        if (!this.sendData(t, burst)) blocked = true;
        sent += burst.length;
        progress = true;
      }
    }
    for (const t of senders) {
      const s = t.sender;
      if (s.state === 'done' || s.state === 'failed') {
        for (let dg = s.poll(now); dg !== undefined; dg = s.poll(now)) this.sendControl(t, dg);
        this.finish(t);
        continue;
      }
      next = Math.min(next, s.nextDeadline(), s.nextSendTime(now));
    }
    if (blocked) {
      if (sent >= MAX_PACKETS_PER_TURN) this.kick(); // let ACKs in, then go on
      else this.timer.schedule(now + 1); // kernel send buffer full: retry shortly
    }
    this.timer.schedule(next);
  }
}

/**
 * Opens an offered file for reading without following a symbolic link at `path`
 * (O_NOFOLLOW; O_NONBLOCK so that a FIFO swapped in cannot block the process), and
 * checks that it is a regular file of the size that was listed.
 */
function openOffered(path: string, size: number): number {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw protocolError('FILE_UNREADABLE', code === 'ELOOP' ? 'the file was replaced by a link' : 'the file cannot be opened');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw protocolError('FILE_UNREADABLE', 'the file is no longer a regular file');
    if (st.size !== size) throw protocolError('FILE_UNREADABLE', `the file changed size (${size} → ${st.size} bytes)`);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
