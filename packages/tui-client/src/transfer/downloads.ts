import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ParleyProtocolError, type ServerEvent } from '@parley/protocol';
import type { DownloadProgress } from '@parley/udp-transfer';
import type { TransferTable } from '../model/transfers.js';
import { hasUnsafeCharacters, terminalSafe } from '../text/terminal-safe.js';

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
  batchIo?: boolean;
  /** The first REQUEST retry (see `firstRequestRetryMs`). */
  requestRetryMs?: number;
}) => Promise<{ path: string; bytes: number; sha256: string }>;

/**
 * Downloads the user has asked for or that are running, at most, per client
 * (the server allows 4 per session too). A request beyond it is refused
 * before anything is sent.
 */
export const MAX_DOWNLOADS = 4;
/** An asked-for download the server has not answered in this long is forgotten (its offer would then be ignored). */
export const REQUEST_TTL_MS = 60_000;
/** The longest file name the client writes (bytes of UTF-8; most file systems allow 255). */
export const FILE_NAME_MAX_BYTES = 255;
/** The server's answers to `download` that mean "no offer is coming" (docs/PROTOCOL.md §4). */
const DOWNLOAD_REFUSALS: ReadonlySet<string> = new Set(['FILE_NAME_INVALID', 'FILE_NOT_FOUND', 'NOT_A_FILE', 'FILE_UNREADABLE', 'TRANSFER_LIMIT']);

/**
 * Why a name the server offered cannot be saved as it is, or undefined: a
 * path separator, `.`/`..`, control or bidi characters, empty, too long.
 * Such offers are refused, not renamed (the user asked for a plain name).
 */
export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (/[/\\]/u.test(name)) return 'has a path separator';
  if (name === '.' || name === '..') return `is "${name}"`;
  if (name.includes('\0') || hasUnsafeCharacters(name)) return 'has control or bidi characters';
  if (Buffer.byteLength(name) > FILE_NAME_MAX_BYTES) return `is longer than ${FILE_NAME_MAX_BYTES} bytes`;
  return undefined;
}

/** A file name safe to create in the download folder: its base name, never a path, never hidden (leading dots go). */
export function safeBaseName(name: string): string {
  const base = terminalSafe(basename(name.replace(/\\/gu, '/')))
    .replace(/\t/gu, '')
    .replace(/^\.+/u, '')
    .trim();
  return base.length > 0 ? base : 'download';
}

/**
 * Where to save `name` in `dir` without overwriting anything: the base name,
 * or `stem-1.ext`, `stem-2.ext`, … when it exists or another download holds it.
 * The result is always directly inside `dir`.
 */
export function uniquePath(dir: string, name: string, taken: ReadonlySet<string> = new Set()): string {
  const folder = resolve(dir);
  const base = safeBaseName(name);
  const ext = extname(base);
  const stem = ext.length > 0 && ext.length < base.length ? base.slice(0, -ext.length) : base;
  const suffix = ext.length < base.length ? ext : '';
  for (let i = 0; ; i++) {
    const candidate = join(folder, i === 0 ? base : `${stem}-${i}${suffix}`);
    if (dirname(candidate) !== folder) throw new Error(`internal: "${name}" would be saved outside ${folder}`);
    if (!taken.has(candidate) && !existsSync(candidate)) return candidate;
  }
}

const FIRST_REQUEST_RETRY_MIN_MS = 30;
const FIRST_REQUEST_RETRY_MAX_MS = 200;

/**
 * The first REQUEST retry of a download (PROTOCOL.md §5), from how long the
 * server took to answer `download,<file>` with its offer: one round trip of
 * the chat connection plus the server's work, an upper bound of the path's
 * round trip. As QUIC's first probe timeout after one RTT sample (RFC 9002
 * §6.2.1: smoothed_rtt + 4 × rttvar, rttvar = rtt / 2) it is 3 × that, plus
 * 10 ms for timers, between 30 ms and the 200 ms default. A lost REQUEST or
 * CHALLENGE on a near server then costs tens of milliseconds instead of 200;
 * a REQUEST sent too early costs one small CHALLENGE more.
 */
