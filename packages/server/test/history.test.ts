import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent, type ServerEvent } from '@parley/protocol';
import { ChatServer, FileLibrary, SqliteStore, type ChatOptions } from '../src/index.js';
import { RawClient, silent } from './helpers.js';

interface HistoryServer {
  readonly server: ChatServer;
  readonly store: SqliteStore;
  readonly port: number;
  join(nick: string): Promise<RawClient>;
  stop(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(
  options: Partial<ChatOptions> = {},
  store: Partial<ConstructorParameters<typeof SqliteStore>[0]> = {},
  dataDir?: string,
  now: () => number = Date.now,
): Promise<HistoryServer> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'parley-data-')));
  const filesDir = await mkdtemp(join(tmpdir(), 'parley-files-'));
  const history = new SqliteStore({ dir, maxMessages: 1000, maxAgeMs: 0, privateGraceMs: 60_000, log: silent, ...store }, now());
  const server = new ChatServer({ files: new FileLibrary(filesDir), log: silent, options, history, now });
  const { port } = await server.listen(0, '127.0.0.1');
  const clients: RawClient[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const c of clients) c.close();
    await server.close(200);
    history.close();
    await rm(filesDir, { recursive: true, force: true });
  };
  cleanups.push(async () => {
    await stop();
    if (!dataDir) await rm(dir, { recursive: true, force: true });
  });
  return {
    server,
    store: history,
    port,
    async join(nick) {
      const c = await RawClient.join(port, nick);
      clients.push(c);
      return c;
    },
    stop,
  };
}

/** Joins and waits for the end of the history on join; returns the history lines. */
async function joinWithHistory(s: HistoryServer, nick: string): Promise<{ client: RawClient; history: ServerEvent[] }> {
  const client = await s.join(nick);
  await client.waitFor((l) => l.startsWith('history end join '));
  return { client, history: client.events().filter((e) => e.type === 'history' || e.type === 'history-end') };
}

function historyTexts(events: readonly ServerEvent[]): string[] {
  return events.flatMap((e) =>
    e.type === 'history' ? [e.message.type === 'private' ? `${e.message.from}>${e.message.to}:${e.message.text}` : `${e.message.from}:${e.message.text}`] : [],
  );
}

/** Sends `history…` and collects the answer up to its `history end`. */
async function ask(c: RawClient, line: string): Promise<{ texts: string[]; ids: string[]; end: ServerEvent }> {
  const from = c.lines.length;
  c.send(line);
  await c.waitFor((l) => l.startsWith('history end ') || l.startsWith('error '), 5000, from);
  const events = c.lines.slice(from).map((l) => decodeEvent(l));
  const end = events.find((e) => e.type === 'history-end' || e.type === 'error') as ServerEvent;
  const replay = events.filter((e) => e.type === 'history');
  return { texts: historyTexts(replay), ids: replay.map((e) => (e.type === 'history' ? e.message.id : '')), end };
}

