import { connect, type Socket } from 'node:net';

export interface LineClientOptions {
  readonly host: string;
  readonly port: number;
  /** Answer `ping <token>` with `pong,<token>` as a real client does. Default true. */
  readonly autoPong?: boolean;
  /** Connect timeout in ms. Default 5000. */
  readonly connectTimeoutMs?: number;
}

export type LineMatcher = (line: string) => boolean;

/**
 * One scripted TCP client. It records every line the server sends (without the
 * LF), keeps a read cursor for ordered expectations, and can stop reading to
 * play a slow reader.
 */
export class LineClient {
  readonly lines: string[] = [];
  /** Index of the first line not yet consumed by an expectation. */
  cursor = 0;
  /** Lines matched out of order (by a sync) that later expectations skip. */
  readonly consumed = new Set<number>();
  closed = false;
  /** Set when the socket ended with an error (e.g. ECONNRESET). */
  closeError: string | undefined;
  #pending = '';
  #waiters = new Set<() => void>();
  readonly #autoPong: boolean;

  private constructor(
    readonly socket: Socket,
    options: LineClientOptions,
  ) {
    this.#autoPong = options.autoPong ?? true;
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', this.#onData);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.closeError = err.code ?? err.message;
    });
    socket.on('close', () => {
      this.closed = true;
      if (this.#pending.length > 0) {
        this.lines.push(this.#pending);
        this.#pending = '';
      }
      this.#wake();
    });
  }

  static connect(options: LineClientOptions): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${options.host}:${options.port} timed out after ${options.connectTimeoutMs ?? 5000} ms`));
      }, options.connectTimeoutMs ?? 5000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new LineClient(socket, options));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  #onData = (chunk: string): void => {
    let text = this.#pending + chunk;
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      const line = text.endsWith('\r', nl) ? text.slice(0, nl - 1) : text.slice(0, nl);
      text = text.slice(nl + 1);
      this.lines.push(line);
      if (this.#autoPong && line.startsWith('ping ')) this.sendLine(`pong,${line.slice(5)}`);
    }
    this.#pending = text;
    this.#wake();
  };

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  sendLine(line: string): void {
    if (!this.socket.destroyed) this.socket.write(`${line}\n`);
  }

  write(bytes: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Stops reading from the socket: the kernel buffers fill and the server sees a slow reader. */
  stopReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Closes politely (FIN). */
  end(): void {
    this.socket.end();
  }

  /** Drops the connection at once (RST when data is unread). */
  destroy(): void {
    this.socket.resetAndDestroy();
  }

  /**
   * Waits for the first line at or after the cursor that matches, consumes it
   * (moves the cursor past it) and returns it. Rejects with a message naming
   * what was awaited when the timeout passes or the connection closes first.
   */
  async next(match: LineMatcher, timeoutMs: number, what: string): Promise<string> {
    let scanned = this.cursor;
    const found = await this.#until(() => {
      for (let i = scanned; i < this.lines.length; i++) {
        if (!this.consumed.has(i) && match(this.lines[i] as string)) {
          this.cursor = i + 1;
          return this.lines[i] as string;
        }
      }
      scanned = this.lines.length;
      return undefined;
    }, timeoutMs);
    if (found.ok) return found.value;
    const why = found.why === 'closed' ? `connection closed${this.closeError ? ` (${this.closeError})` : ''}` : `timed out after ${timeoutMs} ms`;
    throw new ExpectationError(`${why} waiting for ${what}`, this.recent());
  }

  /**
   * Waits for a matching line received at index `from` or later without moving
   * the cursor (the line is marked consumed): for replies to a request whose
   * earlier lines are still to be checked in order.
   */
  async reply(match: LineMatcher, from: number, timeoutMs: number, what: string): Promise<string> {
    let scanned = from;
    const found = await this.#until(() => {
      for (let i = scanned; i < this.lines.length; i++) {
        if (!this.consumed.has(i) && match(this.lines[i] as string)) {
          this.consumed.add(i);
          return this.lines[i] as string;
        }
      }
      scanned = this.lines.length;
      return undefined;
    }, timeoutMs);
    if (found.ok) return found.value;
    throw new ExpectationError(
      `${found.why === 'closed' ? 'connection closed' : `timed out after ${timeoutMs} ms`} waiting for ${what}`,
      this.lines.slice(from, from + 12),
    );
  }

  /** Waits until the server has closed the connection. */
  async waitClosed(timeoutMs: number): Promise<void> {
    // A paused socket never notices that the peer closed it: read again (and keep what arrives).
    if (this.socket.isPaused()) this.socket.resume();
    const r = await this.#until(() => (this.closed ? true : undefined), timeoutMs, true);
    if (!r.ok) throw new ExpectationError(`connection still open after ${timeoutMs} ms`, this.recent());
  }

  /** The last lines received after the cursor (or the last few), for failure reports. */
  recent(max = 12): string[] {
    const from = Math.max(0, Math.min(this.cursor, this.lines.length - max));
    return this.lines.slice(from, from + max);
  }

  #until<T>(probe: () => T | undefined, timeoutMs: number, closedIsOk = false): Promise<{ ok: true; value: T } | { ok: false; why: 'timeout' | 'closed' }> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const v = probe();
        if (v !== undefined) return finish({ ok: true, value: v });
        if (this.closed && !closedIsOk) return finish({ ok: false, why: 'closed' });
      };
      const finish = (r: { ok: true; value: T } | { ok: false; why: 'timeout' | 'closed' }): void => {
        if (timer) clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(r);
      };
      timer = setTimeout(() => finish({ ok: false, why: 'timeout' }), timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}

/** A failed expectation, with the lines the client had received around it. */
export class ExpectationError extends Error {
  override readonly name = 'ExpectationError';
  constructor(
    message: string,
    readonly received: readonly string[],
  ) {
    super(message);
  }
}
