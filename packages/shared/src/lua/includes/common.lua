-- Shared helpers, inlined into scripts by the loader (marker: --@include "common").
-- Keys are built from the shard prefix passed as a KEY, so every key a call touches shares
-- the shard's hash tag (one Redis Cluster slot).

-- Current time in ms: the caller's `now` when given (tests, benchmarks), else the Redis
-- server clock, so replicas on different hosts agree on deadlines.
local function now_ms(arg)
  if arg and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The shard a key prefix belongs to: its hash tag, `{<shard>}` (the first {…}, as Redis reads it).
local function shard_of(prefix)
  return string.match(prefix, '{([^}]*)}') or ''
end

-- Appends outcome fields to a producer's reply stream: capped, and expiring once nobody has been
-- answered there for ctx.reply_ttl seconds (contract v2: "capped and expire when unused").
local function append_reply(ctx, to, f)
  local k = ctx.replies .. to
  redis.call('XADD', k, 'MAXLEN', '~', ctx.reply_maxlen, '*', unpack(f))
  redis.call('EXPIRE', k, ctx.reply_ttl)
end

-- An outcome entry's fields, in the contract's order (reason, expires_at only when given).
local function outcome_fields(ctx, event_id, checkout_id, typ, status, reason, expires_at)
  local f = { 'event_id', event_id, 'checkout_id', checkout_id, 'type', typ, 'status', status }
  if reason then f[#f + 1] = 'reason'; f[#f + 1] = reason end
  if expires_at then f[#f + 1] = 'expires_at'; f[#f + 1] = tostring(expires_at) end
  f[#f + 1] = 'shard'; f[#f + 1] = ctx.shard
  f[#f + 1] = 'at'; f[#f + 1] = tostring(ctx.now)
  return f
end

-- Appends one public outcome to the shard's stream (checkout:outcomes:{shard}), naming the shard,
-- and to the reply streams of the event being decided (contract v2 `reply_to`): ctx.reply_to (the
-- event's own) and ctx.also_to (a retry's, see dedupe_state). maxlen 0 = never trimmed by us.
local function emit_outcome(ctx, event_id, checkout_id, typ, status, reason, expires_at)
  local f = outcome_fields(ctx, event_id, checkout_id, typ, status, reason, expires_at)
  if tonumber(ctx.maxlen) > 0 then
    redis.call('XADD', ctx.outcomes, 'MAXLEN', '~', ctx.maxlen, '*', unpack(f))
  else
    redis.call('XADD', ctx.outcomes, '*', unpack(f))
  end
  -- Reply streams (S's own hash tag, checkout:replies:{shard}:<reply_to>).
  if ctx.replies then
    if ctx.reply_to then append_reply(ctx, ctx.reply_to, f) end
    if ctx.also_to and ctx.also_to ~= ctx.reply_to then append_reply(ctx, ctx.also_to, f) end
  end
end

-- The dedupe record of an event (S ev:<event_id>), one short string:
--   'f'     forwarded by ingest, not decided yet
--   'p'     a cart across shards, decided 'pending' (its outcome comes when its parts answer)
--   'd|<type>|<status>|<reason>|<expires_at>|<checkout_id>'  decided, with its outcome kept so
--           a retry that asks for a reply gets the one decision (forwardMany-3.lua)
--   'f:<reply_to>' / 'p:<reply_to>'  as f / p, and a retry asked for the outcome there too.
-- ('d' alone: decided by a version that kept no outcome.) Returns the state's letter (or nil
-- when there is no record) and the retry's reply_to.
local function dedupe_state(v)
  if not v then return nil, nil end
  local k = string.sub(v, 1, 1)
  if k ~= 'd' and string.sub(v, 2, 2) == ':' then return k, string.sub(v, 3) end
  return k, nil
end

-- True when the event was decided already (a redelivery: answered 'duplicate', changes nothing).
-- Otherwise remembers a retry's reply_to in ctx.also_to, for emit_outcome.
local function already_decided(ctx, ev_key)
  local state, also_to = dedupe_state(redis.call('GET', ev_key))
  if state == 'd' or state == 'p' then return true end
  ctx.also_to = also_to
  return false
end

-- Marks an event decided and keeps its outcome (see dedupe_state). ttl: the dedupe window, s.
local function mark_decided(key, ttl, typ, status, reason, expires_at, checkout_id)
  redis.call('SET', key, 'd|' .. typ .. '|' .. status .. '|' .. (reason or '') .. '|' ..
    (expires_at and tostring(expires_at) or '') .. '|' .. checkout_id, 'EX', ttl)
end

-- The outcome a decided record keeps, as mark_decided wrote it: typ, status, reason, expires_at
-- (nil when absent), checkout_id (last: checkout ids may hold '|'); nil for a record that kept
-- none (not decided, or decided by a version that kept no outcome).
local function kept_outcome(v)
  local typ, status, reason, expires_at, checkout_id =
    string.match(v or '', '^d|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  if not typ then return nil end
  return typ, status, reason ~= '' and reason or nil, expires_at ~= '' and expires_at or nil, checkout_id
end

-- An event's decision: its outcome (stream and replies) and its dedupe record, one step.
local function decided(ctx, ev_key, event_id, checkout_id, typ, status, reason, expires_at)
  emit_outcome(ctx, event_id, checkout_id, typ, status, reason, expires_at)
  mark_decided(ev_key, ctx.dedupe_ttl, typ, status, reason, expires_at, checkout_id)
end

-- Appends one ledger entry (one state change). deltas: { {sku, dTotal, dAvail, dHeld, dSold}, ... }.
-- Never trimmed here: the ledger-writer's group decides what may go.
local function emit_ledger(stream, change_id, kind, event_id, checkout_id, now, deltas, extra_k, extra_v)
  if extra_k then
    redis.call('XADD', stream, '*', 'change_id', change_id, 'kind', kind, 'event_id', event_id,
      'checkout_id', checkout_id, 'at', tostring(now), 'lines', cjson.encode(deltas), extra_k, extra_v)
  else
    redis.call('XADD', stream, '*', 'change_id', change_id, 'kind', kind, 'event_id', event_id,
      'checkout_id', checkout_id, 'at', tostring(now), 'lines', cjson.encode(deltas))
  end
end

-- Returns a hold's stock to `available` (cancel, expiry) and gives the user's units back.
-- Returns the ledger deltas.
local function release_hold(prefix, user, lines)
  local deltas = {}
  for i = 1, #lines do
    local sku, qty = lines[i][1], tonumber(lines[i][2])
    local sk = prefix .. 'stock:' .. sku
    redis.call('HINCRBY', sk, 'held', -qty)
    redis.call('HINCRBY', sk, 'available', qty)
    redis.call('HINCRBY', prefix .. 'usage:' .. user, sku, -qty)
    deltas[i] = { sku, 0, qty, -qty, 0 }
  end
  return deltas
end

-- Why `user` can't hold `lines` on this shard now (unknown_sku, out_of_stock, user_limit: the
-- first failing line's reason), or nil. Reads only: checked before any write, so a refusal
-- changes nothing (Redis does not roll a script back). A SKU listed twice is checked against
-- its summed quantity (validation forbids repeats, but the gate must never oversell).
local function refusal_of(prefix, user, lines)
  local want = {}
  for i = 1, #lines do
    local sku, qty = lines[i][1], tonumber(lines[i][2])
    want[sku] = (want[sku] or 0) + qty
    local st = redis.call('HMGET', prefix .. 'stock:' .. sku, 'available', 'per_user')
    if not st[1] then return 'unknown_sku' end
    if tonumber(st[1]) < want[sku] then return 'out_of_stock' end
    local limit = tonumber(st[2] or '0')
    if limit > 0 then
      local used = tonumber(redis.call('HGET', prefix .. 'usage:' .. user, sku) or '0')
      if used + want[sku] > limit then return 'user_limit' end
    end
  end
  return nil
end

-- Moves `lines` from available to held and counts them against the user (a hold, or a cart's
-- part). Call only after refusal_of said nil. Returns the ledger deltas.
local function hold_lines(prefix, user, lines)
  local deltas = {}
  for i = 1, #lines do
    local sku, qty = lines[i][1], tonumber(lines[i][2])
    local sk = prefix .. 'stock:' .. sku
    redis.call('HINCRBY', sk, 'available', -qty)
    redis.call('HINCRBY', sk, 'held', qty)
    redis.call('HINCRBY', prefix .. 'usage:' .. user, sku, qty)
    deltas[i] = { sku, 0, -qty, qty, 0 }
  end
  return deltas
end

-- Turns a hold's (or a cart part's) held units into sales (confirm). Returns the ledger deltas.
local function sell_lines(prefix, lines)
  local deltas = {}
  for i = 1, #lines do
    local sku, qty = lines[i][1], tonumber(lines[i][2])
    local sk = prefix .. 'stock:' .. sku
    redis.call('HINCRBY', sk, 'held', -qty)
    redis.call('HINCRBY', sk, 'sold', qty)
    deltas[i] = { sku, 0, 0, -qty, qty }
  end
  return deltas
end
