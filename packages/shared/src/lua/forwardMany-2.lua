#!lua
--[[
  forwardMany (ingest): records each event_id and forwards the event to the reserver's inbound
  stream, a whole batch in one call (one EVALSHA instead of one per event). Each event is
  recorded and forwarded atomically (the whole call is): a crash can neither lose nor double one,
  and a seen event_id (forwarded or already decided) is dropped.

  KEYS  1 inbound stream (S in)
        2 shard prefix (S; the dedupe keys S ev:<event_id> are built from it, as the decision
          scripts build stock keys: same hash tag, same spelling as keys.ts)
  ARGV  1 dedupe ttl s, then per event two values: its event_id and its payload (the one field
        `e` of an S in entry, see validation/internal-event.ts)
  Returns one integer per event: 1 forwarded, 0 duplicate (seen before, or earlier in the batch).
]]
local inbound, prefix, ttl = KEYS[1], KEYS[2], ARGV[1]
local out = {}
for a = 2, #ARGV - 1, 2 do
  if redis.call('SET', prefix .. 'ev:' .. ARGV[a], 'f', 'NX', 'EX', ttl) then
    redis.call('XADD', inbound, '*', 'e', ARGV[a + 1])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
