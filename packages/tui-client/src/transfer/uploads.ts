import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FILE_NAME_MAX_BYTES, hasControlCharacters, type Command, type ServerEvent } from '@parley/protocol';
import type { DownloadProgress } from '@parley/udp-transfer';
import type { TransferTable } from '../model/transfers.js';

/** What a `share` needs to say about a local file: the name to offer, its size and SHA-256. */
export interface LocalShare {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Reads a file to share: a regular file, its base name as the name to offer (the
 * server cleans and may suffix it), its size and SHA-256 (streamed, so a large file
 * is never held in memory). Throws an Error whose message is for the user.
 */
export async function describeLocalFile(path: string): Promise<LocalShare> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${err.code ?? err.message}`);
  });
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  const name = basename(path);
  if (name.startsWith('.') || hasControlCharacters(name) || Buffer.byteLength(name) > FILE_NAME_MAX_BYTES) {
    throw new Error(`the name "${name}" cannot be shared (no leading dot or control characters, at most ${FILE_NAME_MAX_BYTES} bytes): rename the file`);
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  if (size !== st.size) throw new Error(`${path} changed while it was read; try again`);
  return { path, name, size, sha256: hash.digest('hex') };
}

/** The fields of the server's `upload` event. */
export type UploadTicket = Omit<Extract<ServerEvent, { type: 'upload' }>, 'type'>;

/** Sends one file (the `uploadFile` of `@parley/udp-transfer`, replaceable in tests). */
export type UploadFn = (o: {
  host: string;
  ticket: UploadTicket;
  path: string;
  onProgress?: (p: Readonly<DownloadProgress>) => void;
  signal?: AbortSignal;
}) => Promise<{ bytes: number; resumedBytes: number }>;

export interface UploadManagerOptions {
  readonly host: string;
  readonly transfers: TransferTable;
  readonly upload: UploadFn;
  readonly onChange: () => void;
  /** Sends `share` to the server (false when the connection is not online). */
  readonly send: (command: Extract<Command, { type: 'share' }>) => boolean;
  readonly onSent: (name: string) => void;
  readonly onFail: (name: string, error: string) => void;
}

/** Shares asked for and not answered yet are forgotten after this long. */
const ASK_TTL_MS = 60_000;

/**
 * The screen's shares: `/share <path> [nick]` hashes the file, sends `share`,
 * and starts the upload when the server answers `upload` for that content
 * (only then: an `upload` nobody asked for is ignored). Uploads show in the
 * transfers table (`↑ name`) with rate and ETA; `/cancel <id>` stops one.
 */
export class UploadManager {
  readonly #o: UploadManagerOptions;
  /** Asked for, by SHA-256: the local file. */
  readonly #asked = new Map<string, { readonly file: LocalShare; readonly at: number }>();
  readonly #running = new Map<number, AbortController>();

  constructor(options: UploadManagerOptions) {
    this.#o = options;
  }

  /** Reads the file and sends `share`; resolves with a refusal for the user, or undefined once asked. */
  async share(path: string, to: string | undefined): Promise<string | undefined> {
    let file: LocalShare;
    try {
      file = await describeLocalFile(path);
    } catch (err) {
      return (err as Error).message;
    }
    const now = Date.now();
    for (const [k, v] of this.#asked) if (now - v.at > ASK_TTL_MS) this.#asked.delete(k);
    if (this.#asked.has(file.sha256)) return `${file.name} is being shared already`;
    if (!this.#o.send({ type: 'share', name: file.name, size: file.size, sha256: file.sha256, ...(to !== undefined ? { to } : {}) })) {
      return 'not connected; nothing was shared';
    }
    this.#asked.set(file.sha256, { file, at: now });
    return undefined;
  }

  /** The server refused a `share` (its answer is an error): forget the oldest ask. */
  refused(code: string): void {
    if (
      !['SHARING_OFF', 'SHARE_TOO_LARGE', 'SHARE_QUOTA', 'SHARE_NO_SPACE', 'TRANSFER_LIMIT', 'FILE_NAME_INVALID', 'UNKNOWN_USER', 'NOT_LOGGED_IN'].includes(
        code,
      )
    )
      return;
    const oldest = this.#asked.keys().next().value;
    if (oldest !== undefined) this.#asked.delete(oldest);
  }

  /** The server's `upload`: starts the upload it answers, or says why it was ignored. */
  accept(ticket: UploadTicket): { ok: true } | { ok: false; reason: string } {
    const ask = this.#asked.get(ticket.sha256);
    if (ask === undefined || ask.file.size !== ticket.size) return { ok: false, reason: 'no share of that file was asked for' };
    this.#asked.delete(ticket.sha256);
    const t = this.#o.transfers;
    t.add({ id: ticket.id, name: ask.file.name, direction: 'up', size: ticket.size, sha256: ticket.sha256, path: ask.file.path, startedAt: Date.now() });
    const abort = new AbortController();
    this.#running.set(ticket.id, abort);
    this.#o.onChange();
    this.#o
      .upload({
        host: this.#o.host,
        ticket,
        path: ask.file.path,
        signal: abort.signal,
        onProgress: (p) => {
          t.progress(ticket.id, p);
          this.#o.onChange();
        },
      })
      .then(
        () => {
          t.finish(ticket.id, Date.now(), ask.file.path);
          this.#o.onSent(ask.file.name);
        },
        (err: unknown) => {
          t.fail(ticket.id, Date.now(), (err as Error).message);
          this.#o.onFail(ask.file.name, (err as Error).message);
        },
      )
      .finally(() => {
        this.#running.delete(ticket.id);
        this.#o.onChange();
      });
    return { ok: true };
  }

  /** Stops an upload (the client sends CANCEL; the server deletes what it received). False when there is none. */
  cancel(id: number): boolean {
    const a = this.#running.get(id);
    if (a === undefined) return false;
    a.abort();
    return true;
  }

  stopAll(): void {
    for (const a of this.#running.values()) a.abort();
  }
}
