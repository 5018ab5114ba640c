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

-- Appends one public outcome to the shard's stream (checkout:outcomes:{shard}), naming the shard.
-- maxlen 0 = never trimmed by us.
local function emit_outcome(stream, maxlen, event_id, checkout_id, typ, status, reason, expires_at, now, shard)
  local f = { 'event_id', event_id, 'checkout_id', checkout_id, 'type', typ, 'status', status }
  if reason then f[#f + 1] = 'reason'; f[#f + 1] = reason end
  if expires_at then f[#f + 1] = 'expires_at'; f[#f + 1] = tostring(expires_at) end
  f[#f + 1] = 'shard'; f[#f + 1] = shard
  f[#f + 1] = 'at'; f[#f + 1] = tostring(now)
  if tonumber(maxlen) > 0 then
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(f))
  else
    redis.call('XADD', stream, '*', unpack(f))
  end
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

-- Marks an event decided, so a redelivery is answered 'duplicate' and changes nothing.
local function mark_decided(key, ttl)
  redis.call('SET', key, 'd', 'EX', ttl)
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
