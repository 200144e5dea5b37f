/*
 * The transfer server: one UDP socket, the transfers' lifecycle (offer, admission,
 * start, finish), the timer and the turn loop. Its parts live beside it, one module
 * each: offer-table (offers, tokens, per-owner slots), request-admission (what a
 * REQUEST gets), address-validation (CHALLENGE nonces, per-address reply budget),
 * offered-file, block-reader, packet-slab, send-scheduler, literal-lookup. What is
 * left (about 480 lines) is the socket's event handling, which reads best in one place.
 */
import dgram from 'node:dgram';
import {
  MAX_ERROR_PACKET_BYTES,
  ParleyProtocolError,
  SEALED_CONTROL_EXTRA_BYTES,
  decodePacket,
  encodePacket,
  isSealed,
  peekTransferId,
  type PacketSealer,
  protocolError,
  type ErrorCode,
  type RequestPacket,
  type UdpPacket,
} from '@parley/protocol';
import { WakeTimer, monotonicNow } from './clock.js';
import { silentLogger, type TransferLogger } from './logger.js';
import type { TransferServerOptions, TransferServerStats } from './transfer-server-options.js';
import { BatchSender } from './batch-io.js';
import { loadNativeAead } from './native-aead.js';
import { PathValidator, ReplyBudget } from './address-validation.js';
import { Sender } from './sender.js';
import { BlockReader, readAheadBlockBytes } from './block-reader.js';
import { PacketSlab } from './packet-slab.js';
import { literalFamily, literalLookup } from './literal-lookup.js';
import { closeQuietly, openOffered } from './offered-file.js';
import { OfferTable, type OfferInput, type PendingOffer } from './offer-table.js';
import { MAX_PACKETS_PER_TURN, SendScheduler } from './send-scheduler.js';
import { admitRequest, type AdmissionContext } from './request-admission.js';

export type { OfferInput } from './offer-table.js';
export type { TransferServerOptions, TransferServerStats } from './transfer-server-options.js';

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

/** A reply, sealed when its transfer is encrypted (so that the client, which takes only sealed packets, reads it). */
function sealed(packet: UdpPacket, sealer: PacketSealer | undefined): Buffer {
  return sealer !== undefined ? sealer.seal(packet) : encodePacket(packet);
}

/**
 * Another service on this socket (uploads, upload-service.ts): the datagrams of the
 * transfer ids it claims go to it, and `close()` stops it before the socket closes.
 */
export interface DatagramRoute {
  claims(id: number): boolean;
  onMessage(buf: Buffer, address: string, port: number): void;
  close(): void;
}

/** What a routed service may do with the socket: send, and keep clear of the ids in use here. */
export interface RouteHost {
  readonly port: number;
  send(buf: Buffer, port: number, address: string): void;
  /** True when a download offer or transfer has this id. */
  inUse(id: number): boolean;
}

/** DATA packets per batched send (UDP GSO takes at most 64 segments per call). */
const BATCH_BURST = 64;

/**
 * One UDP socket serving every transfer. The chat server calls `offer()` when a
 * user types `download,<file>` and sends the returned id and token in its TCP
 * `offer` event; the client's REQUEST must present that token. Tokens are
 * one-time, expire, and bind the transfer to the address that presented them.
 */
export class TransferServer {
  private readonly socket: dgram.Socket;
  private readonly log: TransferLogger;
  private readonly idleTimeoutMs: number;
  private readonly maxPayloadBytes: number;
  private readonly offers: OfferTable;
  private readonly transfers = new Map<number, ActiveTransfer>();
  /** Active transfers per client IP address. */
  private readonly perAddress = new Map<string, number>();
  private readonly maxPerAddress: number;
  private readonly maxTransfers: number;
  private readonly readAheadBytes: number;
  private readonly admission: AdmissionContext;
  private readonly replyBudget: ReplyBudget;
  private readonly dropped: Record<string, number> = {};
  private readonly timer: WakeTimer;
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
  private readonly scheduler: SendScheduler<ActiveTransfer>;
  private route: DatagramRoute | undefined;

