import type { LinkState } from './connection.js';

/**
 * What the conversation says about the connection, as a small state machine:
 * one line when a working connection is lost, one line when the server cannot
 * be reached at all (not one per retry), nothing when it comes back (the
 * rejoin says so), and why it closed unless the user is quitting.
 */
export interface LinkNoticeState {
  /** The link was online since the last outage line. */
  readonly wasOnline: boolean;
  /** The current outage has been reported. */
  readonly announced: boolean;
}

export const NO_OUTAGE: LinkNoticeState = { wasOnline: false, announced: false };

export interface LinkChange {
  readonly state: LinkState;
  readonly detail: string;
  /** `host:port`, for the message. */
  readonly server: string;
  readonly quitting: boolean;
}

/** The next notice state, and the error line to show (if any). */
export function linkNotice(s: LinkNoticeState, c: LinkChange): { state: LinkNoticeState; line?: string } {
  const why = c.detail.replace(/; retrying.*$/u, '');
  if (c.state === 'reconnecting' && s.wasOnline) {
    return { state: { wasOnline: false, announced: true }, line: `lost the connection to ${c.server} (${why}); reconnecting…` };
  }
  if (c.state === 'reconnecting' && !s.announced) {
    return { state: { ...s, announced: true }, line: `cannot reach ${c.server} (${why}); trying again with backoff (F10 quits)` };
  }
  if (c.state === 'online') return { state: { ...s, announced: false } };
  if (c.state === 'closed' && !c.quitting) return { state: s, line: `disconnected: ${c.detail}` };
  return { state: s };
}

/** The link has (re)joined the chat: the next loss is a lost connection, not an unreachable server. */
export function linkJoined(s: LinkNoticeState): LinkNoticeState {
  return { ...s, wasOnline: true };
}
