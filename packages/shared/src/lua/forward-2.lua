--[[
  forward (ingest): records an event_id and forwards the normalised event to the reserver's
  inbound stream in one atomic step, so a crash can neither lose nor double an event.

  KEYS  1 event dedupe key (S ev:<event_id>)  2 inbound stream (S in)
  ARGV  1 dedupe ttl s  2.. flat field/value pairs of the normalised event
  Returns 1 when forwarded, 0 when the event_id was seen before (duplicate: no effect).
]]
if not redis.call('SET', KEYS[1], 'f', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
return 1
