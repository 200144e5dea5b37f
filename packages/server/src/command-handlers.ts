import { nickKey, ParleyProtocolError, type Command, type FileEntry, type MessageStamp } from '@parley/protocol';
import type { ServerContext } from './context.js';
import { offerInput } from './downloads.js';
import { sendHistory } from './history/replay.js';
import type { HubMember, StoringHub } from './hub.js';
import type { MessageStore } from './history/message-store.js';
import { moderationHandlers } from './moderation-commands.js';
import type { Session } from './session.js';

/** A handler answers now, or returns a promise; lines after it wait until it settles. */
type Handler<T extends Command['type']> = (session: Session, command: Extract<Command, { type: T }>, ctx: ServerContext) => void | Promise<void>;

const HELP = [
  'commands (type one per line):',
  '  broadcast,<text>   send <text> to everyone',
  '  <nick>,<text>      send <text> to one user only',
  '  online             who is online',
  '  files              the files you can download',
  '  download,<file>    download a file (the transfer needs a Parley client)',
  '  share,<name>,<size>,<sha256>[,<nick>]   share a file with everyone or one user (a Parley client sends it: parley share <file>)',
  '  unshare,<name>     stop sharing a file you shared',
  '  history            the last 50 messages (history,<n> for n; history,before,<id> to page back)',
  '  register,<password>          make your nickname yours (over TLS); next time, log in with it',
  '  password,<old>,<new>         change your password',
  '  unregister,<password>        give your nickname back',
  '  (a private message to a registered user who is offline waits for their next login)',
  'operators only:',
  '  kick,<nick>[,<reason>]                       disconnect a user (they may come back)',
  '  ban,<nick or address>[,<30m|12h|7d>][,<reason>]   keep a user or an address out',
  '  unban,<nick or address>   bans   (list them)',
  '  exit               leave the chat',
];

/** Tells a sender that asked for ids which id its message got. */
function sent(session: Session, stamp: MessageStamp | undefined): void {
  if (stamp && session.ids) session.send({ type: 'sent', ...stamp });
}

/**
 * Messages of one session on their way to a storing hub (Redis). They are
 * pipelined (one connection keeps them in order, and their `sent` answers
 * too); from this many on, the session's next lines wait for the oldest.
 */
export const MAX_STORING_IN_FLIGHT = 32;
const inFlight = new WeakMap<Session, number>();

/** Runs `then` once the storing hub answered; holds the session's next lines only when it has too many on their way. */
function whenStored<T>(session: Session, sending: Promise<T>, then: (value: T) => void): Promise<void> | undefined {
  const n = (inFlight.get(session) ?? 0) + 1;
  inFlight.set(session, n);
  const done = sending
    .then(then, (err: unknown) => unconfirmed(session, err))
    .finally(() => inFlight.set(session, (inFlight.get(session) ?? 1) - 1))
    .catch((err: unknown) => session.log.error({ err }, 'answering a stored message failed'));
  return n >= MAX_STORING_IN_FLIGHT ? done : undefined;
}

/** A hub that stores what it sends (a cluster on streams) could not confirm a message: it may or may not have gone out. */
function unconfirmed(session: Session, err: unknown): void {
  session.log.warn({ err }, 'message not confirmed by the cluster');
  session.sendError('CLUSTER_UNAVAILABLE', 'the cluster did not confirm your message: it may not have reached everyone');
}

