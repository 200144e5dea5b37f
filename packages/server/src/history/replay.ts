import type { HistoryForm, HistoryQuery, MessageEvent, MessageStamp } from '@parley/protocol';
import type { HistoryPage, MessageStore, StoredMessage, Viewer } from './message-store.js';

/** The most bytes of lines one history answer carries (PROTOCOL.md §2.3): far below the 1 MiB send queue. */
export const HISTORY_MAX_ANSWER_BYTES = 256 * 1024;

/** What a history answer needs of a session. */
export interface HistoryReader {
  readonly viewer: Viewer;
  send(
    event:
      | { readonly type: 'history'; readonly message: MessageEvent & MessageStamp }
      | { readonly type: 'history-end'; readonly form: HistoryForm; readonly count: number; readonly more: boolean },
  ): void;
}

/** An upper bound of a message's line: `history private <from> <to> <id> <time> :<text>\n`. */
function lineBytes(m: StoredMessage): number {
  return Buffer.byteLength(m.text) + Buffer.byteLength(m.from) + (m.to === undefined ? 0 : Buffer.byteLength(m.to)) + 80;
}

export function toMessageEvent(m: StoredMessage): MessageEvent & MessageStamp {
  return m.kind === 'broadcast' || m.to === undefined
    ? { type: 'broadcast', from: m.from, text: m.text, id: m.id, time: m.time }
    : { type: 'private', from: m.from, to: m.to, text: m.text, id: m.id, time: m.time };
}

/**
 * Answers a history question: the messages oldest first, each a `history`
 * line, then `history end`. Throws (or, from a store that answers later,
 * rejects with) `ParleyProtocolError` (nothing sent) for an id the store
 * cannot have made. After a join history the store is told (`replayed`),
 * also when it could not be read.
 */
export function sendHistory(reader: HistoryReader, store: MessageStore, query: HistoryQuery, form: HistoryForm): void | Promise<void> {
  const joined = (newest: string | undefined): void => {
    if (form === 'join') store.replayed?.(reader.viewer, newest);
  };
  let page: HistoryPage | Promise<HistoryPage>;
  try {
    page = store.query(reader.viewer, query, HISTORY_MAX_ANSWER_BYTES, lineBytes);
  } catch (err) {
    joined(undefined);
    throw err;
  }
  if (!(page instanceof Promise)) return joined(send(reader, page, form));
  return page.then(
    (p) => joined(send(reader, p, form)),
    (err: unknown) => {
      joined(undefined);
      throw err;
    },
  );
}

/** Writes the page; returns the id of its newest message. */
function send(reader: HistoryReader, page: HistoryPage, form: HistoryForm): string | undefined {
  for (const m of page.messages) reader.send({ type: 'history', message: toMessageEvent(m) });
  reader.send({ type: 'history-end', form, count: page.messages.length, more: page.more });
  return page.messages.at(-1)?.id;
}
