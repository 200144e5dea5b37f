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
  /** Stream of broadcasts: delivery to every node, and the room's history. */
  room: `${PREFIX}room`,
  /** Stream of the private messages for the users of one node (delivery only). */
  inbox: (node: string) => `${PREFIX}inbox:${node}`,
  /** Stream of the private messages one nick key sent or received in its current tenure (history only). */
  dm: (key: string) => `${PREFIX}dm:${key}`,
  /** The last message id given out ("<ms>-<n>"): one sequence for the room and every private stream. */
  msgid: `${PREFIX}msgid`,
  /** Hash nickKey -> "<tenure> <released ms, -1 while held>". */
  tenures: `${PREFIX}tenures`,
  tenureSeq: `${PREFIX}tenure-seq`,
} as const;

/** Helpers shared by every script. */
const LIB = `
local P = '${PREFIX}'
local ONLINE = P .. 'online'
local NODES = P .. 'nodes'
local TENURES = P .. 'tenures'

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

-- A nick's tenure (private messages in history are per tenure, PROTOCOL.md §2.3):
-- '<tenure> <released ms>' in TENURES, released -1 while the nick is held.
local function tenureOf(key)
  local rec = redis.call('HGET', TENURES, key)
  if not rec then return nil, nil end
  local sp = string.find(rec, ' ', 1, true)
  return tonumber(string.sub(rec, 1, sp - 1)), tonumber(string.sub(rec, sp + 1))
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
  local tenure = tenureOf(key)
  if tenure then redis.call('HSET', TENURES, key, tenure .. ' ' .. now()) end
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
  -- Held again (a re-assert after the node was reaped keeps the tenure its session has).
  local tenure = tenureOf(key)
  if tenure then redis.call('HSET', TENURES, key, tenure .. ' -1') end
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

/**
 * ARGV: node, member, key, nick, leaseMs, graceMs. Returns [1, seq, tenure] or [0].
 * The tenure goes on when the nick was free for at most graceMs; otherwise a
 * new one begins and the key's private stream (the old tenure's messages,
 * which nobody may read through this key any more) is unlinked.
 */
export const CLAIM = `${LIB}
local node, member, key, nick, lease, grace = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('EXISTS', P .. 'lease:' .. key) == 1 then return {0} end
local tenure, released = tenureOf(key)
if not tenure or (released >= 0 and now() - released > grace) then
  tenure = redis.call('INCR', P .. 'tenure-seq')
  redis.call('UNLINK', P .. 'dm:' .. key)
end
redis.call('HSET', TENURES, key, tenure .. ' -1')
return {1, own(key, node, nick, member, lease, true), tenure}
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
 * nMembers, (key nick live tenure)*nMembers — live is 1 for a member that holds its
 * nick, 0 for one whose claim is still on its way (kept, not re-asserted);
 * tenure is the one its claim got (0: none), written back if Redis lost it.
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
  if ARGV[i + 2] == '1' then table.insert(members, {ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 3])}) end
  i = i + 4
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
  local key, nick, tenure = m[1], m[2], m[3]
  local cur = redis.call('GET', P .. 'lease:' .. key)
  if not cur or cur == node .. ' ' .. nick then
    -- Redis lost the tenure (restarted without its data): the session's goes back, and no later one may repeat it.
    if tenure > 0 and not tenureOf(key) then
      redis.call('HSET', TENURES, key, tenure .. ' -1')
      if tonumber(redis.call('GET', P .. 'tenure-seq') or '0') < tenure then redis.call('SET', P .. 'tenure-seq', tenure) end
    end
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
redis.call('DEL', P .. 'inbox:' .. node)
redis.call('ZREM', NODES, node)
return 1
`;

/** Helpers of the message scripts: one id sequence, and appending with the retention limits. */
const STREAMS = `
local MSGID = P .. 'msgid'

-- The next message id: Redis time in ms, and a counter within one ms. One
-- sequence for every stream, so that ids order the room and the privates together.
local function nextId()
  local t = now()
  local seq = 0
  local last = redis.call('GET', MSGID)
  if last then
    local dash = string.find(last, '-', 1, true)
    local lms = tonumber(string.sub(last, 1, dash - 1))
    if t <= lms then
      t = lms
      seq = tonumber(string.sub(last, dash + 1)) + 1
    end
  end
  local id = string.format('%d-%d', t, seq)
  redis.call('SET', MSGID, id)
  return id, t
end