  private constructor(
    socket: dgram.Socket,
    private readonly options: TransferServerOptions,
  ) {
    this.socket = socket;
    this.log = options.logger ?? silentLogger;
    this.offers = new OfferTable(options.tokenTtlMs ?? 30_000, options.maxTransfersPerOwner ?? 4);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 65_487;
    this.maxPerAddress = options.maxTransfersPerAddress ?? 8;
    this.maxTransfers = options.maxTransfers ?? 256;
    this.readAheadBytes = options.readAheadBytes ?? 256 * 1024;
    this.admission = {
      active: (id) => this.transfers.get(id),
      offer: (id) => this.offers.get(id),
      validator: new PathValidator(),
      maxPayloadBytes: this.maxPayloadBytes,
      activeFrom: (address) => this.perAddress.get(address) ?? 0,
      maxPerAddress: this.maxPerAddress,
    };
    this.replyBudget = new ReplyBudget({ perSecond: options.maxErrorRepliesPerSec ?? 100, maxAddresses: options.maxReplyAddresses ?? 4096 });
    this.timer = new WakeTimer(() => this.service(), monotonicNow);
    this.batch = options.batchIo === false ? undefined : BatchSender.open(socket);
    this.scheduler = new SendScheduler<ActiveTransfer>(
      { queued: () => this.socket.getSendQueueCount(), send: (t, burst) => this.sendData(t, burst) },
      this.batch === undefined ? 1 : BATCH_BURST,
    );
    socket.on('message', (buf, rinfo) => this.onMessage(buf, rinfo.address, rinfo.port));
    socket.on('error', (err) => this.log.error({ err }, 'transfer socket error'));
  }

