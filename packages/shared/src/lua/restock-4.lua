#!lua
--[[
  restock (admin): adds units to a SKU's total and available, creating the SKU if new.

  KEYS  1 admin dedupe key  2 stock key  3 skus set  4 ledger stream
  ARGV  1 now ms ('' = Redis clock)  2 event_id  3 sku  4 qty  5 dedupe ttl s
  Returns { status, total } — status: restocked | duplicate
]]
--@include "common"

local now = now_ms(ARGV[1])
if redis.call('GET', KEYS[1]) == 'd' then return { 'duplicate', '' } end
local qty = tonumber(ARGV[4])
-- HSETNX first so a new SKU's hash has every counter (conservation holds from the start).
redis.call('HSETNX', KEYS[2], 'held', 0)
redis.call('HSETNX', KEYS[2], 'sold', 0)
redis.call('HSETNX', KEYS[2], 'per_user', 0)
local total = redis.call('HINCRBY', KEYS[2], 'total', qty)
redis.call('HINCRBY', KEYS[2], 'available', qty)
redis.call('SADD', KEYS[3], ARGV[3])
emit_ledger(KEYS[4], 'restock:' .. ARGV[2], 'restock', ARGV[2], '', now, { { ARGV[3], qty, qty, 0, 0 } })
redis.call('SET', KEYS[1], 'd', 'EX', ARGV[5])
return { 'restocked', tostring(total) }
