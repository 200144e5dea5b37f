import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** One shared file, as `index.json` keeps it. The bytes are `<dir>/<name>`. */
export interface SharedFile {
  readonly name: string;
  /** The sharer's nickname as typed, and its key (`nickKey`). */
  readonly owner: string;
  readonly ownerKey: string;
  /** A private share: only this user (and the owner) sees it. */
  readonly to?: string;
  readonly toKey?: string;
  readonly size: number;
  readonly sha256: string;
  /** Epoch milliseconds. */
  readonly sharedAt: number;
}

function isSharedFile(v: unknown): v is SharedFile {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o['name'] === 'string' &&
    typeof o['owner'] === 'string' &&
    typeof o['ownerKey'] === 'string' &&
    (o['to'] === undefined || typeof o['to'] === 'string') &&
    (o['toKey'] === undefined || typeof o['toKey'] === 'string') &&
    Number.isSafeInteger(o['size']) &&
    typeof o['sha256'] === 'string' &&
    /^[0-9a-f]{64}$/u.test(o['sha256']) &&
    Number.isFinite(o['sharedAt'])
  );
}

/**
 * The shared files by name, kept in `<dir>/index.json` (rewritten whole through a
 * temporary file and a rename, so a crash leaves the old or the new index, never half).
 */
export class ShareIndex {
  readonly #files = new Map<string, SharedFile>();
  #writing: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.#files.size;
  }

  /** Reads `index.json`; entries that do not parse are dropped (and logged). */
  async load(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(join(this.dir, 'index.json'), 'utf8');
    } catch {
      return;
    }
    try {
      const list: unknown = JSON.parse(raw);
      if (!Array.isArray(list)) throw new Error('not a list');
      for (const e of list) {
        if (isSharedFile(e)) this.#files.set(e.name, e);
        else this.log.warn({ entry: e }, 'shared files index: an entry that does not parse was dropped');
      }
    } catch (err) {
      this.log.error({ err }, 'shared files index cannot be read; starting with none listed');
    }
  }

  get(name: string): SharedFile | undefined {
    return this.#files.get(name);
  }

  has(name: string): boolean {
    return this.#files.has(name);
  }

  all(): IterableIterator<SharedFile> {
    return this.#files.values();
  }

  add(file: SharedFile): Promise<void> {
    this.#files.set(file.name, file);
    return this.save();
  }

  delete(name: string): Promise<void> {
    this.#files.delete(name);
    return this.save();
  }

  /** Bytes shared by `ownerKey` (all users when undefined). */
  bytes(ownerKey?: string): number {
    let n = 0;
    for (const f of this.#files.values()) if (ownerKey === undefined || f.ownerKey === ownerKey) n += f.size;
    return n;
  }

  /** Writes the index (one write at a time, the latest state each time). */
  save(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const temp = join(this.dir, '.index.json.tmp');
      await writeFile(temp, `${JSON.stringify([...this.#files.values()], null, 1)}\n`, { mode: 0o600 });
      await rename(temp, join(this.dir, 'index.json'));
    });
    this.#writing = this.#writing.catch((err: unknown) => this.log.error({ err }, 'shared files index cannot be written'));
    return this.#writing;
  }
}
