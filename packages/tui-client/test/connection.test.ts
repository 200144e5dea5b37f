import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerEvent } from '@parley/protocol';
import { Connection, type LinkState } from '../src/net/connection.js';
import { Backoff } from '../src/net/backoff.js';
import { FakeServer } from './helpers/fake-server.js';
import { WAIT } from './helpers/wait.js';

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
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
    expect(server.lines[0]).toBe('ann');
    expect(events.map((e) => e.type)).toEqual(['info', 'welcome', 'online']);
  });

  it('answers ping with pong and the same token', async () => {
    const { server, conn } = await setup({ nick: 'ann' });
    conn.start();
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
    server.sockets[0]?.write('ping 42\n');
    await vi.waitFor(() => expect(server.lines).toContain('pong,42'), WAIT);
  });

  it('lets the user pick another nickname on the same connection after a refusal', async () => {
    const { server, conn, refused } = await setup({ nick: 'bob', taken: ['bob'] });
    conn.start();
    await vi.waitFor(() => expect(refused).toHaveLength(1), WAIT);
    expect(refused).toEqual(['NICK_TAKEN']);
    expect(conn.state).toBe('naming');
    conn.chooseNick('bob2');
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
    expect(conn.nick).toBe('bob2');
    expect(server.sockets.length).toBe(1);
  });

  it('after a refusal, does not resend the refused nick on a reconnect; waits for the user', async () => {
    const { server, conn, refused } = await setup({ nick: 'bob', taken: ['bob'] });
    conn.start();
    await vi.waitFor(() => expect(refused).toHaveLength(1), WAIT);
    server.sockets[0]?.destroy();
    await vi.waitFor(() => expect([server.sockets.length, conn.state]).toEqual([2, 'naming']), WAIT);
    // A later marker: the client answers a ping on the new connection after anything it sent on connecting.
    server.sockets[1]?.write('ping 7\n');
    await vi.waitFor(() => expect(server.lines).toContain('pong,7'), WAIT);
    expect(server.lines).toEqual(['bob', 'pong,7']);
    conn.chooseNick('bobby');
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
  });

  it('sends commands in the original grammar only when online', async () => {
    const { server, conn } = await setup();
    expect(conn.send({ type: 'online' })).toBe(false);
    conn.start();
    await vi.waitFor(() => expect(conn.state).toBe('naming'), WAIT);
    conn.chooseNick('ann');
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
    conn.send({ type: 'private', to: 'bob', text: 'hi, you' });
    await vi.waitFor(() => expect(server.lines).toContain('bob,hi, you'), WAIT);
  });

  it('reconnects with backoff after the server goes away and rejoins under the same nick', async () => {
    const { server, conn, states } = await setup({ nick: 'ann' });
    conn.start();
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
    server.sockets[0]?.destroy();
    await vi.waitFor(() => expect(states).toContain('reconnecting'), WAIT);
    await vi.waitFor(() => expect([conn.state, server.sockets.length]).toEqual(['online', 2]), WAIT);
    expect(server.lines.filter((l) => l === 'ann').length).toBe(2);
  });

  it('keeps trying the same nick when a rejoin finds its old session still there', async () => {
    const { server, conn, refused } = await setup({ nick: 'ann' });
    conn.start();
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
    let refusals = 0;
    server.onLine = (line, socket) => {
      if (line !== 'ann') return;
      if (refusals++ < 2) socket.write('error NICK_TAKEN :taken\n');
      else socket.write('welcome 1 ann :back\nonline 1 ann\n');
    };
    server.sockets[0]?.destroy();
    await vi.waitFor(() => expect([refusals, conn.state]).toEqual([3, 'online']), WAIT);
    expect(refused).toEqual([]);
  });

  it('does not reconnect after quit, and tells the server exit', async () => {
    const { server, conn, states } = await setup({ nick: 'ann' });
    conn.start();
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
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
    await vi.waitFor(() => expect(conn.state).toBe('online'), WAIT);
    expect(bad).toEqual(['frobnicate now']);
  });

  it('gives up at once when retrying is off and nobody listens', async () => {
    const server = new FakeServer();
    const port = await server.listen();
    await server.close();
    const states: string[] = [];
    const conn = new Connection({ host: '127.0.0.1', port, nick: 'a', reconnect: false }, { onState: (s, d) => states.push(`${s} ${d}`) });
    conn.start();
    await vi.waitFor(() => expect(states).toHaveLength(2), WAIT);
    expect(states[1]).toBe('closed ECONNREFUSED');
  });
});

