/*
 * Why this is about 520 lines: a session is one state machine (naming →
 * logging in → joining → joined → closed) whose guards share the same private
 * state — the line decoder, the outbox, the flood bucket, the held lines of an
 * asynchronous command and the timers — and each transition touches several of
 * them. What does not need that state lives elsewhere: each command's handler
 * in command-handlers.ts, passwords and the login throttle in accounts/,
 * history replay in history/, kicks and bans in moderation-commands.ts. The
 * join path (#choose with its ban check, #loggingIn, #login with resume tokens
 * and waiting messages, #claim, #claimed, #welcome) grew most this round and is
 * the seam for the next split: a JoinFlow object that hands the session a nickname.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import {
  checkNickname,
  eventFrame,
  nickFold,
  nickKey,
  LineDecoder,
  parseCommand,
  PROTOCOL_VERSION,
  ParleyProtocolError,
  type DecodedLine,
  type ErrorCode,
  type LeaveReason,
  type ServerEvent,
} from '@parley/protocol';
import { handleCommand } from './command-handlers.js';
import type { Viewer } from './history/message-store.js';
import { sendHistory } from './history/replay.js';
import type { ServerContext } from './context.js';
import type { ClaimResult, HubMember } from './hub.js';
import { Outbox } from './outbox.js';
import { TokenBucket } from './token-bucket.js';

export const SessionState = {
  /** Connected, waiting for a nickname. */
  Naming: 'naming',
  /** The nickname sent is registered: waiting for `login,<password>` (or another nickname). */
  LoggingIn: 'logging-in',
  /** A nickname was sent; the hub is deciding. */
  Joining: 'joining',
  Joined: 'joined',
  Closed: 'closed',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

const PROMPT = eventFrame({ type: 'info', text: 'Parley chat server. Type your nickname and press Enter.' });
/**
 * The prompt is for people (nc); a program sends its nickname at once. Waiting
 * this long before prompting spares a program's connection one write, which
 * is most of what admitting it costs.
 */
const PROMPT_DELAY_MS = 150;

/** One client connection: its nickname, its guards, and the lines it sends. */
export class Session implements HubMember {
  nick = '';
  /** `nickKey(nick)` once joined. */
  key = '';
  /** This user's tenure of the nickname (private messages in history are per tenure); 0 without history. */
  tenure = 0;
  /** The client sent `ids,on`: live messages carry id and time. */
  ids = false;
  /** The account (nick key) this connection logged in to or registered; undefined for a guest. */
  account: string | undefined;
  /** While logging in: the registered nickname asked for. */
  #pendingNick = '';
  #state: SessionState = SessionState.Naming;
  readonly #decoder: LineDecoder;
  readonly #outbox: Outbox;
  readonly #bucket: TokenBucket;
  /** Made on first use: most connections never log anything. */
  #logger: Logger | undefined;
  #remote: string | (() => string);
  readonly connectedAt: number;
  /** When the wait for a nickname began: the connection, or the `NICK_REGISTERED` that asked for a password (a person types it). */
  #waitingSince: number;
  #askedPassword = false;
  #lastSeen: number;
  #pinged = false;
  #pingCount = 0;
  #floodWarned = false;
  #floodDrops = 0;
  #held: DecodedLine[] = [];
  #promptTimer: NodeJS.Timeout | undefined;
  /** An asynchronous command is running; later lines wait in `#held`. */
  #busy = false;
  /** The client sent FIN; close once every line it sent is answered. */
  #ended = false;

