#!lua name=ladder
--[[
ladder's Redis Functions: the atomic step of one batch of one partition
(DESIGN.md, guarantees 1-3). Every key of a partition shares one hash tag,
ldr:{pN.S}:..., so the step touches one cluster slot.

ladder_step checks, before its first write, that the caller still owns the
partition (the owner epoch) and that the stored next offset is the first
offset of the batch (compare-and-set); a failed check writes nothing and
returns an error starting with FENCED. A function that failed half-way
would not be rolled back (PITFALLS.md), so every check comes first and every
write after it is unconditional.

KEYS: 1 meta (hash: epoch, next_offset, clock, heartbeat), 2 enterprises (hash: USCC ->
state), 3 timers (zset: "USCC:tier:kind" -> due; the worker now sends both
timer lists empty, since the states hold the timers; kept for the workers
of the version before during a rolling upgrade), 4 outbox (stream: the
worker sends an empty payload, since it publishes a batch before it commits
it; kept like the timers),
5 counters (hash), 6 notices (stream).
ARGV: epoch, first_offset, next_offset, clock,
      n, then n (USCC, state) pairs,
      n, then n (due, member) pairs to add,
      n, then n members to remove,
      the counters: n, then n (field, delta) pairs to add; or "=S/D",
      then S (field, value) pairs to set and D fields to delete (the
      worker that read the counters when it took the partition sends
      their values: one HSET, where the deltas cost a call each),
      outbox payload ("" for none),
      n, then n (entry id, notice) pairs, the notice in its compact
      form (decision.h; JSON text from an earlier version), notices_maxlen.
Notice entry ids are "<offset + 1>-<n>" of the message that caused the
decision: they follow the log, not the batch boundaries.
--]]

-- Lua's unpack has a stack limit: write args[from..to] in slices (of an
-- even size, so pairs stay together). The arguments are passed on as they
-- came, never copied into tables first.
local function bulk(cmd, key, args, from, to)
  local slice = 1000
  for i = from, to, slice do
    redis.call(cmd, key, unpack(args, i, math.min(i + slice - 1, to)))
  end
end

local function step(keys, args)
  local meta = redis.call('HMGET', keys[1], 'epoch', 'next_offset')
  if meta[1] ~= args[1] then
    return redis.error_reply('FENCED owner epoch is ' .. tostring(meta[1]) ..
                             ', not ' .. args[1])
  end
  -- Nothing stored yet means offset 0: a partition's batches are in
  -- flight two at a time, and the second must never be taken when the
  -- first was not (its state changes would be missing).
  local stored = meta[2] or '0'
  if stored ~= args[2] then
    return redis.error_reply('FENCED stored next offset is ' .. stored ..
                             ', batch starts at ' .. args[2])
  end

  -- Where each list lies in args: [from, to], empty when to < from.
  local i = 5
  local function span(width)
    local n = tonumber(args[i])
    local from = i + 1
    i = from + width * n
    return from, i - 1
  end
  local states_from, states_to = span(2)
  local add_from, add_to = span(2)
  local del_from, del_to = span(1)
  local count_from, count_to, zero_from, zero_to
  if string.byte(args[i], 1) == 61 then -- "=S/D"
    local set, del = string.match(args[i], '^=(%d+)/(%d+)$')
    count_from = i + 1
    count_to = count_from + 2 * tonumber(set) - 1
    zero_from, zero_to = count_to + 1, count_to + tonumber(del)
    i = zero_to + 1
  else
    count_from, count_to = span(2)
  end
  local outbox = args[i]; i = i + 1
  local notice_from, notice_to = span(2)
  local notices_maxlen = args[i]

  if states_to >= states_from then
    bulk('HSET', keys[2], args, states_from, states_to)
  end
  if del_to >= del_from then bulk('ZREM', keys[3], args, del_from, del_to) end
  if add_to >= add_from then bulk('ZADD', keys[3], args, add_from, add_to) end
  -- A counter back at zero is removed, so that the hash is the same
  -- whatever the batch boundaries were.
  if zero_from then
    if count_to >= count_from then
      bulk('HSET', keys[5], args, count_from, count_to)
    end
    if zero_to >= zero_from then bulk('HDEL', keys[5], args, zero_from, zero_to) end
  else
    for k = count_from, count_to, 2 do
      if redis.call('HINCRBY', keys[5], args[k], args[k + 1]) == 0 then
        redis.call('HDEL', keys[5], args[k])
      end
    end
  end
  -- Entry ids follow the log, so a replay writes the same ids.
  if outbox ~= '' then
    redis.call('XADD', keys[4], args[3] .. '-0', 'payload', outbox)
  end
  for k = notice_from, notice_to, 2 do
    redis.call('XADD', keys[6], 'MAXLEN', '~', notices_maxlen,
               args[k], 'decision', args[k + 1])
  end
  redis.call('HSET', keys[1], 'next_offset', args[3], 'clock', args[4])
  return 'OK'