describe('history over real sockets and a real database', () => {
  it('replays the last messages on join, marked as history, after online and before live traffic', async () => {
    const s = await start({ historyOnJoin: 3 });
    const alice = await s.join('alice');
    for (let i = 1; i <= 5; i++) alice.send(`broadcast,m${i}`);
    // A sync point: bob gets the 5th message live.
    const bob = await s.join('bob');
    await bob.waitFor((l) => l.startsWith('history end join'));
    alice.send('broadcast,m6');
    alice.send('broadcast,live');
    await bob.waitFor((l) => l === 'broadcast alice :live');
    const carol = await s.join('carol');
    alice.send('broadcast,after carol');
    await carol.waitFor((l) => l === 'broadcast alice :after carol');
    const kinds = carol.lines.map((l) => l.split(' ')[0]);
    // welcome, online, 3 × history, history end, then the live line.
    expect(kinds).toEqual(['welcome', 'online', 'history', 'history', 'history', 'history', 'broadcast']);
    expect(carol.lines[5]).toBe('history end join 3 more');
    expect(historyTexts(carol.events())).toEqual(['alice:m5', 'alice:m6', 'alice:live']);
    expect(carol.lines[2]).toMatch(/^history broadcast alice [0-9]+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z :m5$/u);
  });

  it('pages back with before, catches up with after, and ends each answer with its count and whether there is more', async () => {
    const s = await start({ historyOnJoin: 0, rate: 1000, burst: 1000 });
    const alice = await s.join('alice');
    const bob = await s.join('bob');
    for (let i = 1; i <= 12; i++) alice.send(`broadcast,m${i}`);
    await bob.waitFor((l) => l === 'broadcast alice :m12');
    // --history-on-join 0: no replay, only the line that says this server keeps history.
    expect(bob.lines.filter((l) => l.startsWith('history'))).toEqual(['history end join 0 all']);
    const last = await ask(bob, 'history,5');
    expect(last.texts).toEqual(['alice:m8', 'alice:m9', 'alice:m10', 'alice:m11', 'alice:m12']);
    expect(last.end).toEqual({ type: 'history-end', form: 'last', count: 5, more: true });
    const older = await ask(bob, `history,before,${last.ids[0]},5`);
    expect(older.texts).toEqual(['alice:m3', 'alice:m4', 'alice:m5', 'alice:m6', 'alice:m7']);
    const oldest = await ask(bob, `history,before,${older.ids[0]}`);
    expect(oldest.texts).toEqual(['alice:m1', 'alice:m2']);
    expect(oldest.end).toEqual({ type: 'history-end', form: 'before', count: 2, more: false });
    const after = await ask(bob, `history,after,${older.ids[2]}`);
    expect(after.texts).toEqual(['alice:m6', 'alice:m7', 'alice:m8', 'alice:m9', 'alice:m10', 'alice:m11', 'alice:m12']);
    expect(after.end).toEqual({ type: 'history-end', form: 'after', count: 7, more: false });
    const capped = await ask(bob, `history,after,${older.ids[2]},3`);
    expect([capped.texts.length, capped.end]).toEqual([3, { type: 'history-end', form: 'after', count: 3, more: true }]);
  });

  it('shows private messages to their two parties only; a third user never sees them', async () => {
    const s = await start({ historyOnJoin: 50 });
    const alice = await s.join('alice');
    const bob = await s.join('bob');
    const mallory = await s.join('mallory');
    alice.send('bob,secret for bob');
    await bob.waitFor((l) => l === 'private alice bob :secret for bob');
    bob.send('alice,secret for alice');
    await alice.waitFor((l) => l === 'private bob alice :secret for alice');
    alice.send('broadcast,public marker');
    await mallory.waitFor((l) => l === 'broadcast alice :public marker');
    expect((await ask(mallory, 'history')).texts).toEqual(['alice:public marker']);
    expect((await ask(alice, 'history')).texts).toEqual(['alice>bob:secret for bob', 'bob>alice:secret for alice', 'alice:public marker']);
    expect((await ask(bob, 'history')).texts).toEqual(['alice>bob:secret for bob', 'bob>alice:secret for alice', 'alice:public marker']);
    // A newcomer's join replay has the public line only.
    const { history } = await joinWithHistory(s, 'eve');
    expect(historyTexts(history)).toEqual(['alice:public marker']);
    // A message to nobody is refused and never stored.
    alice.send('nobody,lost');
    await alice.waitFor((l) => l.startsWith('error UNKNOWN_USER'));
    expect((await ask(alice, 'history')).texts).not.toContain('alice>nobody:lost');
  });

  it('gives a nickname back its private messages after a short absence, and not to whoever takes it after the grace time', async () => {
    let clock = Date.now();
    const s = await start({ historyOnJoin: 50 }, { privateGraceMs: 60_000 }, undefined, () => clock);
    const alice = await s.join('alice');
    const bob = await s.join('bob');
    alice.send('bob,for bob only');
    await bob.waitFor((l) => l === 'private alice bob :for bob only');
    bob.close();
    await alice.waitFor((l) => l === 'left bob disconnected');
    clock += 30_000;
    const back = await joinWithHistory(s, 'bob');
    expect(historyTexts(back.history)).toEqual(['alice>bob:for bob only']);
    back.client.close();
    await alice.waitFor((l) => l === 'left bob disconnected', 5000, alice.lines.indexOf('left bob disconnected') + 1);
    // An hour later another person takes the nickname (in any case): none of it.
    clock += 3_600_000;
    const stranger = await joinWithHistory(s, 'BOB');
    expect(stranger.client.lines.at(-1)).toBe('history end join 0 all');
    expect(historyTexts(stranger.history)).toEqual([]);
  });

  it('answers bad history arguments with clear errors and changes nothing', async () => {
    const s = await start({ historyOnJoin: 0 });
    const alice = await s.join('alice');
    const bob = await s.join('bob');
    for (const [line, why] of [
      ['history,0', 'the count must be 1 to 500'],
      ['history,501', 'the count must be 1 to 500'],
      ['history,sideways,3', 'history takes a count'],
      ['history,before,1733500000000-0', 'not a message id of this server'],
      ['history,after,!!', 'is not a message id'],
      ['ids,maybe', 'ids takes on or off'],
    ] as const) {
      const from = alice.lines.length;
      alice.send(line);
      const answer = await alice.waitFor((l) => l.startsWith('error '), 5000, from);
      expect(answer).toContain('error BAD_ARGUMENTS');
      expect(answer).toContain(why);
    }
    alice.send('broadcast,still here');
    await bob.waitFor((l) => l === 'broadcast alice :still here');
    expect(bob.lines.filter((l) => l.startsWith('error') || l.startsWith('history'))).toEqual(['history end join 0 all']);
  });

  it('caps one answer by bytes, far below the send queue', async () => {
    const s = await start({ historyOnJoin: 0, rate: 1000, burst: 1000, maxLineBytes: 4096 });
    const alice = await s.join('alice');
    const bob = await s.join('bob');
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 100; i++) alice.send(`broadcast,${i} ${big}`);
    await bob.waitFor((l) => l.startsWith('broadcast alice :99 '));
    const answer = await ask(bob, 'history,100');
    // 256 KiB / ~4.1 KB per line ≈ 63 lines; the rest is `more`.
    expect(answer.texts.length).toBeGreaterThan(50);
    expect(answer.texts.length).toBeLessThan(70);
    expect(answer.end).toMatchObject({ type: 'history-end', form: 'last', more: true });
    expect(answer.texts.at(-1)).toMatch(/^alice:99 /u);
  });

  it('with ids on, live messages carry id and time and the sender learns its ids', async () => {
    const s = await start({ historyOnJoin: 0 });
    const alice = await s.join('alice');
    const bob = await s.join('bob');
    const carol = await s.join('carol');
    expect(await bob.ask('ids,on', (l) => l.startsWith('ids '))).toBe('ids on');
    expect(await alice.ask('ids,on', (l) => l.startsWith('ids '))).toBe('ids on');
    alice.send('broadcast,hello');
    const sent = decodeEvent(await alice.waitFor((l) => l.startsWith('sent ')));
    const live = decodeEvent(await bob.waitFor((l) => l.startsWith('broadcast alice ')));
    await carol.waitFor((l) => l.startsWith('broadcast alice '));
    expect(carol.lines).toContain('broadcast alice :hello');
    expect(sent.type === 'sent' && live.type === 'broadcast' && live.id === sent.id && live.time === sent.time).toBe(true);
    alice.send('bob,psst');
    const priv = decodeEvent(await bob.waitFor((l) => l.startsWith('private alice bob ')));
    expect(priv).toMatchObject({ type: 'private', text: 'psst' });
    expect(priv.type === 'private' && priv.id !== undefined && Number(priv.id) > Number(sent.type === 'sent' ? sent.id : 0)).toBe(true);
    const stored = await ask(bob, 'history,2');
    expect(stored.ids).toEqual([sent.type === 'sent' ? sent.id : '', priv.type === 'private' ? priv.id : '']);
    expect(await bob.ask('ids,off', (l) => l.startsWith('ids '))).toBe('ids off');
    alice.send('broadcast,plain again');
    await bob.waitFor((l) => l === 'broadcast alice :plain again');
  });

  it('stores a message before any copy of it is written (a restart after it was seen keeps it)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-data-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await start({ historyOnJoin: 50 }, {}, dir);
    const alice = await first.join('alice');
    const bob = await first.join('bob');
    alice.send('broadcast,remember me');
    await bob.waitFor((l) => l === 'broadcast alice :remember me');
    // Read the file through another connection while the first server still runs: the row is there.
    const Database = (await import('libsql')).default;
    const db = new Database(join(dir, 'history.db'));
    expect(db.prepare('SELECT text FROM messages').raw(true).all()).toEqual([['remember me']]);
    db.close();
    await first.stop();
    const second = await start({ historyOnJoin: 50 }, {}, dir);
    const { history } = await joinWithHistory(second, 'carol');
    expect(historyTexts(history)).toEqual(['alice:remember me']);
  });

  it('says HISTORY_OFF without a store', async () => {
    const filesDir = await mkdtemp(join(tmpdir(), 'parley-files-'));
    const server = new ChatServer({ files: new FileLibrary(filesDir), log: silent });
    const { port } = await server.listen(0, '127.0.0.1');
    cleanups.push(async () => {
      await server.close(100);
      await rm(filesDir, { recursive: true, force: true });
    });
    const alice = await RawClient.join(port, 'alice');
    cleanups.push(async () => alice.close());
    expect(await alice.ask('history', (l) => l.startsWith('error'))).toMatch(/^error HISTORY_OFF /u);
    expect(await alice.ask('ids,on', (l) => l.startsWith('error'))).toMatch(/^error HISTORY_OFF /u);
    expect(alice.lines.some((l) => l.startsWith('history'))).toBe(false);
  });
});
