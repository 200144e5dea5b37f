import { formatMessageTime, protocolError, type HistoryQuery, type MessageStamp } from '@parley/protocol';
import type { HistoryPage, HistoryStats, MessageStore, NewMessage, StoredMessage, Viewer } from '../history/message-store.js';
import type { StreamEntry } from './connections.js';
import { compareIds, idTime, isStreamId } from './stream-reader.js';

/** What the store needs of the hub whose streams it reads. */
export interface StreamHistorySource {
  /** The room's and the viewer's private entries nearest to a point (STREAM_HISTORY). */
  history(key: string, tenure: number, form: string, id: string, count: number): Promise<{ room: StreamEntry[]; mine: StreamEntry[] }>;
  /** The tenure this node's member holding `key` got with its claim. */
  tenureOf(key: string): number | undefined;
  /** The join history of the member holding `key` is out, up to `newest`. */
  replayed(key: string, newest: string | undefined): void;
  /** Messages stored by this node (for /metrics). */
  readonly stored: number;
}

/** The value of `name` in a stream entry's field list. */
export function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** A room entry (`n m f x`) or a private entry (`f fk ft t tk tt x`) as a stored message; undefined when malformed. */
export function toStored(kind: StoredMessage['kind'], [id, fields]: StreamEntry): StoredMessage | undefined {
  const from = field(fields, 'f');
  const text = field(fields, 'x');
  const to = kind === 'private' ? field(fields, 't') : undefined;
  if (!isStreamId(id) || from === undefined || text === undefined || (kind === 'private' && to === undefined)) return undefined;
  return { id, time: formatMessageTime(idTime(id)), kind, from, to, text };
}

/**
 * History in a cluster: the `MessageStore` over the Redis hub's streams.
 * The room stream holds the broadcasts, one stream per nick key the private
 * messages that key sent or received in its current tenure (a new tenure
 * unlinks it), all with ids from one sequence: the stream id is the message
 * id, the same on every node. Messages are stored by the hub as it sends
 * them (`ChatHub.storing`), trimmed by the same XADD (`MAXLEN ~`, `MINID ~`);
 * this store answers questions with one script call each.
 */
export class StreamHistory implements MessageStore {
  constructor(private readonly source: StreamHistorySource) {}

  append(_message: NewMessage, _now: number): MessageStamp {
    throw new Error('in a cluster, messages are stored by the hub as it sends them (ChatHub.storing)');
  }

  commitPending(): void {
    // Nothing is staged: the hub's XADD is the store.
  }

  async query(viewer: Viewer, query: HistoryQuery, maxBytes: number, bytesOf: (m: StoredMessage) => number): Promise<HistoryPage> {
    const id = query.form === 'last' ? '' : query.id;
    if (id !== '' && !isStreamId(id)) {
      throw protocolError('BAD_ARGUMENTS', `"${id}" is not a message id of this server (its ids look like 1733500000000-0)`);
    }
    const { room, mine } = await this.source.history(viewer.key, viewer.tenure, query.form, id, query.count + 1);
    const all: StoredMessage[] = [];
    for (const e of room) {
      const m = toStored('broadcast', e);
      if (m) all.push(m);
    }
    for (const e of mine) {
      const m = toStored('private', e);
      if (m) all.push(m);
    }
    // Nearest to the point first: newest first, oldest first for `after`.
    const after = query.form === 'after';
    all.sort((a, b) => (after ? compareIds(a.id, b.id) : compareIds(b.id, a.id)));
    let more = all.length > query.count;
    if (more) all.length = query.count;
    const messages: StoredMessage[] = [];
    let bytes = 0;
    for (const m of all) {
      bytes += bytesOf(m);
      if (bytes > maxBytes && messages.length > 0) {
        more = true;
        break;
      }
      messages.push(m);
    }
    if (!after) messages.reverse();
    return { messages, more };
  }

  replayed(viewer: Viewer, newest: string | undefined): void {
    this.source.replayed(viewer.key, newest);
  }

  beginTenure(key: string, _now: number): number {
    // The claim script began (or went on with) the tenure in Redis, for every node.
    return this.source.tenureOf(key) ?? 0;
  }

  tenureOf(key: string): number | undefined {
    return this.source.tenureOf(key);
  }

  endTenure(_key: string, _now: number): void {
    // The release script records when the nick was given up.
  }

  stats(): HistoryStats {
    return { stored: this.source.stored, commitFailures: 0, trimmed: 0 };
  }

  trim(_now: number): number {
    // Every XADD trims (MAXLEN ~, MINID ~): nothing to do here.
    return 0;
  }

  close(): void {
    // The hub owns the connections.
  }
}
