import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { LatencyHistogram } from './proc.js';

export type Dialect = 'parley' | 'irc';

/** The IRC channel every fan-out client joins. */
export const IRC_CHANNEL = '#bench';
/**
 * Longest one attempt may take to connect and register before it is dropped
 * and tried again (counted in failedAttempts): a lost handshake costs this
 * much, not the whole run.
 */
const REGISTER_TIMEOUT_MS = 20_000;
/** Times a failed connection is tried again (ngIRCd resets handshakes beyond its listen backlog). */
const CONNECT_RETRIES = 5;

const LF = 0x0a;
/** Every load message's text starts with `Z<sender>.<seq>.<send time µs>`, found after the ` :` of the line. */
const MARK = Buffer.from(' :Z', 'latin1');

interface Conn {
  readonly index: number;
  readonly nick: string;
  socket: Socket | undefined;
  rest: Buffer | undefined;
  registered: boolean;
  done: ((err?: Error) => void) | undefined;
}

/**
 * How load clients reach a TLS port. Each connection makes a full handshake
 * (no session is resumed) and verifies the server's certificate against `ca`,
 * as `parley --tls --ca FILE` does.
 */
export interface PoolTls {
  /** PEM of the CA, or of the server's self-signed certificate. */
  readonly ca: string | Buffer;
  /** Name checked against the certificate; default: the host (an IP address is checked against the IP SANs). */
  readonly servername?: string;
}

export interface PoolOptions {
  readonly host: string;
  readonly port: number;
  readonly dialect: Dialect;
  readonly clients: number;
  /** IRC: join IRC_CHANNEL after registering (fan-out). */
  readonly joinChannel: boolean;
  /** false: connect only (Parley: until the prompt), never send a nickname. Default true. */
  readonly register?: boolean;
  /** Connect over TLS (every client: a full handshake). Default: plain TCP. */
  readonly tls?: PoolTls;
}

/** What the receivers counted. */
export class Tally {
  received = 0;
  duplicated = 0;
  reordered = 0;
  /** Deliveries of messages sent inside the measured window. */
  measured = 0;
  readonly latency = new LatencyHistogram();
  /** Last sequence number seen per (receiver, sender); made on the first delivery (idle runs never need its clients² entries). */
  #last: Int32Array | undefined;
  windowStartUs = Number.POSITIVE_INFINITY;
  windowEndUs = Number.POSITIVE_INFINITY;

  constructor(readonly clients: number) {}

  record(receiver: number, sender: number, seq: number, sentUs: number, nowUs: number): void {
    this.received += 1;
    if (sender >= this.clients) return;
    this.#last ??= new Int32Array(this.clients * this.clients).fill(-1);
    const k = receiver * this.clients + sender;
    const last = this.#last[k] as number;
    if (seq === last) this.duplicated += 1;
    else if (seq < last) this.reordered += 1;
    else this.#last[k] = seq;
    if (sentUs >= this.windowStartUs && sentUs < this.windowEndUs) {
      this.measured += 1;
      this.latency.record(nowUs - sentUs);
    }
  }
}

export function nowUs(): number {
  return Math.round(performance.now() * 1000);
}

/**
 * Every load client in one process: plain or TLS sockets with TCP_NODELAY, one write
 * per client per tick, and a receive path that looks at bytes only: it finds
 * line ends and the ` :Z` mark and parses three numbers, nothing more.
 */
export class LoadPool {
  readonly conns: Conn[];
  readonly tally: Tally;
  failedAttempts = 0;
  dropped = 0;
  bytesIn = 0;
  /** performance.now() of the last byte received. */
  lastDataAt = 0;
  /** TLS: the protocol and cipher the first connection agreed on (e.g. `TLSv1.3 TLS_AES_256_GCM_SHA384`). */
  tlsSession: string | undefined;

  constructor(readonly options: PoolOptions) {
    this.conns = Array.from({ length: options.clients }, (_, i) => ({
      index: i,
      nick: `c${i}`,
      socket: undefined,
      rest: undefined,
      registered: false,
      done: undefined,
    }));
    this.tally = new Tally(options.clients);
  }