/**
 * The reconnect schedule, driven by fake timers: only setTimeout/clearTimeout
 * are faked, so the sockets (and the ECONNREFUSED that starts each wait) stay real.
 */
describe('Connection reconnect backoff, on fake timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Records state changes; `next(state)` resolves on the next change to `state` not yet taken. */
  function stateLog() {
    const seen: Array<{ state: LinkState; detail: string }> = [];
    const wakers: Array<() => void> = [];
    let taken = 0;
    return {
      seen,
      count: (state: LinkState): number => seen.filter((x) => x.state === state).length,
      onState(state: LinkState, detail: string): void {
        seen.push({ state, detail });
        for (const w of wakers.splice(0)) w();
      },
      async next(state: LinkState): Promise<string> {
        for (;;) {
          const i = seen.findIndex((x, j) => j >= taken && x.state === state);
          if (i >= 0) {
            taken = i + 1;
            return (seen[i] as { detail: string }).detail;
          }
          await new Promise<void>((r) => wakers.push(r));
        }
      },
    };
  }

  it('waits 100, 200, 400 then 400 ms between attempts, never sooner, and starts over at 100 ms after a join', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const server = new FakeServer();
    welcoming(server);
    const port = await server.listen();
    await server.close(); // nobody listens on `port` for now
    cleanup.push(() => server.close());
    const log = stateLog();
    const conn = new Connection(
      { host: '127.0.0.1', port, nick: 'ann', backoff: { initialMs: 100, maxMs: 400, jitter: 0 } },
      { onState: (s, d) => log.onState(s, d) },
    );
    cleanup.push(() => conn.close());
    conn.start();
    for (const [attempt, delay] of [
      [1, 100],
      [2, 200],
      [3, 400],
      [4, 400],
    ] as const) {
      expect(await log.next('reconnecting')).toBe(`ECONNREFUSED; retrying in ${delay} ms`);
      vi.advanceTimersByTime(delay - 1);
      expect(log.count('connecting'), `attempt ${attempt + 1} came early`).toBe(attempt);
      vi.advanceTimersByTime(1);
      expect(log.count('connecting')).toBe(attempt + 1);
    }
    // The server is back before the fifth wait ends: the client joins, and the next loss waits 100 ms again.
    expect(await log.next('reconnecting')).toBe('ECONNREFUSED; retrying in 400 ms');
    await server.listen(port);
    vi.advanceTimersByTime(400);
    await log.next('online');
    server.sockets.at(-1)?.destroy();
    expect(await log.next('reconnecting')).toBe('connection closed; retrying in 100 ms');
  });

  it('close() while waiting to reconnect cancels the attempt', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { server, conn } = await setup({ nick: 'ann' });
    const log = stateLog();
    // setup() gave the connection its own handlers; watch this one through a fresh Connection.
    conn.close();
    const port = (server.server.address() as { port: number }).port;
    const watched = new Connection({ host: '127.0.0.1', port, nick: 'ann', backoff: { initialMs: 100, jitter: 0 } }, { onState: (s, d) => log.onState(s, d) });
    cleanup.push(() => watched.close());
    watched.start();
    await log.next('online');
    server.sockets.at(-1)?.destroy();
    expect(await log.next('reconnecting')).toBe('connection closed; retrying in 100 ms');
    watched.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(log.count('connecting')).toBe(1);
    expect(watched.state).toBe('closed');
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
