import { RawClient } from './helpers.js';

/**
 * Raw clients a test opens against a built server, closed together in
 * `afterEach` (`closeAll`). `joinAs` resolves on the first answer to the
 * nickname (the online list, an error or a bye), so a refusal can be checked too.
 */
export class ClientPool {
  readonly opened: RawClient[] = [];

  async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const c = await RawClient.connect(port, host);
    this.opened.push(c);
    return c;
  }

  async joinAs(port: number, nick: string, host = '127.0.0.1'): Promise<RawClient> {
    const c = await this.connect(port, host);
    c.send(nick);
    await c.waitFor((l) => l.startsWith('online ') || l.startsWith('error ') || l.startsWith('bye '));
    return c;
  }

  /** Joins a registered nickname with its password (`login,<password>` after NICK_REGISTERED). */
  async login(port: number, nick: string, password: string): Promise<RawClient> {
    const c = await this.connect(port);
    c.send(nick);
    await c.waitFor((l) => l.startsWith('error NICK_REGISTERED'));
    c.send(`login,${password}`);
    await c.waitFor((l) => l.startsWith('account identified '));
    return c;
  }

  closeAll(): void {
    for (const c of this.opened.splice(0)) c.close();
  }
}
