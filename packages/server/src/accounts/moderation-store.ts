import type Database from 'libsql';
import type { Ban } from './ban-list.js';
import type { MaybePromise, SqliteAccountStore } from './account-store.js';
import type { TokenStore } from './resume-tokens.js';

/** Where bans are kept so that they outlive a restart. */
export interface BanStore {
  /** The bans kept (read once, at start). */
  all(): Ban[];
  put(ban: Ban): MaybePromise<void>;
  remove(kind: Ban['kind'], target: string): MaybePromise<void>;
}

/** One private message waiting for an offline account. */
export interface WaitingMessage {
  readonly id: number;
  readonly fromNick: string;
  readonly fromKey: string;
  readonly text: string;
  readonly at: number;
}

/** Where private messages to offline accounts wait. */
export interface WaitingStore {
  add(toKey: string, message: Omit<WaitingMessage, 'id'>): MaybePromise<void>;
  /** How many wait for `toKey`, and how many of them from `fromKey`. */
  count(toKey: string, fromKey: string): MaybePromise<{ all: number; from: number }>;
  /** The messages waiting for `toKey`, oldest first. */
  list(toKey: string): MaybePromise<WaitingMessage[]>;
  /** Removes messages up to and including `lastId` (once they are handed to the recipient). */
  remove(toKey: string, lastId: number): MaybePromise<void>;
  /** Everything for `toKey` (the account was unregistered). */
  clear(toKey: string): MaybePromise<void>;
}

/** Prepared statements, made once per opened database. */
function statements<T>(make: (db: Database.Database) => T): (db: Database.Database) => T {
  const cache = new WeakMap<Database.Database, T>();
  return (db) => {
    let s = cache.get(db);
    if (!s) {
      s = make(db);
      cache.set(db, s);
    }
    return s;
  };
}

const banStatements = statements((db) => ({
  all: db.prepare('SELECT kind, target, label, by_nick, reason, at, until FROM bans ORDER BY at').raw(true),
  put: db.prepare(
    `INSERT INTO bans (kind, target, label, by_nick, reason, at, until) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, target) DO UPDATE SET label = excluded.label, by_nick = excluded.by_nick, reason = excluded.reason, at = excluded.at, until = excluded.until`,
  ),
  remove: db.prepare('DELETE FROM bans WHERE kind = ? AND target = ?'),
}));

/** Bans in `accounts.db` (the file is made by the first ban if no account made it). */
export class SqliteBanStore implements BanStore {
  constructor(private readonly accounts: SqliteAccountStore) {}

  all(): Ban[] {
    const db = this.accounts.database(false);
    if (!db) return [];
    const rows = banStatements(db).all.all() as Array<[string, string, string, string, string, number, number | null]>;
    return rows.map(([kind, target, label, by, reason, at, until]) => ({
      kind: kind === 'address' ? 'address' : 'nick',
      target,
      label,
      by,
      reason,
      at,
      until: until ?? undefined,
    }));
  }

  put(ban: Ban): void {
    const db = this.accounts.database(true) as Database.Database;
    banStatements(db).put.run(ban.kind, ban.target, ban.label, ban.by, ban.reason, ban.at, ban.until ?? null);
  }

  remove(kind: Ban['kind'], target: string): void {
    const db = this.accounts.database(false);
    if (db) banStatements(db).remove.run(kind, target);
  }
}

const tokenStatements = statements((db) => ({
  add: db.prepare('INSERT INTO resume_tokens (key, hash, expires) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
  take: db.prepare('DELETE FROM resume_tokens WHERE key = ? AND hash = ? RETURNING expires').raw(true),
  list: db.prepare('SELECT hash, expires FROM resume_tokens WHERE key = ? ORDER BY expires').raw(true),
  remove: db.prepare('DELETE FROM resume_tokens WHERE key = ? AND hash = ?'),
  clear: db.prepare('DELETE FROM resume_tokens WHERE key = ?'),
}));

/** Resume tokens in `accounts.db`. */
export class SqliteTokenStore implements TokenStore {
  constructor(private readonly accounts: SqliteAccountStore) {}

  add(key: string, hash: string, expires: number): void {
    const db = this.accounts.database(true) as Database.Database;
    tokenStatements(db).add.run(key, hash, expires);
  }

  take(key: string, hash: string): number | undefined {
    const db = this.accounts.database(false);
    const row = db ? (tokenStatements(db).take.get(key, hash) as [number] | undefined) : undefined;
    return row?.[0];
  }

  list(key: string): Array<{ hash: string; expires: number }> {
    const db = this.accounts.database(false);
    if (!db) return [];
    return (tokenStatements(db).list.all(key) as Array<[string, number]>).map(([hash, expires]) => ({ hash, expires }));
  }

  remove(key: string, hash: string): void {
    const db = this.accounts.database(false);
    if (db) tokenStatements(db).remove.run(key, hash);
  }

  clear(key: string): void {
    const db = this.accounts.database(false);
    if (db) tokenStatements(db).clear.run(key);
  }
}

const waitingStatements = statements((db) => ({
  add: db.prepare('INSERT INTO waiting (to_key, from_nick, from_key, text, at) VALUES (?, ?, ?, ?, ?)'),
  count: db.prepare('SELECT count(*) FROM waiting WHERE to_key = ?').raw(true),
  countFrom: db.prepare('SELECT count(*) FROM waiting WHERE to_key = ? AND from_key = ?').raw(true),
  list: db.prepare('SELECT id, from_nick, from_key, text, at FROM waiting WHERE to_key = ? ORDER BY id').raw(true),
  remove: db.prepare('DELETE FROM waiting WHERE to_key = ? AND id <= ?'),
  clear: db.prepare('DELETE FROM waiting WHERE to_key = ?'),
}));

/** Waiting messages in `accounts.db`, each acknowledged to its sender once on disk (synchronous=FULL). */
export class SqliteWaitingStore implements WaitingStore {
  constructor(private readonly accounts: SqliteAccountStore) {}

  add(toKey: string, m: Omit<WaitingMessage, 'id'>): void {
    const db = this.accounts.database(true) as Database.Database;
    waitingStatements(db).add.run(toKey, m.fromNick, m.fromKey, m.text, m.at);
  }

  count(toKey: string, fromKey: string): { all: number; from: number } {
    const db = this.accounts.database(false);
    if (!db) return { all: 0, from: 0 };
    const s = waitingStatements(db);
    return { all: (s.count.get(toKey) as [number])[0], from: (s.countFrom.get(toKey, fromKey) as [number])[0] };
  }

  list(toKey: string): WaitingMessage[] {
    const db = this.accounts.database(false);
    if (!db) return [];
    const rows = waitingStatements(db).list.all(toKey) as Array<[number, string, string, string, number]>;
    return rows.map(([id, fromNick, fromKey, text, at]) => ({ id, fromNick, fromKey, text, at }));
  }

  remove(toKey: string, lastId: number): void {
    const db = this.accounts.database(false);
    if (db) waitingStatements(db).remove.run(toKey, lastId);
  }

  clear(toKey: string): void {
    const db = this.accounts.database(false);
    if (db) waitingStatements(db).clear.run(toKey);
  }
}
