import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import type { Logger } from 'pino';
import { formatMessageTime, protocolError, type HistoryQuery, type MessageStamp } from '@parley/protocol';
import type { HistoryPage, HistoryStats, MessageStore, NewMessage, StoredMessage, Viewer } from './message-store.js';
import { MIGRATIONS } from './migrations.js';
import { lockDataFile, migrate, unlockDataFile } from '../sqlite-files.js';

export interface SqliteStoreOptions {
  /** Folder of the database (`history.db` and its WAL files); created if missing. */
  readonly dir: string;
  /** Keep at most this many messages (the oldest go first). */
  readonly maxMessages: number;
  /** Keep messages at most this long (ms); 0 = no age limit. */
  readonly maxAgeMs: number;
  /** A nickname free for at most this long (ms) keeps its tenure, and so its private messages. */
  readonly privateGraceMs: number;
  readonly log: Logger;
}

/** The database file inside `--data-dir`. */
export const HISTORY_FILE = 'history.db';
/** Holds the pid of the server using the folder. */
export const LOCK_FILE = 'history.lock';

type Row = [id: number, ts: number, kind: number, sender: string, recipient: string | null, text: string];
type Staged = [
  id: number,
  ts: number,
  kind: number,
  sender: string,
  senderKey: string,
  senderTenure: number,
  recipient: string | null,
  recipientKey: string | null,
  recipientTenure: number | null,
  text: string,
];
interface TenureRow {
  readonly tenure: number;
  readonly released: number | null;
}

const COLUMNS = 'id, ts, kind, sender, recipient, text';
/** Rows per INSERT statement (10 values each: far below SQLite's 32 766 parameters). */
const INSERT_ROWS = 32;
/**
 * The messages a viewer may see, nearest to a point first: the broadcasts, the privates it sent
 * and those it received in its tenure, each read through its own index and merged. (One scan
 * with an OR would walk past every private message of other people: a store holding mostly
 * those would make every answer slow.) `where` bounds the id; `order` is DESC or ASC.
 */
function visible(where: string, order: 'ASC' | 'DESC'): string {
  const part = (filter: string): string => `SELECT id FROM (SELECT id FROM messages WHERE ${filter} ${where} ORDER BY id ${order} LIMIT @limit)`;
  const ids = [
    part('kind = 0'),
    part('kind = 1 AND sender_key = @key AND sender_tenure = @tenure'),
    part('kind = 1 AND recipient_key = @key AND recipient_tenure = @tenure'),
  ].join(' UNION ');
  return `SELECT ${COLUMNS} FROM messages WHERE id IN (${ids}) ORDER BY id ${order} LIMIT @limit`;
}

/**
 * Messages in an embedded SQLite database (libsql: better-sqlite3's API,
 * prebuilt binaries from the npm registry). WAL with synchronous=NORMAL: a
 * committed message survives the process being killed (not a power cut
 * between checkpoints). A lock file makes a second server on the same folder
 * fail at start instead of mixing ids.
 *
 * Writes are staged and committed in one transaction per event-loop turn by
 * `commitPending()`, which the server calls before it writes to any socket.
 */
export class SqliteStore implements MessageStore {
  readonly #db: Database.Database;
  readonly #options: SqliteStoreOptions;
  #nextId: number;
  #tenureSeq: number;
  #pending: Staged[] = [];
  /** Tenure rows to write at the next commit. */
  readonly #pendingTenures = new Map<string, TenureRow>();
  /** Nicknames held now and their tenures. */
  readonly #held = new Map<string, number>();
  /** INSERT statements for 1…INSERT_ROWS rows at once, made on first use (each call crosses into native code once). */
  readonly #inserts: Database.Statement[] = [];
  readonly #upsertTenure: Database.Statement;
  readonly #saveTenureSeq: Database.Statement;
  readonly #readTenure: Database.Statement;
  readonly #last: Database.Statement;
  readonly #before: Database.Statement;
  readonly #after: Database.Statement;
  readonly #nthNewest: Database.Statement;
  readonly #trimUpTo: Database.Statement;
  readonly #trimOlder: Database.Statement;
  readonly #commit: () => void;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #stored = 0;
  /** The last time formatted, and its millisecond: messages of one millisecond share the string. */
  #timeMs = Number.NaN;
  #timeText = '';
  #commitFailures = 0;
  #trimmed = 0;

