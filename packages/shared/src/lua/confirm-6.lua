--[[
  confirm: turns an active hold into a sale.

  KEYS  1 event dedupe key  2 hold key  3 holds:due  4 outcomes stream  5 ledger stream
        6 shard prefix
  ARGV  1 now ms ('' = Redis clock)  2 event_id  3 checkout_id  4 dedupe ttl s
        5 outcomes maxlen  6 ttl s of a finished hold (kept so late events get a reason)
  Returns { status, reason, '' }
    status: confirmed | rejected | duplicate
    reason: unknown_hold | hold_expired | hold_cancelled | hold_confirmed | ''
]]
--@include "common"
--@include "hold-decision"

local hold, now, rejected = load_active_hold('confirm', true)
if not hold then return rejected end

local deltas = {}
for i = 1, #hold.lines do
  local sku, qty = hold.lines[i][1], tonumber(hold.lines[i][2])
  local sk = KEYS[6] .. 'stock:' .. sku
  redis.call('HINCRBY', sk, 'held', -qty)
  redis.call('HINCRBY', sk, 'sold', qty)
  deltas[i] = { sku, 0, 0, -qty, qty }
end
redis.call('HSET', KEYS[2], 'state', 'confirmed')
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[3])
emit_outcome(KEYS[4], ARGV[5], ARGV[2], ARGV[3], 'confirm', 'confirmed', nil, nil, now)
emit_ledger(KEYS[5], 'confirm:' .. ARGV[2], 'confirm', ARGV[2], ARGV[3], now, deltas)
mark_decided(KEYS[1], ARGV[4])
return { 'confirmed', '', '' }
