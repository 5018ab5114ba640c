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
--@include "hold-decision"

local hold, now, rejected = load_active_hold('cancel', false)
if not hold then return rejected end

local deltas = release_hold(KEYS[6], hold.user, hold.lines)
redis.call('HSET', KEYS[2], 'state', 'cancelled')
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[3])
emit_outcome(KEYS[4], ARGV[5], ARGV[2], ARGV[3], 'cancel', 'cancelled', nil, nil, now)
emit_ledger(KEYS[5], 'cancel:' .. ARGV[2], 'cancel', ARGV[2], ARGV[3], now, deltas)
mark_decided(KEYS[1], ARGV[4])
return { 'cancelled', '', '' }
