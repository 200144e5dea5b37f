import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP relay to the server that can cut every connection through it and refuse new ones for a while. */
export class CuttableRelay {
  readonly #server: Server;
  readonly #pairs = new Set<Socket>();
  #refusing = false;
  cuts = 0;
  refused = 0;
  port = 0;

  constructor(target: number) {
    this.#server = createServer((client) => {
      if (this.#refusing) {
        this.refused += 1;
        client.destroy();
        return;
      }
      const upstream = connect({ port: target, host: '127.0.0.1' });
      this.#pairs.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(client);
        this.#pairs.delete(upstream);
      };
      client.on('close', drop).on('error', drop);
      upstream.on('close', drop).on('error', drop);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  /** Drops every relayed connection at once and turns new ones away until `restore()`. */
  cut(): void {
    this.#refusing = true;
    this.cuts += this.#pairs.size / 2;
    for (const s of this.#pairs) s.destroy();
    this.#pairs.clear();
  }

  restore(): void {
    this.#refusing = false;
  }

  close(): Promise<void> {
    for (const s of this.#pairs) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
