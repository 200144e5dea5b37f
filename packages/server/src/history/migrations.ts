/**
 * The history database's schema, as numbered migrations. A database records
 * the last one applied in `schema_version`; opening it applies the rest in
 * order, each in its own transaction. Never edit a migration that shipped:
 * add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: messages, and nickname tenures for private messages.
  `CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     ts INTEGER NOT NULL,              -- ms since the epoch, when stored
     kind INTEGER NOT NULL,            -- 0 broadcast, 1 private
     sender TEXT NOT NULL,             -- nickname as typed
     sender_key TEXT NOT NULL,         -- nickKey(sender)
     sender_tenure INTEGER NOT NULL,
     recipient TEXT,                   -- private only: nickname as registered
     recipient_key TEXT,
     recipient_tenure INTEGER,
     text TEXT NOT NULL
   );
   CREATE INDEX messages_ts ON messages (ts);
   CREATE INDEX messages_sent ON messages (sender_key, sender_tenure, id) WHERE kind = 1;
   CREATE INDEX messages_received ON messages (recipient_key, recipient_tenure, id) WHERE kind = 1;
   CREATE TABLE nick_tenures (
     key TEXT PRIMARY KEY,
     tenure INTEGER NOT NULL,
     released_at INTEGER                -- NULL while held
   );
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
   INSERT INTO counters (name, value) VALUES ('tenure', 0);`,
  // 2: broadcasts through their own index, so a history answer never walks other people's privates.
  `CREATE INDEX messages_public ON messages (id) WHERE kind = 0;`,
];
