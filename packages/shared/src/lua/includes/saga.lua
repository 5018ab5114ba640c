-- Carts across shards (contract v2): a reservation saga. Needs "common".
--
-- The home shard (the one deciding the reserve, normally its first line's) holds its own lines
-- and keeps the cart's hold in state 'pending'; every other shard holding lines of the cart gets
-- a `part_reserve` message and answers with a `part_result`. When every part answered ok before
-- the hold's deadline the hold turns 'active' and the one outcome (reserved) is written on the
-- home shard; the first refusal, or no answer by the cross-shard deadline (or by the hold's,
-- whichever is earlier), aborts the cart: the home lines are released, the outcome is
-- `rejected` (with the part's reason, or `shard_timeout`), every other shard gets a
-- `part_release`, and the home hold stays in state 'rejected' for the finished-hold TTL (late
-- follow-ups get unknown_hold; a new reserve of the checkout replaces it). Confirm, cancel and
-- expiry of an active cart act on the home lines and send `part_confirm` / `part_release` to
-- every part; parts never expire by themselves (the home's deadline is the cart's).
--
-- Messages leave a shard through its outbox stream (S out: `to` = target shard, `m` = payload),
-- written in the same atomic call as the state change that causes them; the reserver's relay
-- copies each to the target shard's inbound stream and acks it (at least once). Every receiver
-- is idempotent by the part's state (S part:<reserve event_id>), so a redelivered message or a
-- process killed between any two steps changes nothing twice.

-- Queues one message for another shard (its inbound payload; 's' marks it as relayed).
local function send(ctx, to, msg)
  msg.s = 'relay'
  redis.call('XADD', ctx.prefix .. 'out', '*', 'to', to, 'm', cjson.encode(msg))
end

-- The remote shards of a cart hold and their lines: { [shard] = { {sku, qty}, ... } }.
local function parts_of(parts_json)
  if not parts_json or parts_json == '' then return nil end
  return cjson.decode(parts_json)
end

local function send_all(ctx, parts, kind, event_id, checkout_id)
  for shard, _ in pairs(parts) do
    send(ctx, shard, { t = kind, e = event_id, c = checkout_id, o = ctx.shard })
  end
end

-- Writes a cart's one outcome (its reserve's): to the outcome stream, to the reply stream the
-- reserve asked for (kept on the hold) and to a retry's (kept on the 'p' dedupe record), which
-- becomes the decided record.
local function cart_decided(ctx, reply_to, event_id, checkout_id, status, reason, expires_at)
  local ev_key = ctx.prefix .. 'ev:' .. event_id
  local _, also_to = dedupe_state(redis.call('GET', ev_key))
  ctx.reply_to, ctx.also_to = reply_to or nil, also_to
  decided(ctx, ev_key, event_id, checkout_id, 'reserve', status, reason, expires_at)
  ctx.reply_to, ctx.also_to = nil, nil
end

-- Ends a pending cart: releases the home lines, writes the reserve's one outcome (rejected),
-- and tells every part to release (a part that has not reserved yet leaves a tombstone).
local function abort_cart(ctx, hold_key, checkout_id, reason)
  local h = redis.call('HMGET', hold_key, 'user', 'lines', 'parts', 'event_id', 'n', 'reply_to')
  local deltas = release_hold(ctx.prefix, h[1], cjson.decode(h[2]))
  redis.call('HSET', hold_key, 'state', 'rejected', 'reason', reason)
  redis.call('EXPIRE', hold_key, ctx.finished_ttl)
  redis.call('ZREM', ctx.due, checkout_id)
  cart_decided(ctx, h[6], h[4], checkout_id, 'rejected', reason, nil)
  if #deltas > 0 then
    emit_ledger(ctx.ledger, 'abort:' .. h[4], 'cancel', h[4], checkout_id, ctx.now, deltas)
  end
  send_all(ctx, parts_of(h[3]), 'part_release', h[4], checkout_id)
end

-- A remote shard holds its lines of a cart, all or nothing, once per cart (msg: e, c, u, l, o).
local function decide_part_reserve(ctx, msg)
  local pk = ctx.prefix .. 'part:' .. msg.e
  local p = redis.call('HMGET', pk, 'state', 'reason')
  if p[1] == 'held' then
    send(ctx, msg.o, { t = 'part_result', e = msg.e, c = msg.c, f = ctx.shard, k = 1 })
    return { 'part_held', '', '' }
  elseif p[1] == 'refused' then
    send(ctx, msg.o, { t = 'part_result', e = msg.e, c = msg.c, f = ctx.shard, k = 0, r = p[2] })
    return { 'part_refused', p[2], '' }
  elseif p[1] then
    return { 'part_' .. p[1], '', '' } -- released before it arrived (the cart was aborted)
  end
  local refusal = refusal_of(ctx.prefix, msg.u, msg.l)
  if refusal then
    redis.call('HSET', pk, 'state', 'refused', 'reason', refusal, 'checkout_id', msg.c, 'home', msg.o)
    redis.call('EXPIRE', pk, ctx.finished_ttl)
    send(ctx, msg.o, { t = 'part_result', e = msg.e, c = msg.c, f = ctx.shard, k = 0, r = refusal })
    return { 'part_refused', refusal, '' }
  end
  local deltas = hold_lines(ctx.prefix, msg.u, msg.l)
  redis.call('HSET', pk, 'state', 'held', 'checkout_id', msg.c, 'home', msg.o, 'user', msg.u,
    'lines', cjson.encode(msg.l), 'created_at', ctx.now)
  emit_ledger(ctx.ledger, 'part-reserve:' .. msg.e .. ':' .. ctx.shard, 'reserve', msg.e, msg.c, ctx.now, deltas)
  send(ctx, msg.o, { t = 'part_result', e = msg.e, c = msg.c, f = ctx.shard, k = 1 })
  return { 'part_held', '', '' }
end

-- The home shard hears from one part (msg: e, c, f = the part's shard, k = 1 ok / 0 refused, r).
-- The last ok answer makes the cart active — or, at or past the hold's deadline, aborts it
-- (shard_timeout): a hold is never announced `reserved` with its deadline already gone.
local function decide_part_result(ctx, msg)
  local hk = ctx.prefix .. 'hold:' .. msg.c
  local h = redis.call('HMGET', hk, 'state', 'event_id', 'expires_at', 'reply_to')
  -- Another cart of the same checkout id, or this one already decided: nothing to do.
  if h[1] ~= 'pending' or h[2] ~= msg.e then return { 'part_ignored', '', '' } end
  if redis.call('HSETNX', hk, 'r:' .. msg.f, msg.k == 1 and 'ok' or (msg.r or 'refused')) == 0 then
    return { 'part_ignored', '', '' } -- a redelivered answer
  end
  if msg.k ~= 1 then
    abort_cart(ctx, hk, msg.c, msg.r or 'refused')
    return { 'rejected', msg.r or 'refused', '' }
  end
  if redis.call('HINCRBY', hk, 'waiting', -1) > 0 then return { 'part_ok', '', '' } end
  if ctx.now >= tonumber(h[3]) then
    -- The last answer came after the hold's deadline (possible when the cross-shard timeout
    -- is longer than the hold) but before the sweep: the cart did not complete in time. An
    -- active hold already past its deadline would be announced `reserved` and then expired by
    -- the next sweep; abort it as the sweep would have.
    abort_cart(ctx, hk, msg.c, 'shard_timeout')
    return { 'rejected', 'shard_timeout', '' }
  end
  redis.call('HSET', hk, 'state', 'active')
  redis.call('ZADD', ctx.due, h[3], msg.c)
  cart_decided(ctx, h[4], msg.e, msg.c, 'reserved', nil, h[3])
  return { 'reserved', '', h[3] }
end

-- A part turns its held units into a sale (msg: e, c); once.
local function decide_part_confirm(ctx, msg)
  local pk = ctx.prefix .. 'part:' .. msg.e
  local p = redis.call('HMGET', pk, 'state', 'lines')
  if p[1] ~= 'held' then return { 'part_ignored', '', '' } end
  local deltas = sell_lines(ctx.prefix, cjson.decode(p[2]))
  redis.call('HSET', pk, 'state', 'sold')
  redis.call('EXPIRE', pk, ctx.finished_ttl)
  emit_ledger(ctx.ledger, 'part-confirm:' .. msg.e .. ':' .. ctx.shard, 'confirm', msg.e, msg.c, ctx.now, deltas)
  return { 'part_sold', '', '' }
end

-- A part gives its units back (cart aborted, cancelled or expired); a part not reserved yet
-- leaves a tombstone so that its late part_reserve holds nothing.
local function decide_part_release(ctx, msg)
  local pk = ctx.prefix .. 'part:' .. msg.e
  local p = redis.call('HMGET', pk, 'state', 'lines', 'user')
  if not p[1] then
    redis.call('HSET', pk, 'state', 'released', 'checkout_id', msg.c, 'home', msg.o)
    redis.call('EXPIRE', pk, ctx.finished_ttl)
    return { 'part_released', '', '' }
  end
  if p[1] ~= 'held' then return { 'part_ignored', '', '' } end
  local deltas = release_hold(ctx.prefix, p[3], cjson.decode(p[2]))
  redis.call('HSET', pk, 'state', 'released')
  redis.call('EXPIRE', pk, ctx.finished_ttl)
  emit_ledger(ctx.ledger, 'part-release:' .. msg.e .. ':' .. ctx.shard, 'cancel', msg.e, msg.c, ctx.now, deltas)
  return { 'part_released', '', '' }
end
