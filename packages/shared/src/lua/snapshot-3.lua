#!lua flags=no-writes
--[[
  snapshot (reconciler): every SKU's counters and the ledger stream's last id, read in one
  atomic call. Because each state change updates counters and appends its ledger entry in one
  Lua call too, the counters returned are exactly the sum of the ledger entries up to that id.

  KEYS  1 skus set  2 ledger stream  3 shard prefix (stock keys are built from it)
  ARGV  none
  Returns { last_id, sku, total, available, held, sold, sku, ... }  (last_id '0-0' if no stream)
]]
local last = '0-0'
if redis.call('EXISTS', KEYS[2]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
end
local out = { last }
for _, sku in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', KEYS[3] .. 'stock:' .. sku, 'total', 'available', 'held', 'sold')
  out[#out + 1] = sku
  for j = 1, 4 do out[#out + 1] = v[j] or '0' end
end
return out
