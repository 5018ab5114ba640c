#!lua
--[[
  forwardMany (ingest): records each event_id and forwards the event to the reserver's inbound
  stream, a whole batch in one call (one EVALSHA instead of one per event). Each event is
  recorded and forwarded atomically (the whole call is): a crash can neither lose nor double one,
  and a seen event_id (forwarded or already decided) is dropped.

  A duplicate that carries a `reply_to` (a producer retrying after a timeout) is answered on
  that reply stream (contract v2): with the event's one outcome when it was decided already (kept
  in its dedupe record, see includes/common.lua), else the record notes the reply stream and the
  decision, when it comes, is appended there too.

  KEYS  1 inbound stream (S in)
        2 shard prefix (S; the dedupe keys S ev:<event_id> are built from it, as the decision
          scripts build stock keys: same hash tag, same spelling as keys.ts)
        3 reply streams' prefix (checkout:replies:{shard}:, same hash tag)
  ARGV  1 dedupe ttl s  2 reply stream maxlen  3 reply stream idle ttl s  4 answer retries (1, or
        0 when ingest re-sends its own batch to fence a WAIT: its events are not retries), then
        per event two values: its event_id and its payload (the one field `e` of an S in entry,
        see validation/internal-event.ts)
  Returns one integer per event: 1 forwarded, 0 duplicate (seen before, or earlier in the batch).
]]
--@include "common"

local inbound, prefix, ttl = KEYS[1], KEYS[2], ARGV[1]
local ctx = {
  now = now_ms(''), prefix = prefix, shard = shard_of(prefix),
  replies = KEYS[3], reply_maxlen = ARGV[2], reply_ttl = ARGV[3],
}

-- A retry asks for the outcome of an event seen before.
local function answer_retry(ev_key, payload)
  local ok, ev = pcall(cjson.decode, payload)
  if not ok or type(ev) ~= 'table' or type(ev.r) ~= 'string' or ev.r == '' then return end
  local v = redis.call('GET', ev_key)
  local state = dedupe_state(v)
  if state == 'd' then
    local typ, status, reason, expires_at, checkout_id = kept_outcome(v)
    if typ then
      append_reply(ctx, ev.r, outcome_fields(ctx, ev.e, checkout_id, typ, status, reason, expires_at))
    end
  elseif state == 'f' or state == 'p' then
    redis.call('SET', ev_key, state .. ':' .. ev.r, 'KEEPTTL')
  end
end

local out = {}
local answer = ARGV[4] == '1'
for a = 5, #ARGV - 1, 2 do
  local ev_key = prefix .. 'ev:' .. ARGV[a]
  if redis.call('SET', ev_key, 'f', 'NX', 'EX', ttl) then
    redis.call('XADD', inbound, '*', 'e', ARGV[a + 1])
    out[#out + 1] = 1
  else
    if answer then answer_retry(ev_key, ARGV[a + 1]) end
    out[#out + 1] = 0
  end
end
return out
