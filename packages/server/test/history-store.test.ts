import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'libsql';
import { SqliteStore, type SqliteStoreOptions } from '../src/history/sqlite-store.js';
import { MIGRATIONS } from '../src/history/migrations.js';
import { silent } from './helpers.js';

let dir: string;
const stores: SqliteStore[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-history-'));
});
afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await rm(dir, { recursive: true, force: true });
});

function open(options: Partial<SqliteStoreOptions> = {}, now = 1_000_000): SqliteStore {
  const s = new SqliteStore({ dir, maxMessages: 1000, maxAgeMs: 0, privateGraceMs: 60_000, log: silent, ...options }, now);
  stores.push(s);
  return s;
}

const size = (): number => 10;
const texts = (page: { messages: readonly { text: string }[] }): string[] => page.messages.map((m) => m.text);

describe('the SQLite message store (real database files)', () => {
  it('hands out increasing ids and keeps them across a reopen, without reusing trimmed ones', () => {
    const s = open({ maxMessages: 2 });
    const a = s.beginTenure('alice', 0);
    const ids = [1, 2, 3].map((i) => s.append({ kind: 'broadcast', from: 'alice', fromKey: 'alice', fromTenure: a, text: `m${i}` }, 1000 + i).id);
    expect(ids).toEqual(['1', '2', '3']);
    s.trim(2000);
    s.close();
    const again = open({ maxMessages: 2 });
    expect(again.append({ kind: 'broadcast', from: 'alice', fromKey: 'alice', fromTenure: a, text: 'm4' }, 3000).id).toBe('4');
    expect(texts(again.query({ key: 'x', tenure: 0 }, { form: 'last', count: 50 }, 1e6, size))).toEqual(['m2', 'm3', 'm4']);
  });

  it('pages back, catches up, and says when there is more', () => {
    const s = open();
    for (let i = 1; i <= 10; i++) s.append({ kind: 'broadcast', from: 'a', fromKey: 'a', fromTenure: 1, text: `m${i}` }, i);
    const v = { key: 'b', tenure: 2 };
    expect(s.query(v, { form: 'last', count: 3 }, 1e6, size)).toMatchObject({ more: true });
    expect(texts(s.query(v, { form: 'last', count: 3 }, 1e6, size))).toEqual(['m8', 'm9', 'm10']);
    expect(texts(s.query(v, { form: 'before', id: '8', count: 3 }, 1e6, size))).toEqual(['m5', 'm6', 'm7']);
    expect(texts(s.query(v, { form: 'after', id: '7', count: 500 }, 1e6, size))).toEqual(['m8', 'm9', 'm10']);
    expect(s.query(v, { form: 'after', id: '7', count: 500 }, 1e6, size).more).toBe(false);
    expect(texts(s.query(v, { form: 'before', id: '3', count: 50 }, 1e6, size))).toEqual(['m1', 'm2']);
    // The byte cap keeps the messages nearest the point asked about.
    const capped = s.query(v, { form: 'last', count: 50 }, 25, size);
    expect([texts(capped), capped.more]).toEqual([['m9', 'm10'], true]);
    expect(() => s.query(v, { form: 'after', id: '1733500000000-0', count: 5 }, 1e6, size)).toThrow(/not a message id of this server/u);
  });

  it('shows private messages to their two parties in their tenure only', () => {
    const s = open({ privateGraceMs: 1000 });
    const alice = s.beginTenure('alice', 0);
    const bob = s.beginTenure('bob', 0);
    s.append({ kind: 'private', from: 'alice', fromKey: 'alice', fromTenure: alice, to: 'bob', toKey: 'bob', toTenure: bob, text: 'psst' }, 10);
    s.append({ kind: 'broadcast', from: 'alice', fromKey: 'alice', fromTenure: alice, text: 'hi all' }, 11);
    const all = (key: string): string[] => texts(s.query({ key, tenure: s.tenureOf(key) ?? s.beginTenure(key, 12) }, { form: 'last', count: 50 }, 1e6, size));
    expect(all('alice')).toEqual(['psst', 'hi all']);
    expect(all('bob')).toEqual(['psst', 'hi all']);
    expect(all('carol')).toEqual(['hi all']);
    // bob drops and is back within the grace time: same tenure. Then away too long: a new one.
    s.endTenure('bob', 100);
    expect(s.beginTenure('bob', 1100)).toBe(bob);
    s.endTenure('bob', 1200);
    expect(s.beginTenure('bob', 2201)).not.toBe(bob);
    expect(all('bob')).toEqual(['hi all']);
  });

  it('keeps a logged-in account owner in their tenure however long they were away (their privates stay theirs)', () => {
    const s = open({ privateGraceMs: 1000 });
    const alice = s.beginTenure('alice', 0);
    const bob = s.beginTenure('bob', 0);
    s.append({ kind: 'private', from: 'alice', fromKey: 'alice', fromTenure: alice, to: 'bob', toKey: 'bob', toTenure: bob, text: 'for bob' }, 10);
    s.endTenure('bob', 100);
    // Days later, bob logs in to his account: the same tenure, so the private message is still his.
    const back = s.beginTenure('bob', 100 + 3 * 86_400_000, true);
    expect(back).toBe(bob);
    expect(texts(s.query({ key: 'bob', tenure: back }, { form: 'last', count: 50 }, 1e6, size))).toEqual(['for bob']);
    // A guest (no account) after the same gap starts a tenure of its own.
    s.endTenure('bob', 200 + 3 * 86_400_000);
    expect(s.beginTenure('bob', 300 + 6 * 86_400_000)).not.toBe(bob);
  });

  it('keeps tenures across a restart: nicknames held at the crash were released then', () => {
    const s = open({ privateGraceMs: 1000 });
    const bob = s.beginTenure('bob', 0);
    s.commitPending();
    s.close();
    expect(open({ privateGraceMs: 1000 }, 5000).beginTenure('bob', 5500)).toBe(bob);
  });

  it('trims by count in batches', () => {
    const s = open({ maxMessages: 5 });
    for (let i = 1; i <= 20; i++) s.append({ kind: 'broadcast', from: 'a', fromKey: 'a', fromTenure: 1, text: `m${i}` }, i);
    expect([s.trim(5000, 10), s.trim(5000, 10), s.trim(5000, 10)]).toEqual([10, 5, 0]);
    expect(texts(s.query({ key: 'b', tenure: 2 }, { form: 'last', count: 50 }, 1e6, size))).toEqual(['m16', 'm17', 'm18', 'm19', 'm20']);
  });

  it('trims by age', () => {
    const s = open({ maxAgeMs: 1000 });
    for (let i = 1; i <= 6; i++) s.append({ kind: 'broadcast', from: 'a', fromKey: 'a', fromTenure: 1, text: `m${i}` }, i <= 4 ? 100 : 5000);
    expect(s.trim(5500)).toBe(4);
    expect(texts(s.query({ key: 'b', tenure: 2 }, { form: 'last', count: 50 }, 1e6, size))).toEqual(['m5', 'm6']);
  });

  it('migrates a database of schema 1 to the current schema and keeps its messages', () => {
    const db = new Database(join(dir, 'history.db'));
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version (version) VALUES (1);');
    db.exec(MIGRATIONS[0] as string);
    db.prepare("INSERT INTO messages (ts, kind, sender, sender_key, sender_tenure, text) VALUES (1, 0, 'old', 'old', 1, 'from schema 1')").run();
    db.close();
    const s = open();
    expect(texts(s.query({ key: 'b', tenure: 2 }, { form: 'last', count: 50 }, 1e6, size))).toEqual(['from schema 1']);
    s.close();
    const check = new Database(join(dir, 'history.db'));
    expect(check.prepare('SELECT version FROM schema_version').raw(true).get()).toEqual([MIGRATIONS.length]);
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'messages_public'").raw(true).get()).toEqual(['messages_public']);
    check.close();
  });

  it('records its schema version and refuses a database from a newer server', () => {
    open().close();
    const db = new Database(join(dir, 'history.db'));
    expect(db.prepare('SELECT version FROM schema_version').raw(true).get()).toEqual([MIGRATIONS.length]);
    db.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length + 1);
    db.close();
    expect(() => open()).toThrow(/newer than this parley-server knows/u);
  });

  it('refuses a second store on the same folder, and takes over the lock of a process that is gone', async () => {
    open();
    expect(() => open()).toThrow(/in use by another process/u);
    stores.pop()?.close();
    await writeFile(join(dir, 'history.lock'), `${process.ppid}\n`);
    expect(() => open()).toThrow(/in use by another process \(pid/u);
    await writeFile(join(dir, 'history.lock'), '999999999\n');
    expect(() => open()).not.toThrow();
  });

  it('fails with the reason when the folder cannot be a database', async () => {
    await writeFile(join(dir, 'history.db'), 'not a database, just text that is long enough to be read as a header by sqlite');
    expect(() => open()).toThrow();
  });
});
