import type { Command, HistoryForm, MessageEvent, MessageStamp, ServerEvent } from '@parley/protocol';

/** What the history bookkeeping asks of the model for one event. */
export type HistoryStep =
  /** Not a history matter: apply the event as usual. */
  | { readonly kind: 'live' }
  /** A live message to show, whose id is now known. */
  | { readonly kind: 'live-stamped' }
  /** Nothing to show (a duplicate, or a live line the catch-up answer carries). */
  | { readonly kind: 'skip' }
  /** A stored message to show dimmed at the end (history on join). */
  | { readonly kind: 'earlier'; readonly message: MessageEvent & MessageStamp }
  /** A page of older messages, to put above everything (PgUp past the top). */
  | { readonly kind: 'older'; readonly message: MessageEvent & MessageStamp }
  /** A message missed while away, to show at the end after the marker. */
  | { readonly kind: 'missed'; readonly message: MessageEvent & MessageStamp; readonly first: boolean }
  /** A history answer ended. */
  | { readonly kind: 'end'; readonly form: HistoryForm; readonly count: number; readonly send?: Command; readonly earlier?: boolean };

export const HistoryPhase = {
  /** No history on this server (protocol 1, or HISTORY_OFF). */
  Off: 'off',
  /** Joined for the first time: replay on join coming, shown dimmed. */
  Joining: 'joining',
  /** Rejoined after a drop: everything after the last id seen is being fetched; live lines wait in the answers. */
  CatchingUp: 'catching-up',
  Live: 'live',
} as const;
export type HistoryPhase = (typeof HistoryPhase)[keyof typeof HistoryPhase];

/** How many message ids are remembered to drop duplicates (about the conversation's length). */
const SEEN_LIMIT = 20_000;

/**
 * The client's side of protocol 2's history (PROTOCOL.md §2.3), as a small
 * state machine without I/O: which commands to send after joining, which
 * lines to show, dimmed or as missed, and which to drop as already seen.
 *
 * After a reconnect it asks for everything after the last id it saw and
 * drops the live lines that arrive meanwhile: each of them was stored before
 * it was sent, so the answer carries it, in order, exactly once.
 */
export class HistorySync {
  #phase: HistoryPhase = HistoryPhase.Off;
  /** Ids shown (insertion order = age, for eviction). */
  readonly #seen = new Set<string>();
  #lastId: string | undefined;
  #oldestId: string | undefined;
  /** More older messages exist on the server (the last `before`/`join` answer said `more`). */
  #olderMore = false;
  #olderPending = false;
  #olderFirst = false;
  /** Our own lines waiting for their `sent` id, oldest first. */
  #unacked = 0;
  #missedShown = 0;
  /** Live lines shown without an id (before the server turned ids on): the ids are learnt from a `history,after` answer. */
  #plainShown = 0;
  /** Messages of the next `after` answer that are the plain lines already shown. */
  #reconcile = 0;
  #idsOn = false;
  /** Our own `ids,on` is unanswered: a HISTORY_OFF now answers it, not the user. */
  #askedIds = false;

  get phase(): HistoryPhase {
    return this.#phase;
  }

  /** Id of the newest message seen, if any. */
  get lastId(): string | undefined {
    return this.#lastId;
  }

  /** True while older messages can be fetched with `older()`. */
  get canPageBack(): boolean {
    return this.#phase !== HistoryPhase.Off && this.#olderMore && !this.#olderPending && this.#oldestId !== undefined;
  }