end

-- The move from the layout before placement (ldr:{pN}:...) to the placed
-- names (ldr:{pN.S}:..., store.h), called by ldr_store_claim().
--
-- ladder_migrate, on one plain server only (its keys lie in two slots):
-- KEYS 1-6 the placed names, 7-12 the old ones, in the step's order. When
-- the placed meta is absent and the old one exists, RENAMEs every old key
-- that exists; keys of the old layout beside a placed meta are leftovers
-- and are deleted. Returns {moved, deleted}. One call, so atomic.
local function migrate(keys)
  local moved, deleted = 0, 0
  if redis.call('EXISTS', keys[7]) == 0 then return {0, 0} end
  local placed = redis.call('EXISTS', keys[1]) == 1
  for k = 1, 6 do
    if redis.call('EXISTS', keys[6 + k]) == 1 then
      if placed then
        redis.call('DEL', keys[6 + k])
        deleted = deleted + 1
      else
        redis.call('RENAME', keys[6 + k], keys[k])
        moved = moved + 1
      end
    end
  end
  return {moved, deleted}
end

-- ladder_restore, in a cluster, on the placed names' master: KEYS 1-6 the
-- placed names, ARGV 1-6 their DUMPs from the old names ("" for a key that
-- did not exist). Writes nothing when the placed meta exists already
-- (another owner moved the partition, and may have written since);
-- otherwise RESTOREs them all, in one call, so a crash leaves either none
-- or all. Returns the number restored (-1: the placed meta existed).
local function restore(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then return -1 end
  local n = 0
  for k = 2, 7 do
    local i = k <= 6 and k or 1 -- the meta last
    if args[i] ~= '' then
      redis.call('RESTORE', keys[i], 0, args[i], 'REPLACE')
      n = n + 1
    end
  end
  return n
end

-- ladder_rebuild, for ladder-admin rebuild: KEYS 1-6 as the step's.
-- ARGV 1: the heartbeat (ms) from which the owner counts as alive ("": no
-- check). Refuses, writing nothing, when the meta's heartbeat is that
-- recent (an error starting with ALIVE). Otherwise bumps the owner epoch,
-- so that a running owner's next step is fenced, deletes the other five
-- keys and every meta field but the epoch, so that the next owner finds
-- nothing stored and replays the log from offset 0. Returns the new epoch.
-- One call, so atomic: the check and the writes see the same heartbeat.
local function rebuild(keys, args)
  if args[1] ~= '' then
    local beat = redis.call('HGET', keys[1], 'heartbeat')
    if beat and tonumber(beat) and tonumber(beat) >= tonumber(args[1]) then
      return redis.error_reply('ALIVE heartbeat ' .. beat)
    end
  end
  local epoch = redis.call('HINCRBY', keys[1], 'epoch', 1)
  redis.call('DEL', keys[2], keys[3], keys[4], keys[5], keys[6])
  redis.call('HDEL', keys[1], 'next_offset', 'clock', 'heartbeat')
  return epoch
end

redis.register_function('ladder_step', step)
redis.register_function('ladder_rebuild', rebuild)
redis.register_function('ladder_migrate', migrate)
redis.register_function('ladder_restore', restore)
