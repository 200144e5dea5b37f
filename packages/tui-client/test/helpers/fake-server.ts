import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A scripted TCP peer that records the lines a client sends. */
export class FakeServer {
  readonly server: Server;
  readonly sockets: Socket[] = [];
  readonly lines: string[] = [];
  onConnect: (socket: Socket) => void = (s) => s.write('info :type your nickname\n');
  onLine: (line: string, socket: Socket) => void = () => undefined;

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.push(socket);
      let buf = '';
      socket.on('data', (d) => {
        buf += d.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.lines.push(line);
          this.onLine(line, socket);
        }
      });
      socket.on('error', () => undefined);
      this.onConnect(socket);
    });
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
