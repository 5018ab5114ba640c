#!lua
--[[
  extend: moves an active hold's deadline to now + hold length, never past the hold's
  maximum lifetime (created_at + max total) and never earlier than it already is.

  KEYS  1 event dedupe key  2 hold key  3 holds:due  4 outcomes stream  5 ledger stream
        6 shard prefix
  ARGV  1 now ms ('' = Redis clock)  2 event_id  3 checkout_id  4 dedupe ttl s
        5 outcomes maxlen  6 requested hold length s ('' = the default)
        7 default / 8 min / 9 max hold length s (the requested one is clamped to [min, max])
  Returns { status, reason, expires_at }
    status: extended | rejected | duplicate
    reason: unknown_hold | hold_expired | hold_cancelled | hold_confirmed | ''
]]
--@include "common"
--@include "saga"
--@include "decide"

-- The decision itself lives in includes/decide.lua, shared with decideMany-5.lua.
local ctx = {
  now = now_ms(ARGV[1]), due = KEYS[3], outcomes = KEYS[4], ledger = KEYS[5], prefix = KEYS[6], shard = shard_of(KEYS[6]),
  maxlen = ARGV[5], dedupe_ttl = ARGV[4], finished_ttl = 0,
  hold = { default = tonumber(ARGV[7]), min = tonumber(ARGV[8]), max = tonumber(ARGV[9]) },
}
return decide_extend(ctx, KEYS[1], KEYS[2], ARGV[2], ARGV[3], tonumber(ARGV[6]))