  constructor(options: SqliteStoreOptions, now: number) {
    this.#options = options;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    lockDataFile(options.dir, LOCK_FILE, 'history database');
    let db: Database.Database | undefined;
    try {
      db = new Database(join(options.dir, HISTORY_FILE));
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      migrate(db, MIGRATIONS, 'history database');
      // Users held nicknames when the server stopped: their tenures ended then (now, as far as we know).
      db.prepare('UPDATE nick_tenures SET released_at = ? WHERE released_at IS NULL').run(now);
    } catch (err) {
      db?.close();
      unlockDataFile(options.dir, LOCK_FILE);
      throw new Error(`cannot open the history database ${join(options.dir, HISTORY_FILE)}: ${(err as Error).message}`);
    }
    this.#db = db;
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").raw(true).get() as [number] | undefined;
    this.#nextId = (seq?.[0] ?? 0) + 1;
    this.#tenureSeq = (db.prepare("SELECT value FROM counters WHERE name = 'tenure'").raw(true).get() as [number])[0];
    this.#upsertTenure = db.prepare(
      'INSERT INTO nick_tenures (key, tenure, released_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET tenure = excluded.tenure, released_at = excluded.released_at',
    );
    this.#saveTenureSeq = db.prepare("UPDATE counters SET value = ? WHERE name = 'tenure'");
    this.#readTenure = db.prepare('SELECT tenure, released_at FROM nick_tenures WHERE key = ?').raw(true);
    this.#last = db.prepare(visible('', 'DESC')).raw(true);
    this.#before = db.prepare(visible('AND id < @id', 'DESC')).raw(true);
    this.#after = db.prepare(visible('AND id > @id', 'ASC')).raw(true);
    this.#nthNewest = db.prepare('SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?').raw(true);
    this.#trimUpTo = db.prepare('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE id <= ? ORDER BY id LIMIT ?)');
    this.#trimOlder = db.prepare('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE ts < ? ORDER BY ts LIMIT ?)');
    this.#commit = db.transaction(() => {
      this.#insertPending();
      if (this.#pendingTenures.size === 0) return;
      for (const [key, t] of this.#pendingTenures) this.#upsertTenure.run(key, t.tenure, t.released);
      this.#saveTenureSeq.run(this.#tenureSeq);
    });
  }

  append(message: NewMessage, now: number): MessageStamp {
    const id = this.#nextId++;
    if (message.kind === 'broadcast') {
      this.#pending.push([id, now, 0, message.from, message.fromKey, message.fromTenure, null, null, null, message.text]);
    } else {
      this.#pending.push([id, now, 1, message.from, message.fromKey, message.fromTenure, message.to, message.toKey, message.toTenure, message.text]);
    }
    if (now !== this.#timeMs) {
      this.#timeMs = now;
      this.#timeText = formatMessageTime(now);
    }
    return { id: String(id), time: this.#timeText };
  }

  commitPending(): void {
    if ((this.#pending.length === 0 && this.#pendingTenures.size === 0) || this.#closed) return;
    try {
      // One INSERT is a transaction of its own: BEGIN and COMMIT around it would double the calls into SQLite.
      if (this.#pendingTenures.size === 0 && this.#pending.length <= INSERT_ROWS) this.#insertPending();
      else this.#commit();
      this.#stored += this.#pending.length;
    } catch (err) {
      this.#commitFailures += 1;
      // Chat goes on without them: losing history is better than losing the conversation.
      this.#options.log.error({ err, messages: this.#pending.length }, 'could not store messages');
    }
    this.#pending = [];
    this.#pendingTenures.clear();
  }

  query(viewer: Viewer, query: HistoryQuery, maxBytes: number, bytesOf: (m: StoredMessage) => number): HistoryPage {
    this.commitPending();
    const params: Record<string, number | string> = { key: viewer.key, tenure: viewer.tenure, limit: query.count + 1 };
    let rows: Row[];
    if (query.form === 'last') {
      rows = this.#last.all(params) as Row[];
    } else {
      if (!/^[0-9]{1,15}$/u.test(query.id)) throw protocolError('BAD_ARGUMENTS', `"${query.id}" is not a message id of this server (its ids are numbers)`);
      params.id = Number(query.id);
      rows = (query.form === 'before' ? this.#before : this.#after).all(params) as Row[];
    }
    // Newest first except for `after`: the cap keeps the messages nearest to the point asked about.
    let more = rows.length > query.count;
    if (more) rows.length = query.count;
    const messages: StoredMessage[] = [];
    let bytes = 0;
    for (const [id, ts, kind, sender, recipient, text] of rows) {
      const m: StoredMessage = {
        id: String(id),
        time: formatMessageTime(ts),
        kind: kind === 0 ? 'broadcast' : 'private',
        from: sender,
        to: recipient ?? undefined,
        text,
      };
      bytes += bytesOf(m);
      if (bytes > maxBytes && messages.length > 0) {
        more = true;
        break;
      }
      messages.push(m);
    }
    if (query.form !== 'after') messages.reverse();
    return { messages, more };
  }

  beginTenure(key: string, now: number, account = false): number {
    const row = this.#pendingTenures.get(key) ?? this.#readStoredTenure(key);
    // A logged-in owner of the nickname's account is the same person however long they were away.
    const keep = row !== undefined && (account || row.released === null || now - row.released <= this.#options.privateGraceMs);
    const tenure = keep ? row.tenure : ++this.#tenureSeq;
    this.#held.set(key, tenure);
    this.#pendingTenures.set(key, { tenure, released: null });
    return tenure;
  }

  tenureOf(key: string): number | undefined {
    return this.#held.get(key);
  }

  endTenure(key: string, now: number): void {
    const tenure = this.#held.get(key);
    if (tenure === undefined) return;
    this.#held.delete(key);
    this.#pendingTenures.set(key, { tenure, released: now });
  }

  trim(now: number, batch = 2000): number {
    this.commitPending();
    let deleted = 0;
    const nth = this.#nthNewest.get(this.#options.maxMessages) as [number] | undefined;
    if (nth) deleted += this.#trimUpTo.run(nth[0], batch).changes;
    if (this.#options.maxAgeMs > 0) deleted += this.#trimOlder.run(now - this.#options.maxAgeMs, batch).changes;
    this.#trimmed += deleted;
    return deleted;
  }

  /**
   * Trims everything past the limits now (at start nobody is waiting), then
   * every `intervalMs` commits what is staged and trims one batch of at most
   * 2000 rows (a few ms), so chat never waits long on retention.
   */
  startRetention(now: () => number, intervalMs = 1000): void {
    while (this.trim(now()) > 0) {
      // until nothing is past the limits
    }
    const run = (): void => {
      try {
        const n = this.trim(now());
        if (n > 0) this.#options.log.debug({ deleted: n }, 'history trimmed');
      } catch (err) {
        this.#options.log.error({ err }, 'history trim failed');
      }
    };
    this.#timer = setInterval(run, intervalMs);
    this.#timer.unref();
  }

  stats(): HistoryStats {
    return { stored: this.#stored, commitFailures: this.#commitFailures, trimmed: this.#trimmed };
  }

  /** The database file. */
  get path(): string {
    return join(this.#options.dir, HISTORY_FILE);
  }

  close(): void {
    if (this.#closed) return;
    if (this.#timer) clearInterval(this.#timer);
    this.commitPending();
    this.#closed = true;
    this.#db.close();
    unlockDataFile(this.#options.dir, LOCK_FILE);
  }

  #insertPending(): void {
    const rows = this.#pending;
    for (let at = 0; at < rows.length; at += INSERT_ROWS) {
      const n = Math.min(INSERT_ROWS, rows.length - at);
      const params: unknown[] = [];
      for (let i = at; i < at + n; i++) params.push(...(rows[i] as Staged));
      this.#insertRows(n).run(...params);
    }
  }

  #insertRows(n: number): Database.Statement {
    let statement = this.#inserts[n];
    if (!statement) {
      const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
      statement = this.#db.prepare(
        `INSERT INTO messages (id, ts, kind, sender, sender_key, sender_tenure, recipient, recipient_key, recipient_tenure, text) VALUES ${Array.from({ length: n }, () => row).join(', ')}`,
      );
      this.#inserts[n] = statement;
    }
    return statement;
  }

  #readStoredTenure(key: string): TenureRow | undefined {
    const row = this.#readTenure.get(key) as [number, number | null] | undefined;
    return row ? { tenure: row[0], released: row[1] } : undefined;
  }
}

/** Applies the migrations the database has not seen, each in its own transaction. */
