/**
 * The Lua scripts the Redis hub runs. Every change to who is online happens
 * inside one of them, atomically, and is published on the bus channel with a
 * number from one counter, so every node sees presence changes in one order
 * and can tell when it missed one.
 *
 * Keys (all under the hash tag `{parley}`, so they share one slot):
 * - `{parley}:lease:<nickKey>`  string "<node> <nick>", PX leaseMs: the lease.
 * - `{parley}:online`           hash nickKey -> "<node> <nick>": who is online.
 * - `{parley}:roster:<node>`    set of nickKeys the node holds.
 * - `{parley}:nodes`            zset node -> deadline (Redis ms) of its lease.
 * - `{parley}:seq`              counter of presence events.
 * Channels: `{parley}:bus` (everything for everyone), `{parley}:node:<node>`.
 *
 * Bus messages are JSON objects made with `cjson.encode` (see wire.ts), so
 * no nick, key or text can change their structure: `{"k":"J",…}` (joined),
 * `{"k":"L",…}` (left), `{"k":"P",…}` (private, on the node's channel);
 * broadcasts are published by the hub itself (`B<json header>\n<event>`).
 * Owner strings ("<node> <nick>") are split at the first space: node ids and
 * nicks have none (the CLI and checkNickname refuse them).
 */

export const PREFIX = '{parley}:';

export const keys = {
  online: `${PREFIX}online`,
  nodes: `${PREFIX}nodes`,
  seq: `${PREFIX}seq`,
  bus: `${PREFIX}bus`,
  lease: (key: string) => `${PREFIX}lease:${key}`,
  roster: (node: string) => `${PREFIX}roster:${node}`,
  nodeChannel: (node: string) => `${PREFIX}node:${node}`,
} as const;

/** Helpers shared by every script. */
const LIB = `
local P = '${PREFIX}'
local ONLINE = P .. 'online'
local NODES = P .. 'nodes'

local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ownedBy(owner, node)
  return owner and string.sub(owner, 1, #node + 1) == node .. ' '
end

local function nickOf(owner)
  local sp = string.find(owner, ' ', 1, true)
  return string.sub(owner, 1, sp - 1), string.sub(owner, sp + 1)
end

local function publishLeft(node, key, nick, reason)
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('PUBLISH', P .. 'bus', cjson.encode({k = 'L', seq = seq, node = node, key = key, nick = nick, reason = reason}))
end

-- Takes 'owner' off the online list (its lease too, if still its own) and
-- tells everyone. Does nothing when the online entry is not 'owner'.
local function drop(key, owner, reason)
  local lease = P .. 'lease:' .. key
  if redis.call('GET', lease) == owner then redis.call('DEL', lease) end
  local node, nick = nickOf(owner)
  redis.call('SREM', P .. 'roster:' .. node, key)
  if redis.call('HGET', ONLINE, key) ~= owner then return 0 end
  redis.call('HDEL', ONLINE, key)
  publishLeft(node, key, nick, reason)
  return 1
end

-- Gives 'key' to 'owner' (the caller has checked the lease is free or
-- its own) and tells everyone unless the online list already says so.
local function own(key, node, nick, member, lease, always)
  local owner = node .. ' ' .. nick
  redis.call('SET', P .. 'lease:' .. key, owner, 'PX', lease)
  redis.call('SADD', P .. 'roster:' .. node, key)
  local old = redis.call('HGET', ONLINE, key)
  if old == owner and not always then return 0 end
  if old and old ~= owner then drop(key, old, 'timeout') end
  redis.call('HSET', ONLINE, key, owner)
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('PUBLISH', P .. 'bus', cjson.encode({k = 'J', seq = seq, node = node, member = member, key = key, nick = nick}))
  return seq
end

-- Every node whose lease ran out (no heartbeat for leaseMs) leaves, with
-- all its users ('left <nick> timeout' for each).
local function reap(self, t)
  local dead = redis.call('ZRANGEBYSCORE', NODES, '-inf', t)
  local n = 0
  for _, node in ipairs(dead) do
    if node ~= self then
      local roster = P .. 'roster:' .. node
      for _, key in ipairs(redis.call('SMEMBERS', roster)) do
        local owner = redis.call('HGET', ONLINE, key)
        if ownedBy(owner, node) then n = n + drop(key, owner, 'timeout') end
      end
      redis.call('DEL', roster)
      redis.call('ZREM', NODES, node)
    end
  end
  return n
end
`;

/** ARGV: node, member, key, nick, leaseMs. Returns [1, seq] or [0]. */
export const CLAIM = `${LIB}
local node, member, key, nick, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('EXISTS', P .. 'lease:' .. key) == 1 then return {0} end
return {1, own(key, node, nick, member, lease, true)}
`;

