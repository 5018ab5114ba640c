#!lua
--[[
  seed (`holdfast stock load`): arms a SKU that Redis does not know yet from MySQL's books.
  Redis gets the books' total and sold; any units the books still show as held belong to holds
  Redis has no record of (a previous run), so they are released: available = total - sold.
  The release goes through the ledger (kind 'seed'), so MySQL moves the same way and the
  reconciler sees no variance.

  KEYS  1 stock key  2 skus set  3 ledger stream  4 seq counter
  ARGV  1 now ms ('' = Redis clock)  2 sku  3 total  4 sold  5 held in the books  6 per_user
  Returns { 'seeded' | 'exists', change_id }
]]
--@include "common"

local now = now_ms(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return { 'exists', '' } end
local total, sold, held = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'total', total, 'available', total - sold, 'held', 0, 'sold', sold,
  'per_user', ARGV[6])
redis.call('SADD', KEYS[2], ARGV[2])
local change_id = 'seed:' .. ARGV[2] .. ':' .. redis.call('INCR', KEYS[4])
emit_ledger(KEYS[3], change_id, 'seed', change_id, '', now, { { ARGV[2], 0, held, -held, 0 } })
return { 'seeded', change_id }
