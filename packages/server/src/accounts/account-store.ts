import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import { migrate } from '../sqlite-files.js';

/** A registered nickname. */
export interface Account {
  /** The nickname's key (`nickKey`): look-alikes of a registered nickname are the same account. */
  readonly key: string;
  /** The nickname as registered. */
  readonly nick: string;
  /** The password hash (`password-hash.ts`); never leaves the server. */
  readonly hash: string;
  readonly createdAt: number;
}

/** A value now (SQLite), or later (Redis, in cluster mode). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * What the server needs from the accounts it keeps. `get` answers at once
 * (it is asked on every nickname); a Redis-backed store answers it from a
 * copy it keeps up to date, and writes later.
 */
export interface AccountStore {
  get(key: string): Account | undefined;
  /** False when the key is registered already. */
  create(account: Account): MaybePromise<boolean>;
  setHash(key: string, hash: string): MaybePromise<void>;
  /** False when there was no such account. */
  remove(key: string): MaybePromise<boolean>;
  readonly count: number;
  close(): void;
}

/** The database file inside `--data-dir`. */
export const ACCOUNTS_FILE = 'accounts.db';

/** The accounts database's schema, as numbered migrations (never edit one that shipped). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE accounts (
     key TEXT PRIMARY KEY,
     nick TEXT NOT NULL,
     hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // 2: bans (moderation), kept across restarts.
  `CREATE TABLE bans (
     kind TEXT NOT NULL,
     target TEXT NOT NULL,
     label TEXT NOT NULL,
     by_nick TEXT NOT NULL,
     reason TEXT NOT NULL,
     at INTEGER NOT NULL,
     until INTEGER,
     PRIMARY KEY (kind, target)
   );`,
  // 3: private messages waiting for an offline account.
  `CREATE TABLE waiting (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     to_key TEXT NOT NULL,
     from_nick TEXT NOT NULL,
     from_key TEXT NOT NULL,
     text TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX waiting_to ON waiting (to_key, id);`,
  // 4: resume tokens (their SHA-256 only).
  `CREATE TABLE resume_tokens (
     key TEXT NOT NULL,
     hash TEXT NOT NULL,
     expires INTEGER NOT NULL,
     PRIMARY KEY (key, hash)
   );`,
];

/**
 * Accounts in SQLite (libsql, as the history): `accounts.db` in `--data-dir`,
 * WAL, `synchronous=FULL` — an account or a password change is acknowledged to
 * its user only once it is on disk. Writes are rare (one per registration or
 * password change), so each is its own transaction. The file is made by the
 * first registration: a server nobody registered on writes nothing. Several
 * servers may share it (SQLite locks it for them): they share the accounts.
 */
export class SqliteAccountStore implements AccountStore {
  readonly #dir: string;
  readonly #path: string;
  #db: Opened | undefined;
  #closed = false;

  constructor(dir: string) {
    this.#dir = dir;
    this.#path = join(dir, ACCOUNTS_FILE);
    // An existing database is opened (and migrated) now, so a broken one stops the start.
    if (existsSync(this.#path)) this.#open();
  }

  #open(): Opened {
    if (this.#db) return this.#db;
    if (this.#closed) throw new Error('the accounts database is closed');
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    let db: Database.Database | undefined;
    try {
      db = new Database(this.#path);
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 2000;');
      migrate(db, MIGRATIONS, 'accounts database');
    } catch (err) {
      db?.close();
      throw new Error(`cannot open the accounts database ${this.#path}: ${(err as Error).message}`);
    }
    this.#db = {
      db,
      get: db.prepare('SELECT key, nick, hash, created_at FROM accounts WHERE key = ?').raw(true),
      insert: db.prepare('INSERT INTO accounts (key, nick, hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING'),
      update: db.prepare('UPDATE accounts SET hash = ? WHERE key = ?'),
      remove: db.prepare('DELETE FROM accounts WHERE key = ?'),
      count: db.prepare('SELECT count(*) FROM accounts').raw(true),
    };
    return this.#db;
  }

  /** The database if it exists (another server sharing the folder may have made it since). */
  #existing(): Opened | undefined {
    return this.#db ?? (existsSync(this.#path) ? this.#open() : undefined);
  }

  /**
   * The open database for the tables kept beside the accounts (bans, waiting
   * messages): made now with `create`, else undefined while nobody wrote one.
   */
  database(create: boolean): Database.Database | undefined {
    return (create ? this.#open() : this.#existing())?.db;
  }

  get(key: string): Account | undefined {
    const row = this.#existing()?.get.get(key) as [string, string, string, number] | undefined;
    return row ? { key: row[0], nick: row[1], hash: row[2], createdAt: row[3] } : undefined;
  }

  create(account: Account): boolean {
    return this.#open().insert.run(account.key, account.nick, account.hash, account.createdAt).changes === 1;
  }

  setHash(key: string, hash: string): void {
    this.#existing()?.update.run(hash, key);
  }

  remove(key: string): boolean {
    return this.#existing()?.remove.run(key).changes === 1;
  }

  get count(): number {
    const db = this.#existing();
    return db ? (db.count.get() as [number])[0] : 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db?.db.close();
    this.#db = undefined;
  }
}

interface Opened {
  readonly db: Database.Database;
  readonly get: Database.Statement;
  readonly insert: Database.Statement;
  readonly update: Database.Statement;
  readonly remove: Database.Statement;
  readonly count: Database.Statement;
}
