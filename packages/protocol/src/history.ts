/**
 * Message identity and the history command's vocabulary (PROTOCOL.md §2.3).
 * Pure: formats and checks, nothing that stores or sends.
 */

/** Messages in one `history` answer when the client names no count (`history`, `history,before,<id>`). */
export const HISTORY_DEFAULT_PAGE = 50;
/** The most messages one `history` answer carries; a larger count is refused with BAD_ARGUMENTS. */
export const HISTORY_MAX_PAGE = 500;

/** Which question a history answer answers: on join, or `history`, `history,before,…`, `history,after,…`. */
export const HISTORY_FORMS = ['join', 'last', 'before', 'after'] as const;
export type HistoryForm = (typeof HISTORY_FORMS)[number];

/**
 * A message id as the server wrote it: opaque to clients (compare for
 * equality only; the server defines the order). Today a decimal number;
 * a Redis stream id (`1733500000000-0`) fits the same pattern.
 */
const MESSAGE_ID = /^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$/u;
/** UTC, milliseconds, always this shape: `2026-12-06T16:05:03.123Z`. */
const MESSAGE_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/u;

export function isMessageId(value: string): boolean {
  return MESSAGE_ID.test(value);
}

export function isMessageTime(value: string): boolean {
  return MESSAGE_TIME.test(value);
}

/** A message's server-assigned identity: id and the time it was stored. */
export interface MessageStamp {
  readonly id: string;
  /** `2026-12-06T16:05:03.123Z` (see `formatMessageTime`). */
  readonly time: string;
}

/** Milliseconds since the epoch → the wire's time format. */
export function formatMessageTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** What a `history` command asks for. */
export type HistoryQuery =
  | { readonly form: 'last'; readonly count: number }
  | { readonly form: 'before'; readonly id: string; readonly count: number }
  | { readonly form: 'after'; readonly id: string; readonly count: number };