  /** Connects and registers every client, `concurrency` at a time. Resolves with the wall time it took. */
  async connectAll(concurrency: number): Promise<number> {
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.conns.length) {
        const conn = this.conns[next++] as Conn;
        for (let attempt = 0; ; attempt++) {
          try {
            await this.#open(conn);
            break;
          } catch (err) {
            this.failedAttempts += 1;
            if (attempt >= CONNECT_RETRIES) throw new Error(`client ${conn.nick} could not connect and register: ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, this.conns.length)) }, worker));
    return performance.now() - t0;
  }

  #open(conn: Conn): Promise<void> {
    return new Promise((resolve, reject) => {
      const tls = this.options.tls;
      const socket: Socket = tls
        ? // tls.connect hands the socket.connect() options (noDelay among them) to the TCP socket under it; its type omits them.
          tlsConnect({
            host: this.options.host,
            port: this.options.port,
            noDelay: true,
            ca: tls.ca,
            ...(tls.servername ? { servername: tls.servername } : {}),
          } as ConnectionOptions)
        : connect({ host: this.options.host, port: this.options.port, noDelay: true });
      conn.socket = socket;
      conn.rest = undefined;
      conn.registered = false;
      const timer = setTimeout(() => finish(new Error('timed out registering')), REGISTER_TIMEOUT_MS);
      const finish = (err?: Error): void => {
        if (!conn.done) return;
        conn.done = undefined;
        clearTimeout(timer);
        if (err) {
          socket.destroy();
          reject(err);
        } else resolve();
      };
      conn.done = finish;
      // Over TLS the line protocol starts once the handshake is done (and the certificate verified).
      socket.on(tls ? 'secureConnect' : 'connect', () => {
        if (tls && this.tlsSession === undefined) {
          const s = socket as TLSSocket;
          this.tlsSession = `${s.getProtocol() ?? '?'} ${s.getCipher()?.standardName ?? '?'}`;
        }
        if (this.options.register === false) {
          if (this.options.dialect === 'irc') {
            conn.registered = true;
            conn.done?.();
          }
          return;
        }
        if (this.options.dialect === 'irc') socket.write(`NICK ${conn.nick}\r\nUSER ${conn.nick} 0 * :${conn.nick}\r\n`);
        else socket.write(`${conn.nick}\n`);
      });
      socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
      socket.on('error', (err) => conn.done?.(err));
      socket.on('close', () => {
        if (conn.done) conn.done(new Error('closed while registering'));
        else if (conn.registered && conn.socket === socket) {
          this.dropped += 1;
          conn.registered = false;
        }
      });
    });
  }

  #onData(conn: Conn, chunk: Buffer): void {
    this.bytesIn += chunk.length;
    const now = nowUs();
    this.lastDataAt = now / 1000;
    let buf = chunk;
    if (conn.rest) {
      buf = Buffer.concat([conn.rest, chunk]);
      conn.rest = undefined;
    }
    let start = 0;
    // Where the next mark is in this buffer (searched once per mark, not once per line: join storms have none).
    let mark = -2;
    for (;;) {
      const end = buf.indexOf(LF, start);
      if (end === -1) break;
      if (mark !== -1 && mark < start) mark = buf.indexOf(MARK, start);
      this.#line(conn, buf, start, end, now, mark !== -1 && mark < end ? mark : -1);
      start = end + 1;
    }
    if (start < buf.length) conn.rest = buf.subarray(start);
  }

  #line(conn: Conn, buf: Buffer, start: number, end: number, now: number, mark: number): void {
    if (mark !== -1) {
      // Z<sender>.<seq>.<µs>
      let i = mark + 3;
      let sender = 0;
      let seq = 0;
      let ts = 0;
      let c: number;
      while ((c = buf[i++] as number) >= 48 && c <= 57) sender = sender * 10 + c - 48;
      while ((c = buf[i++] as number) >= 48 && c <= 57) seq = seq * 10 + c - 48;
      while ((c = buf[i++] as number) >= 48 && c <= 57) ts = ts * 10 + c - 48;
      this.tally.record(conn.index, sender, seq, ts, now);
      return;
    }
    // Once registered, only pings matter (and they start with p / P): skip the rest unread (join storms).
    if (conn.registered && (buf[start] as number) !== (this.options.dialect === 'irc' ? 0x50 : 0x70)) return;
    this.#control(conn, buf.toString('latin1', start, end).replace(/\r$/u, ''));
  }

  /** Everything that is not a load message: registration, pings, errors. */
  #control(conn: Conn, line: string): void {
    const socket = conn.socket;
    if (!socket) return;
    if (this.options.dialect === 'parley') {
      if (this.options.register === false && !conn.registered && line.startsWith('info ')) {
        conn.registered = true;
        conn.done?.();
      } else if (line.startsWith('ping ')) socket.write(`pong,${line.slice(5)}\n`);
      else if (!conn.registered && line.startsWith('welcome ')) {
        conn.registered = true;
        conn.done?.();
      } else if (!conn.registered && (line.startsWith('error ') || line.startsWith('bye '))) conn.done?.(new Error(line));
      return;
    }
    if (line.startsWith('PING')) {
      socket.write(`PONG${line.slice(4)}\r\n`);
      return;
    }
    const parts = line.split(' ');
    const code = parts[1];
    if (!conn.registered && code === '001') {
      if (this.options.joinChannel) socket.write(`JOIN ${IRC_CHANNEL}\r\n`);
      else {
        conn.registered = true;
        conn.done?.();
      }
    } else if (!conn.registered && code === '366') {
      conn.registered = true;
      conn.done?.();
    } else if (!conn.registered && (line.startsWith('ERROR') || code === '433' || code === '432')) conn.done?.(new Error(line));
  }

  /** Writes text to client i (one write; the caller batches its lines). */
  write(i: number, text: string): void {
    const s = this.conns[i]?.socket;
    if (s && !s.destroyed) s.write(text);
  }

  get registered(): number {
    let n = 0;
    for (const c of this.conns) if (c.registered) n++;
    return n;
  }

  /** Waits until no byte has arrived for `quietMs` (or `maxMs` passed). */
  async quiesce(quietMs: number, maxMs: number): Promise<void> {
    const deadline = performance.now() + maxMs;
    this.lastDataAt = Math.max(this.lastDataAt, performance.now());
    while (performance.now() < deadline && performance.now() - this.lastDataAt < quietMs) {
      await new Promise((r) => setTimeout(r, Math.min(50, quietMs)));
    }
  }

  close(): void {
    for (const c of this.conns) c.socket?.destroy();
  }
}
