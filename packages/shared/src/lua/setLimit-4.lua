#!lua
--[[
  setLimit (admin): sets a SKU's per-user limit (held + sold units per user; 0 = no limit).
  Creates the SKU with zero stock if it does not exist yet, so a limit can precede a restock.

  KEYS  1 admin dedupe key  2 stock key  3 skus set  4 ledger stream
  ARGV  1 now ms ('' = Redis clock)  2 event_id  3 sku  4 per_user  5 dedupe ttl s
  Returns { status, per_user } — status: limit_set | duplicate
]]
--@include "common"

local now = now_ms(ARGV[1])
if redis.call('GET', KEYS[1]) == 'd' then return { 'duplicate', '' } end
for _, f in ipairs({ 'total', 'available', 'held', 'sold' }) do redis.call('HSETNX', KEYS[2], f, 0) end
redis.call('HSET', KEYS[2], 'per_user', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
emit_ledger(KEYS[4], 'set_limit:' .. ARGV[2], 'set_limit', ARGV[2], '', now, { { ARGV[3], 0, 0, 0, 0 } },
  'per_user', ARGV[4])
redis.call('SET', KEYS[1], 'd', 'EX', ARGV[5])
return { 'limit_set', ARGV[4] }
