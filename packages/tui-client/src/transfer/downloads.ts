import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { ParleyProtocolError, type ServerEvent } from '@parley/protocol';
import type { DownloadProgress } from '@parley/udp-transfer';
import type { TransferTable } from '../model/transfers.js';

/** The fields of the server's `offer` event. */
export type Offer = Omit<Extract<ServerEvent, { type: 'offer' }>, 'type'>;

export type Progress = Readonly<DownloadProgress>;

/** The agreed receiver API of `@parley/udp-transfer`. */
export type DownloadFn = (o: {
  host: string;
  port: number;
  offer: Offer;
  destPath: string;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  resume?: boolean;
}) => Promise<{ path: string; bytes: number; sha256: string }>;

/** A file name safe to create in the download folder: its base name, never a path. */
export function safeBaseName(name: string): string {
  const base = basename(name.replace(/\\/gu, '/'))
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/gu, '')
    .replace(/^\.+/u, '')
    .trim();
  return base.length > 0 ? base : 'download';
}

/**
 * Where to save `name` in `dir` without overwriting anything: the base name,
 * or `stem-1.ext`, `stem-2.ext`, … when it exists or another download holds it.
 */
export function uniquePath(dir: string, name: string, taken: ReadonlySet<string> = new Set()): string {
  const base = safeBaseName(name);
  const ext = extname(base);
  const stem = ext.length > 0 && ext.length < base.length ? base.slice(0, -ext.length) : base;
  const suffix = ext.length < base.length ? ext : '';
  for (let i = 0; ; i++) {
    const candidate = join(dir, i === 0 ? base : `${stem}-${i}${suffix}`);
    if (!taken.has(candidate) && !existsSync(candidate)) return candidate;
  }
}

export interface DownloadManagerOptions {
  readonly dir: string;
  /** The server's address (UDP goes to the same host as the chat). */
  readonly host: string;
  readonly transfers: TransferTable;
  readonly download: DownloadFn;
  readonly now?: () => number;
  readonly onChange?: () => void;
  readonly onDone?: (r: { id: number; name: string; path: string; bytes: number; sha256: string }) => void;
  readonly onFail?: (r: { id: number; name: string; error: string }) => void;
}

/** Runs downloads side by side while the chat goes on. */
export class DownloadManager {
  readonly #o: DownloadManagerOptions;
  readonly #reserved = new Set<string>();
  readonly #running = new Map<number, AbortController>();
  readonly #settled = new Set<Promise<void>>();

  constructor(options: DownloadManagerOptions) {
    this.#o = options;
  }

  get running(): number {
    return this.#running.size;
  }

  /** Starts the download the server offered. Resolves when it has finished either way. */
  start(offer: Offer): Promise<void> {
    const p = this.#run(offer);
    this.#settled.add(p);
    void p.finally(() => this.#settled.delete(p));
    return p;
  }

  async #run(offer: Offer): Promise<void> {
    const o = this.#o;
    const now = o.now ?? Date.now;
    const destPath = uniquePath(o.dir, offer.name, this.#reserved);
    this.#reserved.add(destPath);
    const abort = new AbortController();
    this.#running.set(offer.id, abort);
    o.transfers.add({ id: offer.id, name: offer.name, size: offer.size, sha256: offer.sha256, path: destPath, startedAt: now() });
    o.onChange?.();
    try {
      await mkdir(o.dir, { recursive: true });
      const result = await o.download({
        host: o.host,
        port: offer.udpPort,
        offer,
        destPath,
        resume: true,
        signal: abort.signal,
        onProgress: (p) => {
          o.transfers.progress(offer.id, p);
          o.onChange?.();
        },
      });
      o.transfers.finish(offer.id, now(), result.path);
      o.onDone?.({ id: offer.id, name: offer.name, ...result });
    } catch (err) {
      const error = describe(err);
      o.transfers.fail(offer.id, now(), error);
      o.onFail?.({ id: offer.id, name: offer.name, error });
    } finally {
      this.#running.delete(offer.id);
      this.#reserved.delete(destPath);
      o.onChange?.();
    }
  }

  cancel(id: number): boolean {
    const a = this.#running.get(id);
    a?.abort();
    return a !== undefined;
  }

  /** Cancels every download and waits for them to stop. */
  async stopAll(): Promise<void> {
    for (const a of this.#running.values()) a.abort();
    await Promise.allSettled([...this.#settled]);
  }
}

function describe(err: unknown): string {
  if (err instanceof ParleyProtocolError) return `${err.message} [${err.wireCode}]`;
  if (err instanceof Error) {
    if (err.name === 'AbortError') return 'cancelled';
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${err.message} [${code}]` : err.message;
  }
  return String(err);
}
