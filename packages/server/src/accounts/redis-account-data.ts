import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Account, AccountStore } from './account-store.js';
import type { Ban } from './ban-list.js';
import type { BanChange, EvictCode, ModerationBus, ModerationListener } from './moderation-bus.js';
import type { BanStore, WaitingMessage, WaitingStore } from './moderation-store.js';
import type { TokenStore } from './resume-tokens.js';

/** Same hash tag as the cluster hub's keys (one Redis Cluster slot for all of them). */
const P = '{parley}:';
const KEYS = {
  accounts: `${P}accounts`,
  bans: `${P}bans`,
  waiting: (key: string) => `${P}waiting:${key}`,
  tokens: (key: string) => `${P}tokens:${key}`,
  waitingSeq: `${P}waiting-seq`,
  /** Account changes (the key) and moderation messages (JSON), for every node. */
  channel: `${P}accounts-bus`,
} as const;

/** HGET then HDEL, at once: a token is used once even when two nodes see it together. */
const TAKE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v`;

/** Pops the head of a waiting list while its id is at most ARGV[1]. */
const REMOVE_UP_TO = `
local n = 0
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  if tonumber(cjson.decode(head).id) > tonumber(ARGV[1]) then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n`;

type BusMessage =
  | { readonly t: 'account'; readonly key: string }
  | { readonly t: 'evict'; readonly key: string; readonly code: EvictCode; readonly text: string; readonly from: string }
  | { readonly t: 'ban'; readonly change: BanChange; readonly from: string };

/**
 * Accounts, bans and waiting messages of a cluster, in Redis (`--cluster`):
 * a login is valid on every node, a ban holds on every node, a message waits
 * for its account wherever it logs in next. Each node keeps a copy of the
 * accounts and bans (read at start and after every reconnect, kept current by
 * a channel) so a nickname is checked without a round trip; writes go to
 * Redis first (HSETNX makes a registration race between nodes safe).
 */
export class RedisAccountData {
  readonly #cmd: Redis;
  readonly #sub: Redis;
  readonly #log: Logger;
  readonly #node: string;
  readonly #accounts = new Map<string, Account>();
  #bans: Ban[] = [];
  #listener: ModerationListener | undefined;
  #closed = false;

  private constructor(url: string, node: string, log: Logger) {
    this.#node = node;
    this.#log = log;
    const common = { connectionName: `parley-accounts:${node}`, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(50 * n, 1000) };
    this.#cmd = new Redis(url, { ...common, lazyConnect: true });
    this.#sub = new Redis(url, { ...common, lazyConnect: true });
    this.#cmd.defineCommand('parleyWaitingRemove', { numberOfKeys: 1, lua: REMOVE_UP_TO });
    this.#cmd.defineCommand('parleyTake', { numberOfKeys: 1, lua: TAKE });
    this.#cmd.on('error', (err: Error) => this.#log.debug({ err: err.message }, 'accounts link error'));
    this.#sub.on('error', (err: Error) => this.#log.debug({ err: err.message }, 'accounts subscriber error'));
    this.#sub.on('message', (_channel: string, text: string) => this.#heard(text));
    // After a reconnect the channel may have missed changes: read everything again.
    this.#sub.on('ready', () => {
      if (this.#loadedOnce) void this.#reload();
    });
  }

  #loadedOnce = false;

  /** Connects, reads the accounts and bans, and subscribes. */
  static async open(url: string, node: string, log: Logger): Promise<RedisAccountData> {
    const data = new RedisAccountData(url, node, log);
    await data.#cmd.connect();
    await data.#sub.connect();
    await data.#sub.subscribe(KEYS.channel);
    await data.#reload();
    data.#loadedOnce = true;
    return data;
  }

  async #reload(): Promise<void> {
    try {
      const [accounts, bans] = await Promise.all([this.#cmd.hgetall(KEYS.accounts), this.#cmd.hgetall(KEYS.bans)]);
      this.#accounts.clear();
      for (const [key, json] of Object.entries(accounts)) this.#accounts.set(key, JSON.parse(json) as Account);
      this.#bans = Object.values(bans).map((json) => JSON.parse(json) as Ban);
      for (const ban of this.#bans) this.#listener?.banChanged({ op: 'put', ban });
    } catch (err) {
      this.#log.warn({ err }, 'could not read the accounts from Redis; keeping the copy this node has');
    }
  }

  #heard(text: string): void {
    let m: BusMessage;
    try {
      m = JSON.parse(text) as BusMessage;
    } catch {
      return;
    }
    if (m.t === 'account') {
      this.#cmd.hget(KEYS.accounts, m.key).then(
        (json) => {
          if (json === null) this.#accounts.delete(m.key);
          else this.#accounts.set(m.key, JSON.parse(json) as Account);
        },
        (err: unknown) => this.#log.warn({ err }, 'could not refresh an account'),
      );
    } else if (m.from !== this.#node) {
      if (m.t === 'evict') this.#listener?.evict(m.key, m.code, m.text);
      else this.#listener?.banChanged(m.change);
    }
  }

  async #publish(m: BusMessage): Promise<void> {
    await this.#cmd.publish(KEYS.channel, JSON.stringify(m));
  }

  readonly accounts: AccountStore = ((data: RedisAccountData): AccountStore => ({
    get: (key) => data.#accounts.get(key),
    create: async (account) => {
      const made = (await data.#cmd.hsetnx(KEYS.accounts, account.key, JSON.stringify(account))) === 1;
      if (made) {
        data.#accounts.set(account.key, account);
        await data.#publish({ t: 'account', key: account.key });
      }
      return made;
    },
    setHash: async (key, hash) => {
      const account = data.#accounts.get(key);
      if (!account) return;
      const next = { ...account, hash };
      await data.#cmd.hset(KEYS.accounts, key, JSON.stringify(next));
      data.#accounts.set(key, next);
      await data.#publish({ t: 'account', key });
    },
    remove: async (key) => {
      const gone = (await data.#cmd.hdel(KEYS.accounts, key)) === 1;
      data.#accounts.delete(key);
      await data.#publish({ t: 'account', key });
      return gone;
    },
    get count() {
      return data.#accounts.size;
    },
    // The connections are closed with the rest (close()).
    close: () => undefined,
  }))(this);

  readonly bans: BanStore = {
    all: () => [...this.#bans],
    put: async (ban) => {
      await this.#cmd.hset(KEYS.bans, `${ban.kind}:${ban.target}`, JSON.stringify(ban));
    },
    remove: async (kind, target) => {
      await this.#cmd.hdel(KEYS.bans, `${kind}:${target}`);
    },
  };

  readonly tokens: TokenStore = {
    add: async (key, hash, expires) => {
      await this.#cmd.hset(KEYS.tokens(key), hash, String(expires));
    },
    take: async (key, hash) => {
      const v = await (this.#cmd as unknown as { parleyTake(k: string, f: string): Promise<string | null> }).parleyTake(KEYS.tokens(key), hash);
      return v === null ? undefined : Number(v);
    },
    list: async (key) =>
      Object.entries(await this.#cmd.hgetall(KEYS.tokens(key)))
        .map(([hash, expires]) => ({ hash, expires: Number(expires) }))
        .sort((a, b) => a.expires - b.expires),
    remove: async (key, hash) => {
      await this.#cmd.hdel(KEYS.tokens(key), hash);
    },
    clear: async (key) => {
      await this.#cmd.del(KEYS.tokens(key));
    },
  };

  readonly waiting: WaitingStore = {
    add: async (toKey, message) => {
      const id = await this.#cmd.incr(KEYS.waitingSeq);
      await this.#cmd.rpush(KEYS.waiting(toKey), JSON.stringify({ ...message, id }));
    },
    count: async (toKey, fromKey) => {
      const all = await this.#waitingList(toKey);
      return { all: all.length, from: all.filter((m) => m.fromKey === fromKey).length };
    },
    list: (toKey) => this.#waitingList(toKey),
    remove: async (toKey, lastId) => {
      await (this.#cmd as unknown as { parleyWaitingRemove(key: string, id: number): Promise<number> }).parleyWaitingRemove(KEYS.waiting(toKey), lastId);
    },
    clear: async (toKey) => {
      await this.#cmd.del(KEYS.waiting(toKey));
    },
  };

  async #waitingList(toKey: string): Promise<WaitingMessage[]> {
    const rows = await this.#cmd.lrange(KEYS.waiting(toKey), 0, -1);
    return rows.map((json) => JSON.parse(json) as WaitingMessage);
  }

  readonly bus: ModerationBus = {
    evict: (key, code, text) => this.#publish({ t: 'evict', key, code, text, from: this.#node }),
    banChanged: (change) => this.#publish({ t: 'ban', change, from: this.#node }),
    listen: (listener) => {
      this.#listener = listener;
    },
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sub.disconnect();
    this.#cmd.disconnect();
  }
}
