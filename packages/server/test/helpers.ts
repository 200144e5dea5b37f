import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { decodeEvent, type ServerEvent } from '@parley/protocol';
import { ChatServer, FileLibrary, type ChatOptions, type DownloadService } from '../src/index.js';

export const silent = pino({ level: 'silent' });

/** A raw TCP client that records every line the server sends. */
export class RawClient {
  readonly lines: string[] = [];
  #buffer = '';
  #waiters: Array<() => void> = [];
  closed = false;
  /** Answer every ping with a pong, as a real client does. */
  autoPong = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.lines.push(line);
        if (this.autoPong && line.startsWith('ping ')) this.send(`pong,${line.slice(5)}`);
        this.#buffer = this.#buffer.slice(nl + 1);
      }
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  /** A client over an already connected socket (a TLS one, say). */
  static wrap(socket: Socket): RawClient {
    return new RawClient(socket);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Connects and joins as `nick`; resolves after the welcome and online list. */
  static async join(port: number, nick: string, host = '127.0.0.1'): Promise<RawClient> {
    const c = await RawClient.connect(port, host);
    c.send(nick);
    await c.waitFor((l) => l.startsWith('online '));
    return c;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  events(): ServerEvent[] {
    return this.lines.map((l) => decodeEvent(l));
  }

  /** Waits for a line (received from now on, or already there after `from`) that matches. */
  async waitFor(match: (line: string) => boolean, timeoutMs = 5000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.closed) throw new Error(`connection closed before a matching line; got:\n${this.lines.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a line; got:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a line and waits for the next line that matches. */
  async ask(line: string, match: (l: string) => boolean): Promise<string> {
    const from = this.lines.length;
    this.send(line);
    return this.waitFor(match, 5000, from);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection did not close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface TestServer {
  readonly server: ChatServer;
  readonly port: number;
  readonly filesDir: string;
  readonly clients: RawClient[];
  join(nick: string): Promise<RawClient>;
  connect(): Promise<RawClient>;
  stop(): Promise<void>;
}

/** Starts a real server on 127.0.0.1, port 0, with its own files folder. */
export async function startTestServer(options: Partial<ChatOptions> = {}, downloads?: (files: FileLibrary) => Promise<DownloadService>): Promise<TestServer> {
  const filesDir = await mkdtemp(join(tmpdir(), 'parley-files-'));
  const files = new FileLibrary(filesDir);
  await files.ensure();
  const dl = downloads ? await downloads(files) : undefined;
  const server = new ChatServer({ files, log: silent, options, downloads: dl });
  const { port } = await server.listen(0, '127.0.0.1');
  const clients: RawClient[] = [];
  return {
    server,
    port,
    filesDir,
    clients,
    async join(nick) {
      const c = await RawClient.join(port, nick);
      clients.push(c);
      return c;
    },
    async connect() {
      const c = await RawClient.connect(port);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await server.close(500);
      await rm(filesDir, { recursive: true, force: true });
    },
  };
}