  constructor(
    readonly id: string,
    private readonly stream: Duplex,
    private readonly ctx: ServerContext,
    remote: string | (() => string),
    private readonly onClosed: (session: Session) => void,
    private readonly onJoined: (session: Session) => void = () => undefined,
    /** `tls`: the chat travels inside TLS, so a download key offered here stays private. */
    readonly transport: 'plain' | 'tls' = 'plain',
    /** The peer's IP address (undefined for a stream without one). */
    readonly address: string | undefined = undefined,
  ) {
    this.#remote = remote;
    const now = ctx.now();
    this.connectedAt = now;
    this.#waitingSince = now;
    this.#lastSeen = now;
    this.#decoder = new LineDecoder({ maxLineBytes: ctx.options.maxLineBytes });
    this.#bucket = new TokenBucket(ctx.options.rate, ctx.options.burst, now);
    this.#outbox = new Outbox(
      stream,
      ctx.scheduler,
      { maxQueuedBytes: ctx.options.maxQueuedBytes, drainTimeoutMs: ctx.options.drainTimeoutMs },
      (why) => {
        this.log.warn({ why }, 'client is not reading; disconnecting');
        this.close('kicked', 'SLOW_READER', `disconnected: ${why}`, true);
      },
      (bytes) => {
        ctx.stats.bytesOut += bytes;
      },
    );
    stream.on('data', this.#onData);
    // The client finished sending (e.g. `nc -N` after piped input): answer what it sent, then close.
    stream.on('end', () => {
      this.#ended = true;
      if (!this.#busy) this.#finish();
    });
    stream.on('close', () => this.close('disconnected'));
    stream.on('error', (err: NodeJS.ErrnoException) => {
      this.log.debug({ err: err.code ?? err.message }, 'socket error');
      this.close('disconnected');
    });
    this.#promptTimer = setTimeout(() => {
      this.#promptTimer = undefined;
      if (this.#state === SessionState.Naming) this.#outbox.send(PROMPT);
    }, PROMPT_DELAY_MS);
    this.#promptTimer.unref();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The peer's address, e.g. `203.0.113.7:51234`. */
  get remote(): string {
    if (typeof this.#remote !== 'string') this.#remote = this.#remote();
    return this.#remote;
  }

  /** Whose history this session sees. */
  get viewer(): Viewer {
    return { key: this.key, tenure: this.tenure };
  }

  get log(): Logger {
    this.#logger ??= this.ctx.log.child(
      this.nick
        ? { conn: this.id, remote: this.remote, tls: this.transport === 'tls', nick: this.nick }
        : { conn: this.id, remote: this.remote, tls: this.transport === 'tls' },
    );
    return this.#logger;
  }

  /** HubMember: queue an encoded event. */
  deliver(frame: Buffer, lazy = false): void {
    this.#outbox.send(frame, lazy);
  }

  /** HubMember: the hub ends this session (e.g. its nick was taken on another node during an outage). */
  evict(code: ErrorCode, text: string): void {
    this.close('kicked', code, text);
  }

  send(event: ServerEvent): void {
    this.ctx.stats.count(this.ctx.stats.eventsOut, event.type);
    this.#outbox.send(eventFrame(event));
  }

  sendError(code: ErrorCode, text: string): void {
    this.ctx.stats.count(this.ctx.stats.rejected, code);
    this.send({ type: 'error', code, text });
  }

  reject(error: ParleyProtocolError): void {
    this.sendError(error.wireCode, error.message);
  }

  /** Called by the server's sweeper: join timeout, ping, idle timeout. */
  tick(now: number): void {
    const o = this.ctx.options;
    if (this.#state === SessionState.Naming || this.#state === SessionState.LoggingIn || this.#state === SessionState.Joining) {
      if (now - this.#waitingSince >= o.joinTimeoutMs) {
        const what = this.#state === SessionState.LoggingIn ? 'no password' : 'no nickname';
        this.close('timeout', 'JOIN_TIMEOUT', `${what} was sent within ${Math.round(o.joinTimeoutMs / 1000)} s`);
      }
      return;
    }
    if (this.#state !== SessionState.Joined) return;
    const idle = now - this.#lastSeen;
    if (idle >= o.idleTimeoutMs) {
      this.close('timeout', 'IDLE_TIMEOUT', `nothing received for ${Math.round(idle / 1000)} s`);
    } else if (idle >= o.pingIntervalMs && !this.#pinged) {
      this.#pinged = true;
      this.send({ type: 'ping', token: String(++this.#pingCount) });
    }
  }

  #onData = (chunk: Buffer): void => {
    if (this.#state === SessionState.Closed) return;
    this.ctx.stats.bytesIn += chunk.length;
    this.#lastSeen = this.ctx.now();
    this.#pinged = false;
    if (this.#promptTimer) {
      clearTimeout(this.#promptTimer);
      this.#promptTimer = undefined;
    }
    const lines = this.#decoder.push(chunk);
    if (this.#busy) {
      this.#held.push(...lines);
      return;
    }
    this.#process(lines);
  };

  /**
   * Handles lines in order. A line whose handling is asynchronous (choosing a
   * nickname with a remote hub, listing files, offering a download) holds the
   * lines after it until it is done, so answers always come in the order asked.
   */
  #process(lines: DecodedLine[]): void {
    for (let i = 0; i < lines.length; i++) {
      if (this.#state === SessionState.Closed) return;
      const pending = this.#line(lines[i] as DecodedLine);
      if (pending) {
        this.#busy = true;
        this.#held = lines.slice(i + 1);
        this.stream.pause();
        pending
          .catch((err: unknown) => this.log.error({ err }, 'command failed'))
          .finally(() => {
            this.#busy = false;
            const held = this.#held;
            this.#held = [];
            if (this.#state === SessionState.Closed) return;
            this.stream.resume();
            this.#process(held);
            if (this.#ended && !this.#busy) this.#finish();
          });
        return;
      }
    }
  }

  #line(result: DecodedLine): Promise<void> | undefined {
    if (!this.#admit()) return undefined;
    if (!result.ok) {
      this.log.debug({ code: result.error.wireCode }, 'bad line');
      this.reject(result.error);
      return undefined;
    }
    if (this.#state === SessionState.Naming) return this.#choose(result.line);
    if (this.#state === SessionState.LoggingIn) return this.#loggingIn(result.line);
    const parsed = parseCommand(result.line);
    if (!parsed.ok) {
      this.reject(parsed.error);
      return undefined;
    }
    if (parsed.command === null) return undefined;
    this.ctx.stats.count(this.ctx.stats.commandsIn, parsed.command.type);
    return handleCommand(this, parsed.command, this.ctx);
  }

  #finish(): void {
    this.close('disconnected', 'QUIT', this.nick ? `goodbye, ${this.nick}` : 'goodbye');
  }

  /** The flood guard: a token per line; an empty bucket drops lines, warns once, and ends a flood that goes on. */
  #admit(): boolean {
    if (this.#bucket.take(this.ctx.now())) {
      this.#floodWarned = false;
      this.#floodDrops = 0;
      return true;
    }
    this.#floodDrops += 1;
    if (!this.#floodWarned) {
      this.#floodWarned = true;
      const o = this.ctx.options;
      this.sendError('RATE_LIMITED', `too many messages (limit ${o.rate}/s, burst ${o.burst}); lines are dropped until you slow down`);
    } else {
      this.ctx.stats.count(this.ctx.stats.rejected, 'RATE_LIMITED');
    }
    if (this.#floodDrops > this.ctx.options.floodDisconnectAfter) {
      this.close('kicked', 'FLOOD', `disconnected for flooding (${this.#floodDrops} lines dropped in a row)`);
    }
    return false;
  }

  #choose(line: string): Promise<void> | undefined {
    if (line.trim().length === 0) return undefined;
    const checked = checkNickname(line);
    if (!checked.ok) {
      this.sendError(checked.error.wireCode, `${checked.error.message}. Send another nickname.`);
      return undefined;
    }
    const ban = this.ctx.moderation?.match(nickKey(checked.nick), undefined);
    if (ban) {
      if (this.ctx.moderation) this.ctx.moderation.stats.refusedNicks += 1;
      const until = ban.until === undefined ? '' : ` until ${new Date(ban.until).toISOString()}`;
      this.sendError('BANNED', `"${checked.nick}" is banned from this server${until}${ban.reason ? `: ${ban.reason}` : ''}. Send another nickname.`);
      return undefined;
    }
    const registered = this.ctx.accounts?.registered(nickKey(checked.nick));
    if (registered) {
      // The join timeout starts again once, for a person to type the password.
      if (!this.#askedPassword) {
        this.#askedPassword = true;
        this.#waitingSince = this.ctx.now();
      }
      this.#state = SessionState.LoggingIn;
      this.#pendingNick = checked.nick;
      const how = this.transport === 'tls' ? 'login,<password>' : 'login,<password> (over TLS: parley --tls)';
      this.sendError('NICK_REGISTERED', `"${registered.nick}" is a registered nickname: send ${how} to log in, or send another nickname`);
      return undefined;
    }
    return this.#claim(checked.nick);
  }

  /** A line while a registered nickname waits for its password: `login,<password>`, or another nickname. */
  #loggingIn(line: string): Promise<void> | undefined {
    const parsed = parseCommand(line);
    if (parsed.ok && parsed.command?.type === 'login') return this.#login({ password: parsed.command.password });
    if (parsed.ok && parsed.command?.type === 'resume') return this.#login({ token: parsed.command.token });
    if (!parsed.ok && /^login,/iu.test(line)) {
      this.reject(parsed.error);
      return undefined;
    }
    if (!line.includes(',') && checkNickname(line).ok) {
      this.#state = SessionState.Naming;
      this.#pendingNick = '';
      return this.#choose(line);
    }
    if (line.trim().length === 0) return undefined;
    this.sendError('NICK_REGISTERED', `"${this.#pendingNick}" is a registered nickname: send login,<password> to log in, or send another nickname`);
    return undefined;
  }

  async #login(proof: { readonly password: string } | { readonly token: string }): Promise<void> {
    const accounts = this.ctx.accounts;
    if (!accounts) return;
    const key = nickKey(this.#pendingNick);
    const result = 'token' in proof ? await accounts.resume(key, proof.token, this) : await accounts.login(key, proof.password, this);
    if (this.#state !== SessionState.LoggingIn) return;
    if (!result.ok) {
      this.log.info({ nick: this.#pendingNick, code: result.code }, 'login refused');
      this.sendError(result.code, result.text);
      return;
    }
    this.account = key;
    this.log.info({ nick: result.nick, via: 'token' in proof ? 'resume-token' : 'password' }, 'logged in');
    // A stale connection holding the nickname (a laptop that slept) gives it up to its owner.
    await this.ctx.takeOver?.(key, this);
    if (this.#state !== SessionState.LoggingIn) return;
    this.#pendingNick = '';
    await this.#claim(result.nick);
    if (this.state !== SessionState.Joined) return;
    this.send({ type: 'account', state: 'identified', nick: this.nick, text: `you are logged in to your account "${this.nick}"` });
    await this.sendResumeToken();
    await this.#deliverWaiting();
  }

  /** Gives this connection a resume token for its account (PROTOCOL.md §2.4), if the server issues them. */
  async sendResumeToken(): Promise<void> {
    if (this.account === undefined) return;
    try {
      const issued = await this.ctx.accounts?.issueToken(this.account);
      if (issued && this.#state === SessionState.Joined) this.send({ type: 'resume', token: issued.token, expires: new Date(issued.expires).toISOString() });
    } catch (err) {
      this.log.error({ err }, 'cannot issue a resume token');
    }
  }

  /** Private messages left for this account while it was away: handed over once, then forgotten. */
  async #deliverWaiting(): Promise<void> {
    const waiting = this.ctx.waiting;
    if (!waiting || this.account === undefined) return;
    try {
      const { messages, delivered } = await waiting.take(this.account);
      if (this.#state !== SessionState.Joined) return;
      for (const m of messages) this.send({ type: 'waited', from: m.fromNick, time: new Date(m.at).toISOString(), text: m.text });
      await delivered();
      if (messages.length > 0) this.log.info({ count: messages.length }, 'waiting messages delivered');
    } catch (err) {
      this.log.error({ err }, 'cannot deliver waiting messages');
    }
  }

  #claim(nick: string): Promise<void> | undefined {
    this.nick = nick;
    this.#state = SessionState.Joining;
    let result: ClaimResult | Promise<ClaimResult>;
    try {
      result = this.ctx.hub.claim(this);
    } catch (err) {
      this.#claimFailed(err);
      return undefined;
    }
    if (result instanceof Promise)
      return result.then(
        (r) => this.#claimed(r),
        (err: unknown) => this.#claimFailed(err),
      );
    return this.#claimed(result);
  }

  #claimed(result: ClaimResult): Promise<void> | undefined {
    if (this.#state !== SessionState.Joining) {
      // Closed while the hub was deciding: give the nickname back.
      if (result.ok) void this.ctx.hub.release(this, 'disconnected');
      return undefined;
    }
    if (!result.ok) {
      this.#state = SessionState.Naming;
      this.account = undefined;
      // Before login the answer says how many are online, never who: a refused nickname must not fetch the whole list.
      const users = result.online === 1 ? '1 user' : `${result.online} users`;
      const lookalike = result.holder !== undefined && nickFold(result.holder) !== nickFold(this.nick);
      const why = lookalike ? `looks like "${result.holder}", who is online` : 'is taken';
      this.sendError('NICK_TAKEN', `nickname "${this.nick}" ${why} (${users} online). Send another nickname.`);
      this.nick = '';
      return undefined;
    }
    this.#state = SessionState.Joined;
    this.key = nickKey(this.nick);
    if (this.ctx.history) this.tenure = this.ctx.history.beginTenure(this.key, this.ctx.now(), this.account !== undefined);
    this.onJoined(this);
    this.#logger = undefined;
    if (this.ctx.log.isLevelEnabled('info')) this.log.info('joined');
    const online = this.ctx.hub.online();
    if (online instanceof Promise) return online.then((nicks) => this.#welcome(nicks));
    return this.#welcome(online);
  }

  #claimFailed(err: unknown): void {
    this.log.error({ err }, 'hub could not admit the nickname');
    if (this.#state !== SessionState.Joining) return;
    this.#state = SessionState.Naming;
    this.nick = '';
    if (err instanceof ParleyProtocolError) this.reject(err);
    else this.sendError('SERVER_FULL', 'the server cannot admit new users right now; try again shortly');
  }

  /** A promise when the join history comes from a store that answers later (a cluster): lines after the nickname wait for it. */
  #welcome(online: readonly string[]): Promise<void> | undefined {
    if (this.#state !== SessionState.Joined) return undefined;
    const others = online.length - 1;
    const large = online.length > this.ctx.options.announceLimit;
    const who = others === 0 ? 'Nobody else is' : others === 1 ? '1 other user is' : `${others} other users are`;
    const hint = large ? ' This is a large room: joins and leaves are not announced; type online for the list.' : '';
    this.send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      nick: this.nick,
      text: `Welcome to Parley, ${this.nick}! ${who} online.${hint} Type help for commands.`,
    });
    if (!large) this.send({ type: 'online', nicks: online });
    const count = this.ctx.options.historyOnJoin;
    if (this.ctx.history) {
      // Before any live line: nothing else is written to this session in between. With
      // --history-on-join 0 only `history end join 0 all`: it tells a client this server keeps history.
      const failed = (err: unknown): void => {
        this.log.error({ err }, 'cannot read history for a new user');
        this.send({ type: 'history-end', form: 'join', count: 0, more: false });
      };
      try {
        if (count > 0) return sendHistory(this, this.ctx.history, { form: 'last', count }, 'join')?.catch(failed);
        this.send({ type: 'history-end', form: 'join', count: 0, more: false });
      } catch (err) {
        failed(err);
      }
    }
    return undefined;
  }

  /**
   * Ends the session once (later calls do nothing). With a code, the client is
   * told why in a `bye` line first. Everyone else sees `left` with `reason`.
   */
  close(reason: LeaveReason, code?: ErrorCode, text?: string, destroyNow = false): void {
    if (this.#state === SessionState.Closed) return;
    const was = this.#state;
    this.#state = SessionState.Closed;
    this.#held = [];
    if (this.#promptTimer) clearTimeout(this.#promptTimer);
    if (code) this.ctx.stats.count(this.ctx.stats.disconnects, code);
    if (code && text && !destroyNow) {
      this.#outbox.sendNow(eventFrame({ type: 'bye', code, text }));
      this.stream.end();
      const timer = setTimeout(() => this.stream.destroy(), 2000);
      timer.unref();
      this.stream.once('close', () => clearTimeout(timer));
    } else {
      this.stream.destroy();
    }
    this.#outbox.dispose();
    this.#decoder.reset();
    if (was === SessionState.Joined || was === SessionState.Joining) {
      if (was === SessionState.Joined) {
        this.log.info({ reason }, 'left');
        this.ctx.history?.endTenure(this.key, this.ctx.now());
      }
      void Promise.resolve(this.ctx.hub.release(this, reason, !this.ctx.closing)).catch((err: unknown) =>
        this.log.error({ err }, 'hub could not release the nickname'),
      );
    }
    this.ctx.downloads?.cancelOwner(this.id);
    this.ctx.sharing?.sessionClosed(this.id);
    this.onClosed(this);
  }
}
