/** What the conversation shows: one entry per line the user sees (before wrapping). */
export type MessageKind =
  /** A broadcast from someone else. */
  | 'chat'
  /** Our own broadcast, echoed locally (the server does not echo). */
  | 'own'
  /** A private message to us. */
  | 'private-in'
  /** A private message we sent, echoed locally. */
  | 'private-out'
  | 'join'
  | 'leave'
  /** Text from the server (`info`, welcome). */
  | 'info'
  /** Something went wrong (server `error`/`bye`, or a client-side refusal). */
  | 'error'
  /** The client's own notices (connection state, lists, downloads). */
  | 'system';

export interface Message {
  readonly id: number;
  readonly at: number;
  readonly kind: MessageKind;
  /** Who wrote it (chat, own, private-*), or who joined/left. */
  readonly from?: string;
  /** The other party of a private message we sent. */
  readonly to?: string;
  readonly text: string;
  /** Our nick is mentioned in it. */
  readonly mention?: boolean;
  /** Replayed from the server's history (shown dimmed, never rings). */
  readonly earlier?: boolean;
}

export interface MessageLogOptions {
  /** Most messages kept; the oldest are dropped beyond it. */
  readonly limit?: number;
}

/**
 * The conversation as data. The screen draws only the visible window of it,
 * so it stays fast however long it gets.
 */
export class MessageLog {
  readonly limit: number;
  #items: Message[] = [];
  #nextId = 1;
  /** Changes whenever the log changes; views use it to know when to redraw. */
  version = 0;

  constructor(options: MessageLogOptions = {}) {
    this.limit = options.limit ?? 20_000;
  }

  get length(): number {
    return this.#items.length;
  }

  get all(): readonly Message[] {
    return this.#items;
  }

  add(message: Omit<Message, 'id'>): Message {
    const m: Message = { ...message, id: this.#nextId++ };
    this.#items.push(m);
    if (this.#items.length > this.limit) this.#items.splice(0, this.#items.length - this.limit);
    this.version++;
    return m;
  }

  /** Puts older messages (oldest first) above everything; as many as the limit leaves room for. */
  prepend(messages: readonly Omit<Message, 'id'>[]): void {
    const room = Math.max(0, this.limit - this.#items.length);
    const kept = messages.slice(Math.max(0, messages.length - room));
    if (kept.length === 0) return;
    this.#items.unshift(...kept.map((m) => ({ ...m, id: this.#nextId++ })));
    this.version++;
  }

  clear(): void {
    this.#items = [];
    this.version++;
  }

  last(): Message | undefined {
    return this.#items[this.#items.length - 1];
  }
}