const handlers: { [T in Command['type']]: Handler<T> } = {
  broadcast(session, command, ctx) {
    // In a cluster with history, the hub's store is its delivery: the stamp comes once Redis has the message.
    const storing = ctx.history ? ctx.hub.storing : undefined;
    if (storing) return whenStored(session, storing.sendBroadcast(session, command.text), (stamp) => sent(session, stamp));
    // Stored first (staged now, committed before any socket is written), then delivered.
    const stamp = ctx.history?.append(
      { kind: 'broadcast', from: session.nick, fromKey: session.key, fromTenure: session.tenure, text: command.text },
      ctx.now(),
    );
    ctx.hub.broadcast(session, { type: 'broadcast', from: session.nick, text: command.text }, stamp);
    sent(session, stamp);
    return undefined;
  },

  private(session, command, ctx) {
    // In a cluster with history, the hub's store is its delivery (as for broadcast).
    const storing = ctx.history ? ctx.hub.storing : undefined;
    if (storing) return privateThroughStore(session, command, storing);
    if (ctx.history) return privateWithHistory(session, command, ctx, ctx.history);
    // The path of every private message without history: no closure, no context.
    return privateAnswer(session, command.to, command.text, ctx, ctx.hub.privateMessage(session, command.to, command.text), undefined);
  },

  online(session, _command, ctx) {
    const nicks = ctx.hub.online();
    if (!(nicks instanceof Promise)) return session.send({ type: 'online', nicks });
    return nicks.then((n) => session.send({ type: 'online', nicks: n }));
  },

  files(session, _command, ctx) {
    return ctx.files.list().then(
      (files) => session.send({ type: 'files', files: ctx.sharing ? withShared(files, ctx.sharing.list(session.key)) : files }),
      (err: unknown) => {
        session.log.error({ err }, 'cannot list files');
        session.sendError('FILE_UNREADABLE', 'the files folder cannot be read on the server');
      },
    );
  },

  async download(session, command, ctx) {
    try {
      let found = await ctx.files.resolve(command.file);
      const shared = !found.ok && found.error.wireCode === 'FILE_NOT_FOUND' ? ctx.sharing?.resolve(command.file, session.key) : undefined;
      if (shared !== undefined) found = { ok: true, file: shared };
      if (!found.ok) return session.reject(found.error);
      if (!ctx.downloads) return session.sendError('FILE_UNREADABLE', 'downloads are switched off on this server');
      // Over TLS the offer carries a fresh key and every UDP packet of the transfer is sealed;
      // over plain TCP a key would cross in clear text, so the transfer stays as it always was.
      const encrypt = session.transport === 'tls';
      const { id, token, key } = ctx.downloads.offer({ ...offerInput(session.id, found.file), encrypt });
      const { name, size, sha256 } = found.file;
      session.send({ type: 'offer', id, name, size, sha256, token, udpPort: ctx.downloads.port, ...(key !== undefined ? { key } : {}) });
      session.log.info({ file: name, size, transfer: id, encrypted: key !== undefined }, 'download offered');
    } catch (err) {
      if (err instanceof ParleyProtocolError) return session.reject(err);
      session.log.error({ err }, 'download failed');
      session.sendError('FILE_UNREADABLE', 'the file cannot be offered right now');
    }
    return undefined;
  },

  exit(session) {
    session.close('quit', 'QUIT', `goodbye, ${session.nick}`);
  },

  help(session) {
    for (const text of HELP) session.send({ type: 'info', text });
  },

  pong() {
    // Any line counts as a sign of life; a pong has nothing else to do.
  },

  history(session, command, ctx) {
    if (!ctx.history) return session.sendError('HISTORY_OFF', 'this server keeps no history');
    const failed = (err: unknown): void => {
      if (err instanceof ParleyProtocolError) return session.reject(err);
      session.log.error({ err }, 'cannot read history');
      session.sendError('HISTORY_OFF', 'the history cannot be read right now');
    };
    try {
      // A cluster's store answers later (Redis); the next line waits for the answer.
      return sendHistory(session, ctx.history, command.query, command.query.form)?.catch(failed);
    } catch (err) {
      failed(err);
    }
    return undefined;
  },

  ids(session, command, ctx) {
    if (!ctx.history) return session.sendError('HISTORY_OFF', 'this server keeps no history, so its messages have no ids');
    session.ids = command.on;
    session.send({ type: 'ids', on: command.on });
    return undefined;
  },

  async register(session, command, ctx) {
    if (!ctx.accounts) return session.sendError('ACCOUNTS_OFF', 'this server keeps no accounts; your nickname is yours while you are connected');
    if (session.account !== undefined) return session.sendError('ACCOUNT_EXISTS', `you are logged in to "${session.nick}" already`);
    const result = await ctx.accounts.register(session.key, session.nick, command.password, session);
    if (!result.ok) return session.sendError(result.code, result.text);
    session.account = session.key;
    session.log.info('registered');
    session.send({
      type: 'account',
      state: 'registered',
      nick: session.nick,
      text: `"${session.nick}" is yours now: from now on, join with it and then send login,<password>`,
    });
    await session.sendResumeToken();
    return undefined;
  },

  resume(session) {
    session.sendError('BAD_ARGUMENTS', `a resume token logs in right after a registered nickname; "${session.nick}" is in already`);
  },

  login(session) {
    // A login comes right after a registered nickname (the session handles it there); once in, there is nothing to log in to.
    session.sendError(
      'BAD_ARGUMENTS',
      session.account !== undefined
        ? `you are logged in to "${session.nick}" already`
        : `"${session.nick}" is not registered: register,<password> makes it yours`,
    );
  },

  async password(session, command, ctx) {
    if (!ctx.accounts) return session.sendError('ACCOUNTS_OFF', 'this server keeps no accounts');
    if (session.account === undefined) return session.sendError('NOT_LOGGED_IN', 'you are not logged in to an account: register,<password> first');
    const result = await ctx.accounts.changePassword(session.account, command.old, command.new, session);
    if (!result.ok) return session.sendError(result.code, result.text);
    session.log.info('password changed');
    session.send({ type: 'account', state: 'password-changed', nick: session.nick, text: 'your password is changed; use the new one from now on' });
    // Every earlier token is void now; this connection gets a new one.
    await session.sendResumeToken();
    return undefined;
  },

  async unregister(session, command, ctx) {
    if (!ctx.accounts) return session.sendError('ACCOUNTS_OFF', 'this server keeps no accounts');
    if (session.account === undefined) return session.sendError('NOT_LOGGED_IN', 'you are not logged in to an account');
    const result = await ctx.accounts.unregister(session.account, command.password, session);
    if (!result.ok) return session.sendError(result.code, result.text);
    await ctx.waiting?.clear(session.account);
    session.account = undefined;
    session.log.info('unregistered');
    session.send({
      type: 'account',
      state: 'unregistered',
      nick: session.nick,
      text: `"${session.nick}" is no longer registered: once you leave, anyone may take it`,
    });
    return undefined;
  },

  ...moderationHandlers,
  share(session, command, ctx) {
    if (!ctx.sharing) return session.sendError('SHARING_OFF', 'sharing files is switched off on this server');
    return ctx.sharing.share(session, command, ctx);
  },

  unshare(session, command, ctx) {
    if (!ctx.sharing) return session.sendError('SHARING_OFF', 'sharing files is switched off on this server');
    return ctx.sharing.unshare(session, command.name, ctx.moderation?.isOperator(session.account) === true);
  },

  cancel(session, command, ctx) {
    const id = Number(command.transferId);
    if (!ctx.downloads?.cancel(session.id, id) && !ctx.sharing?.cancel(session.id, id)) {
      session.sendError('BAD_ARGUMENTS', `you have no download with id ${command.transferId}`);
    }
  },
};