export function firstRequestRetryMs(offerAnsweredInMs: number): number {
  if (!Number.isFinite(offerAnsweredInMs) || offerAnsweredInMs < 0) return FIRST_REQUEST_RETRY_MAX_MS;
  return Math.min(FIRST_REQUEST_RETRY_MAX_MS, Math.max(FIRST_REQUEST_RETRY_MIN_MS, Math.ceil(3 * offerAnsweredInMs) + 10));
}
/** What became of an offer: started (`done` settles when the download has finished either way), or ignored and why. */
export type OfferOutcome = { readonly ok: true; readonly done: Promise<void> } | { readonly ok: false; readonly reason: string };

export interface DownloadManagerOptions {
  readonly dir: string;
  /** The server's address (UDP goes to the same host as the chat). */
  readonly host: string;
  readonly transfers: TransferTable;
  readonly download: DownloadFn;
  /** Asked-for plus running downloads at once (default MAX_DOWNLOADS). */
  readonly maxDownloads?: number;
  readonly now?: () => number;
  readonly onChange?: () => void;
  readonly onDone?: (r: { id: number; name: string; path: string; bytes: number; sha256: string }) => void;
  readonly onFail?: (r: { id: number; name: string; error: string }) => void;
}

/**
 * Runs downloads side by side while the chat goes on — only the ones the user
 * asked for. `request(name)` records what the user asked the server for;
 * `accept(offer)` starts an offer whose name matches a pending request (one
 * offer per request) and ignores any other: a server cannot make the client
 * write a file nobody asked for, outside the download folder, or over an
 * existing file, and at most `maxDownloads` are asked for or running at once.
 */
export class DownloadManager {
  readonly #o: DownloadManagerOptions;
  readonly #now: () => number;
  readonly #max: number;
  readonly #pending: Array<{ readonly name: string; readonly at: number }> = [];
  readonly #reserved = new Set<string>();
  readonly #running = new Map<number, AbortController>();
  readonly #settled = new Set<Promise<void>>();

  constructor(options: DownloadManagerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#max = options.maxDownloads ?? MAX_DOWNLOADS;
  }

  get running(): number {
    return this.#running.size;
  }

  /** Requests sent to the server and not answered yet. */
  get pending(): number {
    this.#expire();
    return this.#pending.length;
  }

  /**
   * The user asks the server for `name`. Returns why not (nothing must be
   * sent) when `maxDownloads` are already asked for or running.
   */
  request(name: string): string | undefined {
    this.#expire();
    if (this.#pending.length + this.#running.size >= this.#max) {
      return `${this.#max} downloads are already asked for or running; wait for one to finish or /cancel one`;
    }
    this.#pending.push({ name, at: this.#now() });
    return undefined;
  }

  /** The server answered a request with an error: when it is a download refusal, the oldest request is answered (the server answers in order). */
  refused(code: string): void {
    if (DOWNLOAD_REFUSALS.has(code)) this.#pending.shift();
  }

  /** An `offer` from the server: starts it when it answers a pending request, else says why it was ignored. */
  accept(offer: Offer): OfferOutcome {
    this.#expire();
    const i = this.#pending.findIndex((p) => p.name === offer.name || p.name.normalize('NFC') === offer.name.normalize('NFC'));
    if (i === -1) return { ok: false, reason: 'nobody asked for it' };
    const problem = fileNameProblem(offer.name);
    if (problem) return { ok: false, reason: `its name ${problem}` };
    if (this.#running.has(offer.id)) return { ok: false, reason: `transfer ${offer.id} is already running` };
    const [asked] = this.#pending.splice(i, 1);
    return { ok: true, done: this.#start(offer, firstRequestRetryMs(this.#now() - (asked?.at ?? -Infinity))) };
  }

  #expire(): void {
    const oldest = this.#now() - REQUEST_TTL_MS;
    while (this.#pending.length > 0 && (this.#pending[0]?.at ?? 0) < oldest) this.#pending.shift();
  }

  #start(offer: Offer, requestRetryMs: number): Promise<void> {
    const p = this.#run(offer, requestRetryMs);
    this.#settled.add(p);
    void p.finally(() => this.#settled.delete(p));
    return p;
  }

  async #run(offer: Offer, requestRetryMs: number): Promise<void> {
    const o = this.#o;
    const now = this.#now;
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
        requestRetryMs,
        // The client ships no native code (scripts/bundle.mjs says why): plain node:dgram, the same everywhere.
        batchIo: false,
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