  static async listen(options: TransferServerOptions = {}): Promise<TransferServer> {
    const host = options.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: literalFamily(host) === 'ipv6' ? 'udp6' : 'udp4', lookup: literalLookup });
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
    const aead = loadNativeAead() ? 'native' : 'node:crypto';
    server.log.info({ host, port: server.port, io: server.stats().io, aead }, 'transfer server listening');
    return server;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Shares this socket with another service (uploads): see `DatagramRoute`. One at a time. */
  attach(route: DatagramRoute): RouteHost {
    this.route = route;
    const socket = this.socket;
    return {
      port: this.port,
      send: (buf, port, address) => {
        if (this.closed) return;
        socket.send(buf, port, address);
        this.bytesSent += buf.length;
      },
      inUse: (id) => this.transfers.has(id) || this.offers.get(id) !== undefined,
    };
  }

  /**
   * Registers a file for one download and returns the id and one-time token for the
   * TCP offer. Opens the file now, without following a symbolic link at `path`, and
   * serves the transfer from that descriptor: a link swapped in later is never
   * followed. Throws ParleyProtocolError TRANSFER_LIMIT (this owner's or the server's
   * limit) or FILE_UNREADABLE (not a regular file, a link, unreadable, or not the
   * size that was listed). With `input.encrypt`, also returns the transfer's fresh
   * 32-byte key in 64 hex digits (the `offer` event's 7th argument): every UDP
   * packet of the transfer is then sealed with it (PROTOCOL.md §5.7).
   */
  offer(input: OfferInput): { id: number; token: string; key?: string } {
    if (this.closed) throw protocolError('SHUTDOWN');
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw protocolError('BAD_ARGUMENTS', 'offer size must be a non-negative integer');
    if (!/^[0-9a-f]{64}$/i.test(input.sha256)) throw protocolError('BAD_ARGUMENTS', 'offer sha256 must be 64 hex digits');
    this.offers.checkOwner(input.owner);
    if (this.offers.size + this.transfers.size >= this.maxTransfers) {
      throw protocolError('TRANSFER_LIMIT', `the server has ${this.maxTransfers} downloads at once; try again shortly`);
    }
    const fd = openOffered(input.path, input.size);
    const offer = this.offers.add(input, fd, monotonicNow(), (id) => this.transfers.has(id) || this.route?.claims(id) === true);
    this.timer.schedule(offer.expiresAt);
    this.log.debug({ id: offer.id, owner: input.owner, name: input.name, size: input.size, encrypted: offer.key !== undefined }, 'transfer offered');
    const token = offer.token.toString('hex');
    return offer.key !== undefined ? { id: offer.id, token, key: offer.key.toString('hex') } : { id: offer.id, token };
  }

  /** The TCP session is gone: forget its offers and stop its transfers now. */
  cancelOwner(owner: string): void {
    for (const id of this.offers.idsOf(owner)) this.cancel(owner, id, 'the chat session closed');
  }

  /** Stops one offer or transfer of `owner`. False when there is none. */
  cancel(owner: string, id: number, text = 'download cancelled by the server'): boolean {
    const offer = this.offers.get(id);
    if (offer !== undefined && offer.owner === owner) {
      this.offers.drop(offer);
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
  inspect(): {
    id: number;
    owner: string;
    state: string;
    deliveredChunks: number;
    srttMs: number;
    minRttMs: number;
    cwndBytes: number;
    inFlightBytes: number;
    pacingMBps: number;
    bandwidthMBps: number;
    mode: string;
    packetsSent: number;
    retransmissions: number;
  }[] {
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
    this.route?.close();
    this.closed = true;
    this.offers.dropAll();
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

  private drop(reason: string, address: string, port: number, id?: number): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    this.log.debug({ reason, peer: { address, port, transfer: id } }, 'datagram dropped');
  }

  /** The sealer of an encrypted transfer or offer with this id; undefined: plain (or unknown). */
  private sealerFor(id: number | undefined): PacketSealer | undefined {
    if (id === undefined) return undefined;
    return (this.transfers.get(id)?.offer ?? this.offers.get(id))?.sealer;
  }

  private onMessage(buf: Buffer, address: string, port: number): void {
    if (this.closed) return;
    const routed = peekTransferId(buf);
    if (routed !== undefined && this.route?.claims(routed) === true) {
      this.route.onMessage(buf, address, port);
      return;
    }
    let packet: UdpPacket;
    // An encrypted transfer takes only packets sealed with its key: anything else
    // (plain, forged, altered, another transfer's) is dropped before it is read, and
    // never answered, whatever it claims to be.
    const id = peekTransferId(buf);
    const bound = id === undefined ? undefined : this.transfers.get(id);
    if (bound?.offer.sealer !== undefined && (bound.address !== address || bound.port !== port)) {
      // Not from the address the encrypted transfer is bound to: not worth a decryption.
      this.drop('wrong_address', address, port, id);
      return;
    }
    const sealer = this.sealerFor(id);
    try {
      const limits = { maxDatagramBytes: this.maxPayloadBytes + 20 + SEALED_CONTROL_EXTRA_BYTES };
      packet = sealer !== undefined ? sealer.open(buf, limits) : decodePacket(buf, limits);
    } catch (err) {
      if (!(err instanceof ParleyProtocolError)) throw err;
      const reason = err.wireCode === 'PACKET_UNAUTHENTICATED' && !isSealed(buf) ? 'unsealed' : err.wireCode.replace(/^PACKET_/, '').toLowerCase();
      this.drop(reason, address, port, id);
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
    const now = monotonicNow();
    const admission = admitRequest(req, address, port, now, this.admission);
    switch (admission.kind) {
      case 'serving':
        this.transfers.get(req.transferId)?.sender.onPacket(req, now);
        return;
      case 'refuse':
        if (admission.expired !== undefined) this.expireOffer(admission.expired);
        this.drop(admission.drop, address, port, req.transferId);
        this.replyError(
          req.transferId,
          admission.code,
          admission.text,
          receivedBytes,
          address,
          port,
          this.sealerFor(req.transferId) ?? admission.expired?.sealer,
        );
        return;
      case 'challenge':
        // Until the address echoes the nonce only it can have seen, one CHALLENGE per
        // REQUEST (a ninth of its size) is all it gets.
        this.drop(admission.drop, address, port, req.transferId);
        this.replyUnvalidated(
          sealed({ type: 'challenge', transferId: req.transferId, nonce: admission.nonce }, this.sealerFor(req.transferId)),
          receivedBytes,
          address,
          port,
        );
        return;
      case 'start':
        this.startTransfer(admission.offer, req, address, port, now);
        return;
    }
  }

  private startTransfer(offer: PendingOffer, req: RequestPacket, address: string, port: number, now: number): void {
    // Valid and validated: the token is spent and the transfer is bound to this address.
    this.offers.take(offer);
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
        ...(offer.sealer !== undefined ? { sealer: offer.sealer } : {}),
        ...(this.options.maxRateBytesPerSec !== undefined ? { maxRateBytesPerSec: this.options.maxRateBytesPerSec } : {}),
      }),
      closed: false,
    };
    t.sockaddr = this.batchAddress(t);
    this.transfers.set(offer.id, t);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    t.log.info(
      {
        peer: { address, port },
        name: offer.name,
        size: offer.size,
        resumeFrom: req.resumeFrom,
        payloadSize: req.payloadSize,
        encrypted: offer.sealer !== undefined,
      },
      'transfer started',
    );
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
  private replyError(id: number, code: ErrorCode, text: string, receivedBytes: number, address: string, port: number, sealer: PacketSealer | undefined): void {
    this.replyUnvalidated(sealed({ type: 'error', transferId: id, code, text }, sealer), receivedBytes, address, port);
  }

  /**
   * The only way anything reaches an address that has not been validated: one reply per
   * datagram received, never larger than it (so at most 1× what the address sent, below
   * RFC 9000's 3×), and at most `maxErrorRepliesPerSec` per second per IP address.
   */
  private replyUnvalidated(packet: Buffer, receivedBytes: number, address: string, port: number): void {
    if (packet.length > receivedBytes || packet.length > MAX_ERROR_PACKET_BYTES + SEALED_CONTROL_EXTRA_BYTES) return;
    if (!this.replyBudget.take(address, monotonicNow())) {
      this.dropped['reply_budget'] = (this.dropped['reply_budget'] ?? 0) + 1;
      return;
    }
    this.socket.send(packet, port, address);
    this.bytesSent += packet.length;
  }

  private expireOffer(offer: PendingOffer): void {
    this.offers.drop(offer);
    this.onOfferExpired(offer);
  }

  private readonly onOfferExpired = (offer: PendingOffer): void => {
    this.log.debug({ id: offer.id, owner: offer.owner }, 'transfer offer expired');
  };

  private stopTransfer(t: ActiveTransfer, code: ErrorCode, text: string): void {
    t.sender.cancel(code, text);
    // Send the CANCEL right away and free the transfer.
    for (let dg = t.sender.poll(monotonicNow()); dg !== undefined; dg = t.sender.poll(monotonicNow())) this.sendControl(t, dg);
    this.finish(t);
  }

  private removeTransfer(t: ActiveTransfer): void {
    if (this.transfers.get(t.id) !== t) return;
    this.transfers.delete(t.id);
    this.offers.release(t.offer.owner, t.id);
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
    let next = this.offers.expire(now, this.onOfferExpired);
    const senders: ActiveTransfer[] = [];
    for (const t of this.transfers.values()) {
      if (t.sender.nextDeadline() <= now) t.sender.onTimer(now);
      senders.push(t);
    }
    // Every earlier DATA send has left the process: their memory may be reused.
    if (this.socket.getSendQueueCount() === 0) this.slab.reset();
    const { sent, blocked } = this.scheduler.turn(senders, now);
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
      if (sent >= MAX_PACKETS_PER_TURN)
        this.kick(); // let ACKs in, then go on
      else this.timer.schedule(now + 1); // kernel send buffer full: retry shortly
    }
    this.timer.schedule(next);
  }
}