function privateThroughStore(session: Session, command: { readonly to: string; readonly text: string }, storing: StoringHub): Promise<void> | undefined {
  return whenStored(session, storing.sendPrivate(session, command.to, command.text), (r) =>
    r.delivered ? sent(session, r.stamp) : unknownUser(session, command.to),
  );
}

/** Stored once the recipient is found, before its copy is delivered; a message to nobody is not stored. */
function privateWithHistory(
  session: Session,
  command: { readonly to: string; readonly text: string },
  ctx: ServerContext,
  history: MessageStore,
): Promise<void> | undefined {
  const stored: { stamp?: MessageStamp } = {};
  const store = (recipient: HubMember): MessageStamp => {
    const toKey = nickKey(recipient.nick);
    const message = {
      kind: 'private',
      from: session.nick,
      fromKey: session.key,
      fromTenure: session.tenure,
      to: recipient.nick,
      toKey,
      toTenure: history.tenureOf(toKey) ?? 0,
      text: command.text,
    } as const;
    stored.stamp = history.append(message, ctx.now());
    return stored.stamp;
  };
  return privateAnswer(session, command.to, command.text, ctx, ctx.hub.privateMessage(session, command.to, command.text, store), stored);
}

/** Answers the sender once the hub said whether `to` was online (`stored.stamp`: the message's id and time, once stored). */
function privateAnswer(
  session: Session,
  to: string,
  text: string,
  ctx: ServerContext,
  delivered: boolean | Promise<boolean>,
  stored: { readonly stamp?: MessageStamp } | undefined,
): Promise<void> | undefined {
  if (!(delivered instanceof Promise)) return privateDone(session, to, text, ctx, delivered, stored?.stamp);
  return delivered.then(
    (ok) => privateDone(session, to, text, ctx, ok, stored?.stamp),
    (err: unknown) => {
      session.log.error({ err }, 'private message delivery failed');
      unknownUser(session, to);
    },
  );
}

/** A private message reached `to` (`ok`), or found nobody online. */
function privateDone(session: Session, to: string, text: string, ctx: ServerContext, ok: boolean, stamp: MessageStamp | undefined): Promise<void> | undefined {
  if (!ok) return leaveWaiting(session, to, text, ctx);
  sent(session, stamp);
  return undefined;
}

function unknownUser(session: Session, to: string): void {
  session.sendError('UNKNOWN_USER', `no user "${to}" is online; your message was not sent (type online to see who is)`);
}

/**
 * A private message found nobody online: to a registered nickname it waits
 * for the owner's next login (the sender is told); to anyone else it is
 * UNKNOWN_USER as it always was.
 */
async function leaveWaiting(session: Session, to: string, text: string, ctx: ServerContext): Promise<void> {
  const toKey = nickKey(to);
  const account = ctx.waiting ? ctx.accounts?.registered(toKey) : undefined;
  if (!account || !ctx.waiting) return unknownUser(session, to);
  try {
    const left = await ctx.waiting.leave(toKey, account.nick, { nick: session.nick, key: session.key }, text, ctx.now());
    if (!left.ok) return session.sendError('WAITING_FULL', left.text);
    session.send({
      type: 'waiting',
      to: account.nick,
      count: left.count,
      text: `"${account.nick}" is offline; your message waits for them and is delivered when they next log in`,
    });
  } catch (err) {
    session.log.error({ err }, 'cannot keep a waiting message');
    unknownUser(session, to);
  }
}

/** The operator's files and the shared ones this user may see, by name; an operator's file wins a clash. */
function withShared(files: readonly FileEntry[], shared: readonly FileEntry[]): FileEntry[] {
  if (shared.length === 0) return [...files];
  const taken = new Set(files.map((f) => f.name));
  const all = [...files, ...shared.filter((f) => !taken.has(f.name))];
  return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The one dispatcher: one handler per command. */
export function handleCommand(session: Session, command: Command, ctx: ServerContext): Promise<void> | undefined {
  return (handlers[command.type] as Handler<typeof command.type>)(session, command as never, ctx) ?? undefined;
}