/** ARGV: node, key, nick, reason. Returns 1 when the nick was released (and announced). */
export const RELEASE = `${LIB}
return drop(ARGV[2], ARGV[1] .. ' ' .. ARGV[3], ARGV[4])
`;

/**
 * The heartbeat. ARGV: node, leaseMs. Renews the node's lease and each of its
 * nick leases, reaps dead nodes, and publishes `H` on the node's own channel. Returns [registered, reaped, lost keys...]:
 * registered is 1 when the node was not in the node set (reaped, or Redis
 * lost its data), which calls for a full sync; lost keys are nicks this node
 * no longer holds.
 */
export const HEARTBEAT = `${LIB}
local node, lease = ARGV[1], tonumber(ARGV[2])
local t = now()
local registered = redis.call('ZADD', NODES, t + lease, node)
local reaped = reap(node, t)
-- An echo on the node's own channel: proof that its subscriber still hears Redis.
redis.call('PUBLISH', P .. 'node:' .. node, 'H')
local out = {registered, reaped}
local roster = P .. 'roster:' .. node
for _, key in ipairs(redis.call('SMEMBERS', roster)) do
  local owner = redis.call('HGET', ONLINE, key)
  local leaseKey = P .. 'lease:' .. key
  local cur = redis.call('GET', leaseKey)
  if ownedBy(owner, node) and cur == owner then
    redis.call('PEXPIRE', leaseKey, lease)
  elseif ownedBy(owner, node) and not cur then
    redis.call('SET', leaseKey, owner, 'PX', lease)
  else
    redis.call('SREM', roster, key)
    table.insert(out, key)
  end
end
return out
`;

/**
 * The full sync, run when a node (re)connects or missed something.
 * ARGV: node, leaseMs, nReleases, (key nick reason)*nReleases,
 * nMembers, (key nick live)*nMembers — live is 1 for a member that holds its
 * nick, 0 for one whose claim is still on its way (kept, not re-asserted).
 * Releases that could not be sent are done; nicks of the node that it no
 * longer has are released; its members' leases are re-asserted (announced
 * as joined when the online list lacked them); dead nodes are reaped.
 * Returns [seq, [lost keys], [online hash flat], registered (1: the node was not in the node set)].
 */
export const SYNC = `${LIB}
local node, lease = ARGV[1], tonumber(ARGV[2])
local t = now()
local registered = redis.call('ZADD', NODES, t + lease, node)
redis.call('PUBLISH', P .. 'node:' .. node, 'H')
local i = 3
local nReleases = tonumber(ARGV[i]); i = i + 1
for _ = 1, nReleases do
  drop(ARGV[i], node .. ' ' .. ARGV[i + 1], ARGV[i + 2])
  i = i + 3
end
local nMembers = tonumber(ARGV[i]); i = i + 1
local mine = {}
local members = {}
for _ = 1, nMembers do
  mine[ARGV[i]] = true
  if ARGV[i + 2] == '1' then table.insert(members, {ARGV[i], ARGV[i + 1]}) end
  i = i + 3
end
local roster = P .. 'roster:' .. node
for _, key in ipairs(redis.call('SMEMBERS', roster)) do
  if not mine[key] then
    local owner = redis.call('HGET', ONLINE, key)
    if ownedBy(owner, node) then drop(key, owner, 'disconnected') else redis.call('SREM', roster, key) end
  end
end
local lost = {}
for _, m in ipairs(members) do
  local key, nick = m[1], m[2]
  local cur = redis.call('GET', P .. 'lease:' .. key)
  if not cur or cur == node .. ' ' .. nick then
    own(key, node, nick, '-', lease, false)
  else
    table.insert(lost, key)
  end
end
reap(node, t)
return {tonumber(redis.call('GET', P .. 'seq') or '0'), lost, redis.call('HGETALL', ONLINE), registered}
`;

/** ARGV: key, from, text. Publishes `{"k":"P",…}` to the node holding the nick; returns receivers (0: nobody). */
export const PRIVATE = `${LIB}
local owner = redis.call('GET', P .. 'lease:' .. ARGV[1])
if not owner then return 0 end
local node = nickOf(owner)
return redis.call('PUBLISH', P .. 'node:' .. node, cjson.encode({k = 'P', key = ARGV[1], from = ARGV[2], text = ARGV[3]}))
`;

/** ARGV: node. A node leaving cleanly: its users leave (`shutdown`), it leaves the node set. */
export const GOODBYE = `${LIB}
local node = ARGV[1]
local roster = P .. 'roster:' .. node
for _, key in ipairs(redis.call('SMEMBERS', roster)) do
  local owner = redis.call('HGET', ONLINE, key)
  if ownedBy(owner, node) then drop(key, owner, 'shutdown') end
end
redis.call('DEL', roster)
redis.call('ZREM', NODES, node)
return 1
`;
