#!lua
--[[
  cancel: releases an active hold's stock (also one past its deadline that the sweep has not
  reached yet: both end with the stock back).

  KEYS  1 event dedupe key  2 hold key  3 holds:due  4 outcomes stream  5 ledger stream
        6 shard prefix
  ARGV  1 now ms ('' = Redis clock)  2 event_id  3 checkout_id  4 dedupe ttl s
        5 outcomes maxlen  6 ttl s of a finished hold
  Returns { status, reason, '' }
    status: cancelled | rejected | duplicate
    reason: unknown_hold | hold_expired | hold_cancelled | hold_confirmed | ''
]]
--@include "common"
--@include "saga"
--@include "decide"

-- The decision itself lives in includes/decide.lua, shared with decideMany-5.lua.
local ctx = {
  now = now_ms(ARGV[1]), due = KEYS[3], outcomes = KEYS[4], ledger = KEYS[5], prefix = KEYS[6], shard = shard_of(KEYS[6]),
  maxlen = ARGV[5], dedupe_ttl = ARGV[4], finished_ttl = ARGV[6],
}
return decide_cancel(ctx, KEYS[1], KEYS[2], ARGV[2], ARGV[3])
