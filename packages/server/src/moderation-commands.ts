import { nickKey, type BanInfo, type Command, type ServerEvent } from '@parley/protocol';
import { BanList, type Ban } from './accounts/ban-list.js';
import { isLoopback } from './accounts/accounts.js';
import { Moderation } from './accounts/moderation.js';
import type { ServerContext } from './context.js';
import type { Session } from './session.js';

type ModerationCommand = Extract<Command, { type: 'kick' | 'ban' | 'unban' | 'bans' }>;

/** Most bans one `bans` answer lists (the count at the end is always the whole number). */
const BANS_LISTED = 1000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The moderation object when `session` is an operator; otherwise answers NOT_OPERATOR. */
function operator(session: Session, ctx: ServerContext, word: string): Moderation | undefined {
  const m = ctx.moderation;
  if (!m) {
    session.sendError('NOT_OPERATOR', `${word} is for operators, and this server has none (it keeps no accounts)`);
    return undefined;
  }
  if (!m.isOperator(session.account)) {
    const why = session.account === undefined ? 'you are not logged in to an account' : `"${session.nick}" is not one of this server's operators`;
    session.sendError('NOT_OPERATOR', `${word} is for operators (accounts named in the server's config); ${why}`);
    return undefined;
  }
  return m;
}

/** Tells everyone (the operator included) about a moderation action. */
function announce(session: Session, ctx: ServerContext, event: ServerEvent): void {
  ctx.hub.broadcast(session, event);
  session.send(event);
}

/** The joined or waiting connections of this node that `match`, `except` excluded. */
function connections(except: Session | undefined, ctx: ServerContext, match: (s: Session) => boolean): Session[] {
  const found: Session[] = [];
  for (const s of ctx.sessions?.() ?? []) if (s !== except && s.state !== 'closed' && match(s)) found.push(s);
  return found;
}

function publicBan(ban: Ban): BanInfo {
  return {
    kind: ban.kind,
    // An address is for operators' eyes (the `bans` list); everyone else learns that one was banned, not which.
    target: ban.kind === 'nick' ? ban.label : '',
    by: ban.by,
    ...(ban.until !== undefined ? { until: iso(ban.until) } : {}),
    reason: ban.reason,
  };
}

/** Closes every connection of this node the ban covers (but `except`, the operator), each told why; their nicks. */
export function enforceBan(except: Session | undefined, ctx: ServerContext, ban: Ban): string[] {
  const until = ban.until === undefined ? '' : ` until ${iso(ban.until)}`;
  const text = `you are banned from this server${until} by ${ban.by}${ban.reason ? `: ${ban.reason}` : ''}`;
  const hit = connections(except, ctx, (s) => {
    const key = s.state === 'joined' ? s.key : undefined;
    const found = ctx.moderation?.match(key, s.address);
    return found !== undefined && found.kind === ban.kind && found.target === ban.target;
  });
  for (const s of hit) s.close('kicked', 'BANNED', text);
  return hit.filter((s) => s.nick).map((s) => s.nick);
}

