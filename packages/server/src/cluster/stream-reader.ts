import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StreamEntry } from './connections.js';
import { keys } from './scripts.js';

/** Which stream an entry came from: the room (broadcasts) or this node's inbox (its users' private messages). */
export type Source = 'room' | 'inbox';

/** Orders two stream ids (`<ms>-<n>`) numerically. */
export function compareIds(a: string, b: string): number {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const ma = Number(a.slice(0, da));
  const mb = Number(b.slice(0, db));
  if (ma !== mb) return ma < mb ? -1 : 1;
  const sa = Number(a.slice(da + 1));
  const sb = Number(b.slice(db + 1));
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

/** A stream id as this cluster writes them (`<ms>-<n>`, as the message id on the wire). */
export function isStreamId(id: string): boolean {
  return /^[0-9]{1,15}-[0-9]{1,16}$/u.test(id);
}

/** The milliseconds of a stream id: when Redis stored the message. */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/**
 * Merges one XREAD answer of the room and the inbox into id order. Both
 * streams take their ids from one sequence, so one answer is a consistent
 * cut, except where a stream hit `count`: entries past the last id of such a
 * stream wait for the next read (the other stream may still have older ones).
 * Returns the entries to deliver now; `positions` are where to read next.
 */
export function mergeRead(
  room: readonly StreamEntry[],
  inbox: readonly StreamEntry[],
  count: number,
  from: { room: string; inbox: string },
): { entries: Array<[Source, StreamEntry]>; positions: { room: string; inbox: string } } {
  let limit: string | undefined;
  for (const list of [room, inbox]) {
    const last = list.at(-1);
    if (list.length >= count && last && (limit === undefined || compareIds(last[0], limit) < 0)) limit = last[0];
  }
  const entries: Array<[Source, StreamEntry]> = [];
  const positions = { ...from };
  let i = 0;
  let j = 0;
  for (;;) {
    const r = room[i];
    const b = inbox[j];
    let next: [Source, StreamEntry] | undefined;
    if (r && (!b || compareIds(r[0], b[0]) < 0)) next = ['room', r];
    else if (b) next = ['inbox', b];
    if (!next || (limit !== undefined && compareIds(next[1][0], limit) > 0)) break;
    entries.push(next);
    if (next[0] === 'room') {
      positions.room = next[1][0];
      i += 1;
    } else {
      positions.inbox = next[1][0];
      j += 1;
    }
  }
  return { entries, positions };
}

export interface StreamReaderOptions {
  readonly redis: Redis;
  readonly nodeId: string;
  /** How long one XREAD blocks (ms): also how long closing may wait for it. */
  readonly blockMs: number;
  /** Entries per stream per read. */
  readonly count: number;
  readonly log: Logger;
  /** Called for each entry, in id order, exactly once per entry while this process lives. */
  readonly onEntry: (source: Source, entry: StreamEntry) => void;
}

/**
 * Reads the room stream and this node's inbox from the last id it delivered
 * (`XREAD BLOCK` on a connection of its own), so that messages stored while
 * the connection was down are delivered once it is back, in order, once.
 * It starts at the newest id Redis has given out when it first connects:
 * a node delivers what is said after it started.
 */
export class StreamReader {
  readonly #o: StreamReaderOptions;
  #positions: { room: string; inbox: string } | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(options: StreamReaderOptions) {
    this.#o = options;
    options.redis.on('ready', () => this.#wake?.());
    this.done = this.#run();
  }

  /** The ids read up to (for tests and logs). */
  get positions(): { readonly room: string; readonly inbox: string } | undefined {
    return this.#positions;
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const { redis, log } = this.#o;
    const room = keys.room;
    const inbox = keys.inbox(this.#o.nodeId);
    while (!this.#closed) {
      if (redis.status !== 'ready') {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      try {
        if (!this.#positions) {
          const last = (await redis.get(keys.msgid)) ?? '0-0';
          this.#positions = { room: last, inbox: last };
          log.debug({ from: last }, 'reading the message streams');
        }
        const from = this.#positions;
        const reply = (await redis.xread('COUNT', this.#o.count, 'BLOCK', this.#o.blockMs, 'STREAMS', room, inbox, from.room, from.inbox)) as Array<
          [string, StreamEntry[]]
        > | null;
        if (!reply || this.#closed) continue;
        const got = new Map(reply);
        const { entries, positions } = mergeRead(got.get(room) ?? [], got.get(inbox) ?? [], this.#o.count, from);
        this.#positions = positions;
        for (const [source, entry] of entries) {
          try {
            this.#o.onEntry(source, entry);
          } catch (err) {
            log.error({ err, id: entry[0] }, 'could not deliver a stream entry');
          }
        }
      } catch (err) {
        if (this.#closed) break;
        const message = (err as Error).message;
        if (/timed out/iu.test(message)) {
          // No answer within block + lease: the connection is dead without knowing it.
          log.warn('the stream reader hears nothing; reconnecting it');
          redis.disconnect(true);
        } else {
          log.debug({ err: message }, 'stream read failed; reading again once connected');
        }
        if (redis.status === 'ready') await new Promise((resolve) => setTimeout(resolve, 50).unref());
      }
    }
  }
}
