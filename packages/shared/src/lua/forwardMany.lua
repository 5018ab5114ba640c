--[[
  forwardMany (ingest): forward-2.lua for a whole batch in one call — one EVALSHA instead of
  one per event, which is most of what ingest and Redis spend per event. Each event is still
  recorded and forwarded atomically (the whole call is).

  KEYS  1 inbound stream (S in)   2.. one event dedupe key (S ev:<event_id>) per event
  ARGV  1 dedupe ttl s, then per event: its field count c, then its c field/value strings
  Returns one integer per event: 1 forwarded, 0 duplicate (seen before, or earlier in the batch).
  The key count varies with the batch: the caller passes it (no -N in the file name).
]]
local out = {}
local a = 2
for i = 2, #KEYS do
  local c = tonumber(ARGV[a])
  a = a + 1
  if redis.call('SET', KEYS[i], 'f', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, a, a + c - 1))
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  a = a + c
end
return out
