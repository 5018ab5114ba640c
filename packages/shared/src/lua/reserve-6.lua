#!lua
--[[
  reserve: holds every line of a cart or nothing.

  KEYS
    1 event dedupe key   (S ev:<event_id>)
    2 hold key           (S hold:<checkout_id>)
    3 holds:due zset
    4 outcomes stream    (public checkout:outcomes:{shard}, same hash tag)
    5 ledger stream
    6 shard prefix       (S; stock:/usage:/seq keys are built from it, same hash tag)
  ARGV
    1 now ms ('' = Redis clock)   2 event_id   3 checkout_id   4 dedupe ttl s
    5 outcomes maxlen (0 = none)  6 user_id    7 lines JSON [["SKU",qty],...]
    8 requested hold length s ('' = the default)  9 max total hold ms
    10 default / 11 min / 12 max hold length s (the requested one is clamped to [min, max])
  Returns { status, reason, expires_at }
    status: reserved | rejected | duplicate
    reason: out_of_stock | unknown_sku | user_limit | hold_exists | ''
  Writes on rejection: the outcome and the dedupe mark only (the sold-out hot path stays cheap).
  Raises an error, having written nothing, when the cart is malformed (not JSON, not
  [["SKU",qty],...], a qty that is not a positive integer).
]]
--@include "common"
--@include "saga"
--@include "decide"

-- The decision itself lives in includes/decide.lua, shared with decideMany-5.lua.
local ctx = {
  now = now_ms(ARGV[1]), due = KEYS[3], outcomes = KEYS[4], ledger = KEYS[5], prefix = KEYS[6], shard = shard_of(KEYS[6]),
  maxlen = ARGV[5], dedupe_ttl = ARGV[4], finished_ttl = 0,
  hold = { default = tonumber(ARGV[10]), min = tonumber(ARGV[11]), max = tonumber(ARGV[12]) },
}
return decide_reserve(ctx, KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[6], nil, ARGV[7], tonumber(ARGV[8]), ARGV[9])
