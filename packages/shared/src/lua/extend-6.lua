--[[
  extend: moves an active hold's deadline to now + hold length, never past the hold's
  maximum lifetime (created_at + max total) and never earlier than it already is.

  KEYS  1 event dedupe key  2 hold key  3 holds:due  4 outcomes stream  5 ledger stream
        6 shard prefix
  ARGV  1 now ms ('' = Redis clock)  2 event_id  3 checkout_id  4 dedupe ttl s
        5 outcomes maxlen  6 hold length ms (already clamped)
  Returns { status, reason, expires_at }
    status: extended | rejected | duplicate
    reason: unknown_hold | hold_expired | hold_cancelled | hold_confirmed | ''
]]
--@include "common"
--@include "hold-decision"

local hold, now, rejected = load_active_hold('extend', true)
if not hold then return rejected end

local expires_at = now + tonumber(ARGV[6])
if expires_at > hold.max_until then expires_at = hold.max_until end
if expires_at < hold.expires_at then expires_at = hold.expires_at end
redis.call('HSET', KEYS[2], 'expires_at', expires_at)
redis.call('ZADD', KEYS[3], expires_at, ARGV[3])
local deltas = {}
for i = 1, #hold.lines do deltas[i] = { hold.lines[i][1], 0, 0, 0, 0 } end
emit_outcome(KEYS[4], ARGV[5], ARGV[2], ARGV[3], 'extend', 'extended', nil, expires_at, now)
emit_ledger(KEYS[5], 'extend:' .. ARGV[2], 'extend', ARGV[2], ARGV[3], now, deltas)
mark_decided(KEYS[1], ARGV[4])
return { 'extended', '', tostring(expires_at) }
