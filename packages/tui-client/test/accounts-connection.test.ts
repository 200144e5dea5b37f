import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ErrorCode, ServerEvent } from '@parley/protocol';
import { Connection, type LinkState } from '../src/net/connection.js';
import { runClient, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { WAIT } from './helpers/wait.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: RunningServer;
const open: Connection[] = [];

/** A connection that records its events, states and password requests. */
function watch(nick: string, password?: string) {
  const events: ServerEvent[] = [];
  const states: Array<{ state: LinkState; detail: string }> = [];
  const asked: Array<{ code: ErrorCode | undefined }> = [];
  const conn = new Connection(
    { host: '127.0.0.1', port: server.port, nick, backoff: { initialMs: 50, maxMs: 200 }, ...(password !== undefined ? { password } : {}) },
    {
      onEvent: (e) => events.push(e),
      onState: (state, detail) => states.push({ state, detail }),
      onPasswordNeeded: (_nick, refusal) => asked.push({ code: refusal?.code }),
    },
  );
  open.push(conn);
  const accounts = (state: string): number => events.filter((e) => e.type === 'account' && e.state === state).length;
  return { conn, events, states, asked, accounts };
}

// Loopback may send passwords in plain text (PROTOCOL.md §2.4).
beforeAll(async () => {
  dir = await tempDir('parley-acc-conn-');
  server = await startServer(dir.path, { extra: ['--data-dir', join(dir.path, 'data')] });
});

afterAll(async () => {
  for (const c of open) c.close();
  await server?.stop();
  await dir?.remove();
});

describe('Connection and accounts, against the real server', () => {
  it('a connection taken over by a login elsewhere (bye LOGGED_IN_ELSEWHERE) stays closed instead of taking the nickname back', async () => {
    const a = watch('eve');
    a.conn.start();
    await vi.waitFor(() => expect(a.conn.state).toBe('online'), WAIT);
    a.conn.send({ type: 'register', password: 'eve-secret-1' });
    await vi.waitFor(() => expect(a.accounts('registered')).toBe(1), WAIT);
    // b gets NICK_REGISTERED and logs in with the password it was given, without asking.
    const b = watch('eve', 'eve-secret-1');
    b.conn.start();
    await vi.waitFor(() => expect(b.accounts('identified')).toBe(1), WAIT);
    expect(b.asked).toEqual([]);
    await vi.waitFor(() => expect(a.conn.state).toBe('closed'), WAIT);
    expect(a.states.at(-1)?.detail).toMatch(/\[LOGGED_IN_ELSEWHERE\]/u);
    expect(a.states.some((s) => s.state === 'reconnecting')).toBe(false);
    b.conn.close();
  });

  it('asks for the password when none is kept, and again (with the code) after a wrong one', async () => {
    const c = watch('eve');
    c.conn.start();
    await vi.waitFor(() => expect(c.asked).toEqual([{ code: undefined }]), WAIT);
    expect(c.conn.awaitingPassword).toBe(true);
    c.conn.login('not-eve-secret');
    await vi.waitFor(() => expect(c.asked).toEqual([{ code: undefined }, { code: 'LOGIN_FAILED' }]), WAIT);
    expect(c.conn.hasPassword).toBe(false);
    c.conn.login('eve-secret-1');
    await vi.waitFor(() => expect(c.accounts('identified')).toBe(1), WAIT);
    expect(c.conn.state).toBe('online');
    c.conn.close();
  });

  it('after /password, a reconnect logs in with the new password (kept in memory only once the server confirmed it)', async () => {
    const f = watch('fay');
    f.conn.start();
    await vi.waitFor(() => expect(f.conn.state).toBe('online'), WAIT);
    f.conn.send({ type: 'register', password: 'fay-first-1' });
    await vi.waitFor(() => expect(f.accounts('registered')).toBe(1), WAIT);
    // A refused change (too short) keeps the old password.
    f.conn.send({ type: 'password', old: 'fay-first-1', new: 'short' });
    await vi.waitFor(() => expect(f.events.some((e) => e.type === 'error' && e.code === 'PASSWORD_REJECTED')).toBe(true), WAIT);
    f.conn.send({ type: 'password', old: 'fay-first-1', new: 'fay-second-2' });
    await vi.waitFor(() => expect(f.accounts('password-changed')).toBe(1), WAIT);
    // The server restarts on the same port; the connection comes back by itself.
    const port = server.port;
    await server.stop();
    server = await startServer(dir.path, { port, extra: ['--data-dir', join(dir.path, 'data')] });
    await vi.waitFor(() => expect(f.accounts('identified')).toBe(1), { timeout: 15_000, interval: 50 });
    expect(f.asked).toEqual([]);
    expect(f.conn.state).toBe('online');
    // It came back with the resume token the server gave it, not a password hash (one SHA-256 on the server).
    expect(server.output()).toMatch(/"via":"resume-token".*"msg":"logged in"/u);
    expect(server.output()).not.toMatch(/"via":"password"/u);
    f.conn.close();
  });
});

/** An address of this machine that is not loopback: the server then sees a remote client. */
const remote = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe.skipIf(remote === undefined)('a password over plain TCP from an address that is not loopback', () => {
  let far: RunningServer;
  let farDir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    farDir = await tempDir('parley-acc-far-');
    far = await startServer(farDir.path, { extra: ['--host', '0.0.0.0', '--data-dir', join(farDir.path, 'data')] });
    // gil registers from loopback, where plain text is allowed.
    const events: ServerEvent[] = [];
    const gil = new Connection({ host: '127.0.0.1', port: far.port, nick: 'gil', reconnect: false }, { onEvent: (e) => events.push(e) });
    gil.start();
    await vi.waitFor(() => expect(gil.state).toBe('online'), WAIT);
    gil.send({ type: 'register', password: 'gil-secret-1' });
    await vi.waitFor(() => expect(events.some((e) => e.type === 'account')).toBe(true), WAIT);
    await gil.quit();
  });
  afterAll(async () => {
    await far?.stop();
    await farDir?.remove();
  });

  it('parley online exits 5 and says to connect with --tls', async () => {
    const { writeFile } = await import('node:fs/promises');
    const file = join(farDir.path, 'pw.txt');
    await writeFile(file, 'gil-secret-1\n', { mode: 0o600 });
    const r = await runClient(['online', '--host', remote as string, '--port', String(far.port), '--nick', 'gil', '--password-file', file]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/\[PASSWORD_NEEDS_TLS\]: connect with --tls to log in as gil/u);
  });
});
