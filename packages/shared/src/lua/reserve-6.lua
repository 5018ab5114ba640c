--[[
  reserve: holds every line of a cart or nothing.

  KEYS
    1 event dedupe key   (S ev:<event_id>)
    2 hold key           (S hold:<checkout_id>)
    3 holds:due zset
    4 outcomes stream    (public checkout:outcomes)
    5 ledger stream
    6 shard prefix       (S; stock:/usage:/seq keys are built from it, same hash tag)
  ARGV
    1 now ms ('' = Redis clock)   2 event_id   3 checkout_id   4 dedupe ttl s
    5 outcomes maxlen (0 = none)  6 user_id    7 lines JSON [["SKU",qty],...]
    8 hold length ms (already clamped)         9 max total hold ms
  Returns { status, reason, expires_at }
    status: reserved | rejected | duplicate
    reason: out_of_stock | unknown_sku | user_limit | hold_exists | ''
  Writes on rejection: the outcome and the dedupe mark only (the sold-out hot path stays cheap).
  Raises an error, having written nothing, when a line's qty is not a positive integer.
]]
--@include "common"

local now = now_ms(ARGV[1])
if redis.call('GET', KEYS[1]) == 'd' then return { 'duplicate', '', '' } end
local prefix, user = KEYS[6], ARGV[6]

local function reject(reason)
  emit_outcome(KEYS[4], ARGV[5], ARGV[2], ARGV[3], 'reserve', 'rejected', reason, nil, now)
  mark_decided(KEYS[1], ARGV[4])
  return { 'rejected', reason, '' }
end

if redis.call('EXISTS', KEYS[2]) == 1 then return reject('hold_exists') end

local lines = cjson.decode(ARGV[7])
-- Check every line before touching anything: all-or-nothing without rollback. A SKU listed
-- twice is checked against its summed quantity (validation forbids repeats, but the gate must
-- never oversell), and a qty that is not a positive integer fails here, before any write
-- (an error after a write would leave a partial reserve behind).
local want = {}
for i = 1, #lines do
  local sku, qty = lines[i][1], tonumber(lines[i][2])
  if not qty or qty < 1 or qty % 1 ~= 0 then
    return redis.error_reply('ERR reserve: line ' .. i .. ' qty must be a positive integer')
  end
  want[sku] = (want[sku] or 0) + qty
  local st = redis.call('HMGET', prefix .. 'stock:' .. sku, 'available', 'per_user')
  if not st[1] then return reject('unknown_sku') end
  if tonumber(st[1]) < want[sku] then return reject('out_of_stock') end
  local limit = tonumber(st[2] or '0')
  if limit > 0 then
    local used = tonumber(redis.call('HGET', prefix .. 'usage:' .. user, sku) or '0')
    if used + want[sku] > limit then return reject('user_limit') end
  end
end

local deltas = {}
for i = 1, #lines do
  local sku, qty = lines[i][1], tonumber(lines[i][2])
  local sk = prefix .. 'stock:' .. sku
  redis.call('HINCRBY', sk, 'available', -qty)
  redis.call('HINCRBY', sk, 'held', qty)
  redis.call('HINCRBY', prefix .. 'usage:' .. user, sku, qty)
  deltas[i] = { sku, 0, -qty, qty, 0 }
end

local expires_at = now + tonumber(ARGV[8])
local max_until = now + tonumber(ARGV[9])
if expires_at > max_until then expires_at = max_until end
local n = redis.call('INCR', prefix .. 'seq')
redis.call('HSET', KEYS[2], 'state', 'active', 'user', user, 'lines', ARGV[7],
  'expires_at', expires_at, 'created_at', now, 'max_until', max_until, 'n', n,
  'event_id', ARGV[2])
redis.call('ZADD', KEYS[3], expires_at, ARGV[3])
emit_outcome(KEYS[4], ARGV[5], ARGV[2], ARGV[3], 'reserve', 'reserved', nil, expires_at, now)
emit_ledger(KEYS[5], 'reserve:' .. ARGV[2], 'reserve', ARGV[2], ARGV[3], now, deltas)
mark_decided(KEYS[1], ARGV[4])
return { 'reserved', '', tostring(expires_at) }
