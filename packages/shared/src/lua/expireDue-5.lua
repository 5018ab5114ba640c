#!lua
--[[
  expireDue: releases up to `limit` holds whose deadline has passed. Any number of reserver
  replicas may call it at once: a hold leaves holds:due in the same atomic call that releases
  it, so no hold is released twice.

  KEYS  1 holds:due  2 outcomes stream  3 ledger stream  4 shard prefix
        5 reply streams' prefix (checkout:replies:{shard}:, same hash tag)
  ARGV  1 now ms ('' = Redis clock)  2 limit  3 outcomes maxlen  4 ttl s of a finished hold
        5 dedupe ttl s  6 reply stream maxlen  7 reply stream idle ttl s
  Returns the number of holds expired.
  Outcome: type 'expire', status 'expired', event_id 'expired:<checkout_id>:<n>' where n is
  the hold's generation (unique per expiry, also if a checkout id is reused much later).
  A cart across shards (includes/saga.lua): an active one also tells its parts to release; a
  pending one whose parts did not all answer by the deadline is aborted (its reserve's one
  outcome: rejected, shard_timeout — also to the reply stream its reserve asked for; an expiry
  has no reply stream: nobody asked).
]]
--@include "common"
--@include "saga"

local now = now_ms(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local prefix = KEYS[4]
local ctx = {
  now = now, due = KEYS[1], outcomes = KEYS[2], ledger = KEYS[3], prefix = prefix, shard = shard_of(prefix),
  maxlen = ARGV[3], finished_ttl = ARGV[4], dedupe_ttl = ARGV[5],
  replies = KEYS[5], reply_maxlen = ARGV[6], reply_ttl = ARGV[7],
}
local expired = 0
for _, checkout_id in ipairs(due) do
  local hk = prefix .. 'hold:' .. checkout_id
  local h = redis.call('HMGET', hk, 'state', 'user', 'lines', 'n', 'parts', 'event_id')
  if h[1] == 'pending' then
    abort_cart(ctx, hk, checkout_id, 'shard_timeout')
  elseif h[1] == 'active' then
    local deltas = release_hold(prefix, h[2], cjson.decode(h[3]))
    redis.call('HSET', hk, 'state', 'expired')
    redis.call('EXPIRE', hk, ARGV[4])
    local id = 'expired:' .. checkout_id .. ':' .. h[4]
    emit_outcome(ctx, id, checkout_id, 'expire', 'expired', nil, nil)
    if #deltas > 0 then
      emit_ledger(KEYS[3], 'expire:' .. checkout_id .. ':' .. h[4], 'expire', id, checkout_id, now, deltas)
    end
    local parts = parts_of(h[5])
    if parts then send_all(ctx, parts, 'part_release', h[6], checkout_id) end
    expired = expired + 1
  end
  redis.call('ZREM', KEYS[1], checkout_id)
end
return expired
