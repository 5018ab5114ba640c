--[[
  decideMany (reserver): decides a whole batch of checkout events in one call — one EVALSHA
  instead of one per event — with exactly the functions of reserve-6 / confirm-6 / cancel-6 /
  extend-6 (includes/decide.lua), in the order given. Each event's decision is atomic (the
  whole call is); an event that raises an error gets an error reply in its slot and the others
  are decided all the same.

  KEYS  1 holds:due  2 outcomes stream  3 ledger stream  4 shard prefix
        then per event: its dedupe key (S ev:<event_id>) and its hold key (S hold:<checkout_id>)
  ARGV  1 now ms ('' = Redis clock)  2 dedupe ttl s  3 outcomes maxlen  4 ttl s of a finished hold
        5 max total hold ms
        then per event 6 values: type, event_id, checkout_id, user_id, lines JSON, hold ms
        (user_id / lines / hold ms are '' where the type has none)
  Returns one { status, reason, expires_at } per event (see the one-event scripts), or an error.
  The key count varies with the batch: the caller passes it (no -N in the file name).
]]
--@include "common"
--@include "decide"

local ctx = {
  now = now_ms(ARGV[1]), due = KEYS[1], outcomes = KEYS[2], ledger = KEYS[3], prefix = KEYS[4],
  maxlen = ARGV[3], dedupe_ttl = ARGV[2], finished_ttl = ARGV[4],
}
local max_total_ms = ARGV[5]
local out = {}
local n = (#KEYS - 4) / 2
for i = 1, n do
  local ev_key, hold_key = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local a = 5 + (i - 1) * 6
  local typ, event_id, checkout_id = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if typ == 'reserve' then
    out[i] = decide_reserve(ctx, ev_key, hold_key, event_id, checkout_id, ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], max_total_ms)
  elseif typ == 'confirm' then
    out[i] = decide_confirm(ctx, ev_key, hold_key, event_id, checkout_id)
  elseif typ == 'cancel' then
    out[i] = decide_cancel(ctx, ev_key, hold_key, event_id, checkout_id)
  elseif typ == 'extend' then
    out[i] = decide_extend(ctx, ev_key, hold_key, event_id, checkout_id, ARGV[a + 6])
  else
    out[i] = redis.error_reply('ERR decideMany: unknown type ' .. tostring(typ))
  end
end
return out
