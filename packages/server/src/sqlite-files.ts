import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'libsql';

/**
 * What the SQLite stores in `--data-dir` share: a pid lock file per database
 * (one server per folder: two would hand out the same ids or race on the same
 * rows), and numbered migrations recorded in `schema_version`.
 */

/** Lock files held by stores open in this process. */
const openHere = new Set<string>();

/**
 * Takes `dir/lockName`, or throws naming what holds it. A lock whose process
 * is gone (killed) is taken over. (SQLite's exclusive locking mode would do
 * this, but libsql keeps a closed connection open while its prepared
 * statements live, so a store could not be reopened in the same process.)
 */
export function lockDataFile(dir: string, lockName: string, what: string): void {
  const path = join(dir, lockName);
  if (openHere.has(path)) throw new Error(`the ${what} in ${dir} is in use by another process (another parley-server on the same --data-dir?)`);
  let owner = Number.NaN;
  try {
    owner = Number(readFileSync(path, 'utf8').trim());
  } catch {
    // no lock: free
  }
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
    throw new Error(`the ${what} in ${dir} is in use by another process (pid ${owner}: another parley-server on the same --data-dir?)`);
  }
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  openHere.add(path);
}

export function unlockDataFile(dir: string, lockName: string): void {
  const path = join(dir, lockName);
  openHere.delete(path);
  rmSync(path, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Brings `db` to the last of `migrations`, each in its own transaction; the
 * version applied is kept in `schema_version`. A database newer than this
 * server is refused rather than touched. Never edit a migration that shipped:
 * add the next one.
 */
export function migrate(db: Database.Database, migrations: readonly string[], what: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').raw(true).get() as [number] | undefined;
  if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
  const current = row?.[0] ?? 0;
  if (current > migrations.length) {
    throw new Error(
      `the ${what} has schema version ${current}, newer than this parley-server knows (${migrations.length}); use a newer server or another --data-dir`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v] as string);
      db.prepare('UPDATE schema_version SET version = ?').run(v + 1);
    })();
  }
}