export const moderationHandlers: {
  [T in ModerationCommand['type']]: (session: Session, command: Extract<ModerationCommand, { type: T }>, ctx: ServerContext) => void | Promise<void>;
} = {
  async kick(session, command, ctx) {
    const m = operator(session, ctx, 'kick');
    if (!m) return;
    const key = nickKey(command.nick);
    if (key === session.key) return session.sendError('BAD_ARGUMENTS', 'you cannot kick yourself; type exit to leave');
    const text = `${session.nick} removed you from the chat${command.reason ? `: ${command.reason}` : ''}; you may join again`;
    const [target] = connections(session, ctx, (s) => s.state === 'joined' && s.key === key);
    // On another node of a cluster: the node holding the nickname closes it.
    const elsewhere = !target && ctx.bus ? (await ctx.hub.online()).find((n) => nickKey(n) === key) : undefined;
    const nick = target?.nick ?? elsewhere;
    if (nick === undefined) return session.sendError('UNKNOWN_USER', `no user "${command.nick}" is online; nobody was kicked`);
    m.stats.kicks += 1;
    session.log.info({ target: nick }, 'kicked');
    announce(session, ctx, { type: 'kicked', nick, by: session.nick, reason: command.reason });
    if (target) target.close('kicked', 'KICKED', text);
    else await ctx.bus?.evict(key, 'KICKED', text);
  },

  async ban(session, command, ctx) {
    const m = operator(session, ctx, 'ban');
    if (!m) return;
    const target = Moderation.target(command.target);
    if (!target.ok) return session.sendError('BAD_ARGUMENTS', target.text);
    const ms = Moderation.duration(command.duration);
    if (ms === null)
      return session.sendError('BAD_ARGUMENTS', `"${command.duration}" is not a duration: use 90s, 30m, 12h or 7d (up to 3650d), or none for until lifted`);
    const now = ctx.now();
    const base = { by: session.nick, reason: command.reason, at: now, until: ms === undefined ? undefined : now + ms };
    const bans: Ban[] = [];
    if (target.kind === 'address') {
      // A range that covers the operator's own address would cut them off with everyone else.
      const probe = new BanList();
      probe.add({ kind: 'address', target: target.key, label: target.label, ...base, until: undefined });
      if (probe.match(undefined, session.address)) return session.sendError('BAD_ARGUMENTS', `${target.label} covers your own address; nothing was banned`);
      bans.push({ kind: 'address', target: target.key, label: target.label, ...base });
    } else {
      if (target.key === session.key) return session.sendError('BAD_ARGUMENTS', 'you cannot ban yourself');
      if (m.isOperator(target.key))
        return session.sendError('BAD_ARGUMENTS', `"${target.nick}" is an operator: take them off the server's operators list first`);
      bans.push({ kind: 'nick', target: target.key, label: target.nick, ...base });
      // Whoever holds the nickname now is kept out by address too (a nick ban alone is evaded by a new nick),
      // unless that address is loopback or the operator's own: those are shared with people who did nothing.
      for (const s of connections(session, ctx, (c) => c.state === 'joined' && c.key === target.key)) {
        const address = s.address?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/iu, '');
        if (address === undefined || isLoopback(address) || address === session.address?.replace(/^::ffff:/iu, '')) continue;
        bans.push({
          kind: 'address',
          target: address.toLowerCase(),
          label: address.toLowerCase(),
          ...base,
          reason: base.reason || `address of ${target.nick}`,
        });
      }
    }
    for (const ban of bans) {
      if (!(await m.add(ban))) return session.sendError('BAD_ARGUMENTS', 'the server holds as many bans as it can; lift some (unban) first');
    }
    const [main, ...alsoAddresses] = bans as [Ban, ...Ban[]];
    session.log.info({ kind: main.kind, target: main.label, until: main.until }, 'banned');
    announce(session, ctx, { type: 'banned', ban: publicBan(main) });
    const removed = new Set<string>();
    for (const ban of bans) {
      for (const nick of enforceBan(session, ctx, ban)) removed.add(nick);
      await ctx.bus?.banChanged({ op: 'put', ban });
    }
    const also = alsoAddresses.length > 0 ? `; also banned their address ${alsoAddresses.map((b) => b.label).join(', ')} (unban,<address> lifts it)` : '';
    const who = removed.size > 0 ? `; disconnected ${[...removed].join(', ')}` : '';
    session.send({ type: 'info', text: `banned ${main.label}${main.until !== undefined ? ` until ${iso(main.until)}` : ' until lifted'}${also}${who}` });
  },

  async unban(session, command, ctx) {
    const m = operator(session, ctx, 'unban');
    if (!m) return;
    const target = Moderation.target(command.target);
    if (!target.ok) return session.sendError('BAD_ARGUMENTS', target.text);
    const lifted = await m.remove(target.kind, target.key);
    if (!lifted) return session.sendError('BAD_ARGUMENTS', `there is no ban on ${command.target}; type bans for the list`);
    session.log.info({ kind: lifted.kind, target: lifted.label }, 'unbanned');
    await ctx.bus?.banChanged({ op: 'remove', kind: lifted.kind, target: lifted.target });
    announce(session, ctx, { type: 'unbanned', kind: lifted.kind, target: lifted.kind === 'nick' ? lifted.label : '', by: session.nick });
  },

  bans(session, _command, ctx) {
    const m = operator(session, ctx, 'bans');
    if (!m) return;
    const all = m.list();
    for (const ban of all.slice(0, BANS_LISTED)) {
      session.send({
        type: 'ban',
        ban: {
          kind: ban.kind,
          target: ban.label,
          by: ban.by,
          at: iso(ban.at),
          ...(ban.until !== undefined ? { until: iso(ban.until) } : {}),
          reason: ban.reason,
        },
      });
    }
    session.send({ type: 'bans', count: all.length });
  },
};
