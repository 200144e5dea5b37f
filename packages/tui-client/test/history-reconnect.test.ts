import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChatModel, EARLIER_MARKER, MISSED_MARKER } from '../src/model/chat-model.js';
import { Connection } from '../src/net/connection.js';
import { CuttableRelay } from './helpers/relay.js';
import { startServer, tempDir, type RunningServer } from './helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The client's model and connection, wired as the terminal app wires them. */
function client(port: number, nick: string): { model: ChatModel; conn: Connection } {
  const model = new ChatModel();
  const conn: Connection = new Connection(
    { host: '127.0.0.1', port, nick, backoff: { initialMs: 100, maxMs: 300, jitter: 0 } },
    {
      onEvent: (event) => {
        const effects = model.apply(event);
        if (effects.send) conn.send(effects.send);
      },
      onJoined: (_nick, rejoined) => {
        for (const c of model.history.joined(model.serverVersion, rejoined)) conn.send(c);
      },
    },
  );
  conn.start();
  cleanups.push(() => conn.close());
  return { model, conn };
}

const chat = (m: ChatModel): string[] =>
  m.messages.all
    .filter((x) => (x.kind !== 'info' && x.kind !== 'join' && x.kind !== 'leave' && x.kind !== 'system') || x.text.startsWith('—'))
    .map((x) => (x.text.startsWith('—') ? x.text : `${x.earlier ? '(dim) ' : ''}${x.from}: ${x.text}`));

async function historyServer(): Promise<RunningServer> {
  const files = await tempDir('parley-files-');
  const data = await mkdtemp(join(tmpdir(), 'parley-data-'));
  const server = await startServer(files.path, {
    extra: ['--history', 'on', '--data-dir', data, '--history-on-join', '3', '--rate', '1000', '--burst', '1000'],
  });
  cleanups.push(async () => {
    await server.stop();
    await files.remove();
    await rm(data, { recursive: true, force: true });
  });
  return server;
}

describe('the client and the server history (real server, real sockets)', () => {
  it('shows the history on join dimmed above "— earlier —", then live lines', async () => {
    const server = await historyServer();
    const alice = client(server.port, 'alice');
    await vi.waitFor(() => expect(alice.conn.state).toBe('online'));
    for (const t of ['one', 'two', 'three', 'four']) {
      alice.conn.send({ type: 'broadcast', text: t });
      alice.model.echoBroadcast(t);
    }
    const bob = client(server.port, 'bob');
    await vi.waitFor(() => expect(chat(bob.model)).toContain(EARLIER_MARKER));
    alice.conn.send({ type: 'broadcast', text: 'live' });
    await vi.waitFor(() => expect(chat(bob.model)).toContain('alice: live'));
    expect(chat(bob.model)).toEqual(['(dim) alice: two', '(dim) alice: three', '(dim) alice: four', EARLIER_MARKER, 'alice: live']);
    // PgUp past the top: the page before.
    const older = bob.model.history.older();
    expect(older).toEqual({ type: 'history', query: { form: 'before', id: expect.any(String), count: 50 } });
    bob.conn.send(older!);
    await vi.waitFor(() => expect(chat(bob.model)[0]).toBe('(dim) alice: one'));
    expect(chat(bob.model)).toEqual(['(dim) alice: one', '(dim) alice: two', '(dim) alice: three', '(dim) alice: four', EARLIER_MARKER, 'alice: live']);
    // alice's own lines, echoed when sent, are not shown again.
    expect(chat(alice.model).filter((l) => l.endsWith(': one'))).toEqual(['alice: one']);
  });

  it('after its connection is cut while others talk, shows every missed message once, in order, after a marker', async () => {
    const server = await historyServer();
    const relay = new CuttableRelay(server.port);
    await relay.listen();
    cleanups.push(() => relay.close());
    const alice = client(server.port, 'alice');
    const bob = client(relay.port, 'bob');
    await vi.waitFor(() => expect([alice.conn.state, bob.conn.state]).toEqual(['online', 'online']));
    alice.conn.send({ type: 'broadcast', text: 'before 1' });
    alice.conn.send({ type: 'broadcast', text: 'before 2' });
    await vi.waitFor(() => expect(chat(bob.model)).toContain('alice: before 2'));
    bob.conn.send({ type: 'broadcast', text: 'mine before' });
    bob.model.echoBroadcast('mine before');
    await vi.waitFor(() => expect(bob.model.history.lastId).toBeDefined());

    relay.cut();
    await vi.waitFor(() => expect(bob.conn.state).not.toBe('online'));
    // alice talks while bob is away; 600 messages need two catch-up answers (500 each at most).
    for (let i = 1; i <= 600; i++) alice.conn.send({ type: 'broadcast', text: `gap ${i}` });
    await new Promise((r) => setTimeout(r, 1500));
    expect(relay.refused).toBeGreaterThan(0);
    relay.restore();
    await vi.waitFor(() => expect(chat(bob.model)).toContain('alice: gap 600'), { timeout: 10_000 });
    alice.conn.send({ type: 'broadcast', text: 'after' });
    await vi.waitFor(() => expect(chat(bob.model)).toContain('alice: after'));

    const lines = chat(bob.model);
    const gap = Array.from({ length: 600 }, (_, i) => `alice: gap ${i + 1}`);
    expect(lines).toEqual(['alice: before 1', 'alice: before 2', 'bob: mine before', MISSED_MARKER, ...gap, 'alice: after']);
    expect(relay.cuts).toBe(1);
  });
});
