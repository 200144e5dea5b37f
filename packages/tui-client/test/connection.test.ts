import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '@parley/protocol';
import { Connection, type LinkState } from '../src/net/connection.js';
import { Backoff } from '../src/net/backoff.js';
import { FakeServer, waitFor } from './helpers/fake-server.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function welcoming(server: FakeServer, taken: string[] = []): void {
  server.onLine = (line, socket) => {
    if (line.startsWith('pong') || line.includes(',') || line === 'exit') {
      if (line === 'exit') socket.end('bye QUIT :goodbye\n');
      return;
    }
    if (taken.includes(line)) socket.write(`error NICK_TAKEN :nickname "${line}" is taken. Send another nickname.\n`);
    else socket.write(`welcome 1 ${line} :Welcome, ${line}!\nonline 1 ${line}\n`);
  };
}

async function setup(opts: { nick?: string; taken?: string[] } = {}) {
  const server = new FakeServer();
  welcoming(server, opts.taken);
  const port = await server.listen();
  cleanup.push(() => server.close());
  const events: ServerEvent[] = [];
  const states: LinkState[] = [];
  const refused: string[] = [];
  const conn = new Connection(
    { host: '127.0.0.1', port, nick: opts.nick, backoff: { initialMs: 20, maxMs: 100 } },
    {
      onEvent: (e) => events.push(e),
      onState: (s) => states.push(s),
      onNickRefused: (code) => refused.push(code),
    },
  );
  cleanup.push(() => conn.close());
  return { server, port, conn, events, states, refused };
}

describe('Connection', () => {
  it('sends the nickname and goes online on welcome', async () => {
    const { server, conn, events } = await setup({ nick: 'ann' });
    conn.start();
    await waitFor(() => conn.state === 'online', 'online');
    expect(server.lines[0]).toBe('ann');
    expect(events.map((e) => e.type)).toEqual(['info', 'welcome', 'online']);
  });

  it('answers ping with pong and the same token', async () => {
    const { server, conn } = await setup({ nick: 'ann' });
    conn.start();
    await waitFor(() => conn.state === 'online', 'online');
    server.sockets[0]?.write('ping 42\n');
    await server.until(() => server.lines.includes('pong,42'), 'pong');
  });

  it('lets the user pick another nickname on the same connection after a refusal', async () => {
    const { server, conn, refused } = await setup({ nick: 'bob', taken: ['bob'] });
    conn.start();
    await waitFor(() => refused.length === 1, 'refusal');
    expect(refused).toEqual(['NICK_TAKEN']);
    expect(conn.state).toBe('naming');
    conn.chooseNick('bob2');
    await waitFor(() => conn.state === 'online', 'online');
    expect(conn.nick).toBe('bob2');
    expect(server.sockets.length).toBe(1);
  });

  it('after a refusal, does not resend the refused nick on a reconnect; waits for the user', async () => {
    const { server, conn, refused } = await setup({ nick: 'bob', taken: ['bob'] });
    conn.start();
    await waitFor(() => refused.length === 1, 'refusal');
    server.sockets[0]?.destroy();
    await waitFor(() => server.sockets.length === 2 && conn.state === 'naming', 'reconnected, naming');
    await new Promise((r) => setTimeout(r, 50));
    expect(server.lines).toEqual(['bob']);
    conn.chooseNick('bobby');
    await waitFor(() => conn.state === 'online', 'online');
  });

  it('sends commands in the original grammar only when online', async () => {
    const { server, conn } = await setup();
    expect(conn.send({ type: 'online' })).toBe(false);
    conn.start();
    await waitFor(() => conn.state === 'naming', 'naming');
    conn.chooseNick('ann');
    await waitFor(() => conn.state === 'online', 'online');
    conn.send({ type: 'private', to: 'bob', text: 'hi, you' });
    await server.until(() => server.lines.includes('bob,hi, you'), 'private line');
  });

  it('reconnects with backoff after the server goes away and rejoins under the same nick', async () => {
    const { server, conn, states } = await setup({ nick: 'ann' });
    conn.start();
    await waitFor(() => conn.state === 'online', 'online');
    server.sockets[0]?.destroy();
    await waitFor(() => states.includes('reconnecting'), 'reconnecting');
    await waitFor(() => conn.state === 'online' && server.sockets.length === 2, 'rejoined');
    expect(server.lines.filter((l) => l === 'ann').length).toBe(2);
  });

  it('keeps trying the same nick when a rejoin finds its old session still there', async () => {
    const { server, conn, refused } = await setup({ nick: 'ann' });
    conn.start();
    await waitFor(() => conn.state === 'online', 'online');
    let refusals = 0;
    server.onLine = (line, socket) => {
      if (line !== 'ann') return;
      if (refusals++ < 2) socket.write('error NICK_TAKEN :taken\n');
      else socket.write('welcome 1 ann :back\nonline 1 ann\n');
    };
    server.sockets[0]?.destroy();
    await waitFor(() => refusals === 3 && conn.state === 'online', 'rejoined after refusals');
    expect(refused).toEqual([]);
  });

  it('does not reconnect after quit, and tells the server exit', async () => {
    const { server, conn, states } = await setup({ nick: 'ann' });
    conn.start();
    await waitFor(() => conn.state === 'online', 'online');
    await conn.quit();
    expect(server.lines).toContain('exit');
    expect(conn.state).toBe('closed');
    expect(states).not.toContain('reconnecting');
  });

  it('ignores lines that are not events', async () => {
    const bad: string[] = [];
    const server = new FakeServer();
    welcoming(server);
    const port = await server.listen();
    cleanup.push(() => server.close());
    const conn = new Connection({ host: '127.0.0.1', port, nick: 'ann' }, { onBadLine: (l) => bad.push(l) });
    cleanup.push(() => conn.close());
    server.onConnect = (s) => s.write('frobnicate now\n');
    conn.start();
    await waitFor(() => conn.state === 'online', 'online');
    expect(bad).toEqual(['frobnicate now']);
  });

  it('gives up at once when retrying is off and nobody listens', async () => {
    const server = new FakeServer();
    const port = await server.listen();
    await server.close();
    const states: string[] = [];
    const conn = new Connection({ host: '127.0.0.1', port, nick: 'a', reconnect: false }, { onState: (s, d) => states.push(`${s} ${d}`) });
    conn.start();
    await waitFor(() => states.length === 2, 'two states');
    expect(states[1]).toBe('closed ECONNREFUSED');
  });
});

describe('Backoff', () => {
  it('doubles up to its maximum, and starts over after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });
});