-- XADD with MAXLEN ~ maxLen, then (maxAge > 0) XTRIM MINID ~ now - maxAge. Both trim whole
-- macro nodes only, so a message costs O(1) amortised and never a long stall.
local function append(stream, id, t, maxLen, maxAge, fields)
  redis.call('XADD', stream, 'MAXLEN', '~', maxLen, id, unpack(fields))
  if maxAge > 0 then redis.call('XTRIM', stream, 'MINID', '~', string.format('%d-0', t - maxAge)) end
end
`;

/**
 * A broadcast into the room stream. ARGV: node, member, nick, text, maxLen,
 * maxAgeMs. Returns the id. Entry fields: n (node), m (member), f (nick), x (text).
 */
export const STREAM_BROADCAST = `${LIB}${STREAMS}
local id, t = nextId()
append(P .. 'room', id, t, tonumber(ARGV[5]), tonumber(ARGV[6]), {'n', ARGV[1], 'm', ARGV[2], 'f', ARGV[3], 'x', ARGV[4]})
return id
`;

/**
 * A private message. ARGV: node, member, fromKey, fromNick, toKey, text,
 * maxLen, maxAgeMs, inboxLen, inboxTtlMs, keep (1: into both parties' private
 * streams for history). Returns [0] when nobody holds toKey, else
 * [1, id, recipient nick]. One id, three copies: the recipient node's inbox
 * (delivery), the sender's and the recipient's private streams (history).
 * Entry fields: f, fk, ft (sender, key, tenure), t, tk, tt (recipient), x
 * (text), and in the inbox n, m (the sending node and member).
 */
export const STREAM_PRIVATE = `${LIB}${STREAMS}
local node, member, fromKey, fromNick, toKey, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local maxLen, maxAge, inboxLen, inboxTtl, keep = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11] == '1'
local owner = redis.call('GET', P .. 'lease:' .. toKey)
if not owner then return {0} end
local toNode, toNick = nickOf(owner)
local ft = tenureOf(fromKey) or 0
local tt = tenureOf(toKey) or 0
local id, t = nextId()
local fields = {'f', fromNick, 'fk', fromKey, 'ft', ft, 't', toNick, 'tk', toKey, 'tt', tt, 'x', text}
local inbox = P .. 'inbox:' .. toNode
redis.call('XADD', inbox, 'MAXLEN', '~', inboxLen, id, 'n', node, 'm', member, unpack(fields))
redis.call('PEXPIRE', inbox, inboxTtl)
if keep then
  append(P .. 'dm:' .. fromKey, id, t, maxLen, maxAge, fields)
  if toKey ~= fromKey then append(P .. 'dm:' .. toKey, id, t, maxLen, maxAge, fields) end
  if maxAge > 0 then
    redis.call('PEXPIRE', P .. 'dm:' .. fromKey, maxAge)
    redis.call('PEXPIRE', P .. 'dm:' .. toKey, maxAge)
  end
end
return {1, id, toNick}
`;

/**
 * A history question. ARGV: key, tenure, form (last | before | after), id
 * ('' for last), count. Returns [room entries, private entries]: at most
 * `count` of each nearest to the point (newest first, oldest first for
 * after); privates only of this tenure. The caller merges them by id.
 */
export const STREAM_HISTORY = `${LIB}
local key, tenure, form, id, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local function slice(stream, from, n)
  if form == 'after' then return redis.call('XRANGE', stream, '(' .. from, '+', 'COUNT', n) end
  if from == '' then return redis.call('XREVRANGE', stream, '+', '-', 'COUNT', n) end
  return redis.call('XREVRANGE', stream, '(' .. from, '-', 'COUNT', n)
end
local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do if f[i] == name then return f[i + 1] end end
  return nil
end
local room = slice(P .. 'room', id, count)
-- A key's private stream holds its current tenure only (a new tenure unlinks it), so this
-- filter rarely drops anything; it is bounded all the same.
local mine = {}
local from = id
for _ = 1, 8 do
  local batch = slice(P .. 'dm:' .. key, from, count)
  for _, e in ipairs(batch) do
    if (field(e, 'fk') == key and field(e, 'ft') == tenure) or (field(e, 'tk') == key and field(e, 'tt') == tenure) then
      table.insert(mine, e)
      if #mine == count then break end
    end
  end
  if #mine == count or #batch < count then break end
  from = batch[#batch][1]
end
return {room, mine}
`;