  /** Joined (`rejoined`: after a reconnect) a server speaking `version`: the commands to send now. */
  joined(version: number, rejoined: boolean): Command[] {
    if (version < 2) {
      this.#phase = HistoryPhase.Off;
      return [];
    }
    this.#unacked = 0;
    this.#olderPending = false;
    this.#joinReplayDone = false;
    this.#plainShown = 0;
    this.#reconcile = 0;
    this.#idsOn = false;
    this.#askedIds = true;
    const ids: Command = { type: 'ids', on: true };
    if (rejoined && this.#lastId !== undefined) {
      this.#phase = HistoryPhase.CatchingUp;
      this.#missedShown = 0;
      return [ids, { type: 'history', query: { form: 'after', id: this.#lastId, count: 500 } }];
    }
    this.#phase = HistoryPhase.Joining;
    return [ids];
  }

  /** We sent a broadcast or private message (shown at once; its id comes in `sent`). */
  sentOwn(): void {
    if (this.#phase !== HistoryPhase.Off) this.#unacked += 1;
  }

  /** The command for the page before the oldest message shown (PgUp past the top), if there is one. */
  older(): Command | undefined {
    if (!this.canPageBack || this.#oldestId === undefined) return undefined;
    this.#olderPending = true;
    this.#olderFirst = true;
    return { type: 'history', query: { form: 'before', id: this.#oldestId, count: 50 } };
  }

  step(event: ServerEvent): HistoryStep {
    switch (event.type) {
      case 'history':
        return this.#stored(event.message);
      case 'history-end':
        return this.#end(event.form, event.count, event.more);
      case 'sent':
        if (this.#unacked > 0) this.#unacked -= 1;
        this.#see(event.id, true);
        return { kind: 'skip' };
      case 'broadcast':
      case 'private': {
        if (this.#phase === HistoryPhase.Off) return { kind: 'live' };
        // Meanwhile the catch-up answers carry it (it was stored before it was sent).
        if (this.#phase === HistoryPhase.CatchingUp) return { kind: 'skip' };
        if (event.id === undefined) {
          if (!this.#idsOn) this.#plainShown += 1;
          return { kind: 'live' };
        }
        if (this.#seen.has(event.id)) return { kind: 'skip' };
        this.#see(event.id, true);
        return { kind: 'live-stamped' };
      }
      case 'ids':
        this.#askedIds = false;
        this.#idsOn = event.on;
        // Lines shown between welcome and now came without ids: learn them, so a later catch-up does not show them twice.
        if (event.on && this.#plainShown > 0 && this.#phase === HistoryPhase.Live && this.#lastId !== undefined) {
          this.#reconcile = this.#plainShown;
          this.#plainShown = 0;
          return { kind: 'end', form: 'after', count: 0, send: { type: 'history', query: { form: 'after', id: this.#lastId, count: 500 } } };
        }
        this.#plainShown = 0;
        return { kind: 'live' };
      case 'error': {
        if (event.code !== 'HISTORY_OFF') return { kind: 'live' };
        this.#phase = HistoryPhase.Off;
        // The answer to the client's own ids,on (a cluster node keeps no history): nothing for the user.
        const ours = this.#askedIds;
        this.#askedIds = false;
        return ours ? { kind: 'skip' } : { kind: 'live' };
      }
      default:
        return { kind: 'live' };
    }
  }

  #stored(message: MessageEvent & MessageStamp): HistoryStep {
    if (this.#phase === HistoryPhase.Off) return { kind: 'skip' };
    if (this.#olderPending) {
      if (this.#seen.has(message.id)) return { kind: 'skip' };
      this.#see(message.id, false);
      // Oldest first: the page's first message is the new oldest.
      if (this.#olderFirst) this.#oldestId = message.id;
      this.#olderFirst = false;
      return { kind: 'older', message };
    }
    // The replay on join after a reconnect is older than what the catch-up brings: skipped whole.
    if (this.#phase === HistoryPhase.CatchingUp && this.#inJoinReplay) return { kind: 'skip' };
    // Every other answer is in server order up to the moment it was read, and it includes the
    // live lines that came before it: its last message is the newest seen, shown or not.
    const seen = this.#seen.has(message.id);
    this.#see(message.id, true);
    if (seen) return { kind: 'skip' };
    if (this.#phase === HistoryPhase.CatchingUp) {
      this.#missedShown += 1;
      return { kind: 'missed', message, first: this.#missedShown === 1 };
    }
    if (this.#reconcile > 0) {
      // One of the plain lines already shown: now we know its id.
      this.#reconcile -= 1;
      return { kind: 'skip' };
    }
    if (this.#joinReplayDone) return { kind: 'missed', message, first: false };
    if (this.#oldestId === undefined) this.#oldestId = message.id;
    return { kind: 'earlier', message };
  }

  /** While catching up, the replay on join comes first and is skipped until its end. */
  get #inJoinReplay(): boolean {
    return !this.#joinReplayDone;
  }
  #joinReplayDone = false;

  #end(form: HistoryForm, count: number, more: boolean): HistoryStep {
    if (this.#phase === HistoryPhase.Off) return { kind: 'skip' };
    switch (form) {
      case 'join':
        this.#joinReplayDone = true;
        if (this.#phase === HistoryPhase.Joining) {
          this.#olderMore = more;
          this.#phase = HistoryPhase.Live;
          return { kind: 'end', form, count, earlier: count > 0 };
        }
        return { kind: 'end', form, count };
      case 'before':
      case 'last':
        if (this.#olderPending) {
          this.#olderPending = false;
          this.#olderMore = more;
        }
        return { kind: 'end', form, count };
      case 'after':
        if (this.#phase === HistoryPhase.CatchingUp) {
          if (more && this.#lastId !== undefined) {
            return { kind: 'end', form, count, send: { type: 'history', query: { form: 'after', id: this.#lastId, count: 500 } } };
          }
          this.#phase = HistoryPhase.Live;
        }
        return { kind: 'end', form, count };
    }
  }

  /** Remembers an id as shown; `newest`: it is the newest so far. */
  #see(id: string, newest: boolean): void {
    this.#seen.delete(id);
    this.#seen.add(id);
    if (this.#seen.size > SEEN_LIMIT) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    if (newest) this.#lastId = id;
  }
}
