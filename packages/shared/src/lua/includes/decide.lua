-- The four checkout decisions as functions, shared by the one-event scripts (reserve-6,
-- confirm-6, cancel-6, extend-6) and the batch script (decideMany-5). Needs "common" and "saga"
-- (carts across shards).
--
-- ctx: { now, due, outcomes, ledger, prefix, shard, maxlen, dedupe_ttl, finished_ttl,
--        hold = { default, min, max } (hold lengths in s), part_timeout_ms (a cart across
--        shards waits this long for its parts' answers),
--        replies, reply_maxlen, reply_ttl (reply streams: their key prefix, cap and idle ttl;
--        no replies prefix = no replies), reply_to (the event's own reply stream, or nil),
--        also_to (set by already_decided: a retry's reply stream) }
-- Each returns { status, reason, expires_at } like the one-event scripts document.

-- A hold's length in ms: the requested seconds (nil = the default) within [min, max]. The one
-- place this is decided, for the one-event scripts and decideMany alike.
local function hold_length_ms(ctx, requested_s)
  local s = requested_s or ctx.hold.default
  if s < ctx.hold.min then s = ctx.hold.min end
  if s > ctx.hold.max then s = ctx.hold.max end
  return s * 1000
end

-- Why a cart is malformed, or nil. Checked before any write: an error after a write would leave
-- a partial reserve behind (Redis does not roll a script back).
local function bad_lines(lines)
  if type(lines) ~= 'table' or #lines < 1 then return 'lines must be a non-empty array' end
  for i = 1, #lines do
    local line = lines[i]
    -- Exactly two items: anything else would be stored in the hold and could fail to encode
    -- (cjson decodes 1e999 to inf but refuses to encode it) after stock has moved.
    if type(line) ~= 'table' or #line ~= 2 or type(line[1]) ~= 'string' or line[1] == '' then
      return 'line ' .. i .. ' must be ["SKU", qty]'
    end
    local qty = line[2]
    -- A JSON number only (no "2" or "0x10"); NaN and inf fail the integer test.
    if type(qty) ~= 'number' or not (qty >= 1) or qty % 1 ~= 0 then
      return 'line ' .. i .. ' qty must be a positive integer'
    end
  end
  return nil
end

-- lines: the decoded cart, or nil to decode lines_json. lines_json: the cart as JSON, or nil to
-- encode it only when a hold is written (the sold-out path never needs it).
-- line_shards: for a cart across shards, the shard of each line (nil: every line is local).
local function decide_reserve(ctx, ev_key, hold_key, event_id, checkout_id, user, lines, lines_json, hold_s, max_total_ms, line_shards)
  local now, prefix = ctx.now, ctx.prefix
  if lines == nil then
    local ok, decoded = pcall(cjson.decode, lines_json)
    if not ok then return redis.error_reply('ERR reserve: lines is not JSON') end
    lines = decoded
  end
  local bad = bad_lines(lines)
  if bad then return redis.error_reply('ERR reserve: ' .. bad) end
  if already_decided(ctx, ev_key) then return { 'duplicate', '', '' } end

  local function reject(reason)
    decided(ctx, ev_key, event_id, checkout_id, 'reserve', 'rejected', reason, nil)
    return { 'rejected', reason, '' }
  end

  -- A hold of this checkout refuses a second reserve — unless it is a cart across shards that
  -- was rejected (state 'rejected', kept for the finished-hold TTL so late follow-ups get
  -- unknown_hold): that never was a hold, so the checkout may reserve again at once, like after
  -- a rejected single-shard reserve (which leaves no hold). Its hash is replaced below, when the
  -- new hold is written; the old cart's parts are keyed by its own reserve's event_id, and its
  -- late part_results are ignored (event_id differs, decide_part_result).
  local replaces_rejected = false
  if redis.call('EXISTS', hold_key) == 1 then
    if redis.call('HGET', hold_key, 'state') ~= 'rejected' then return reject('hold_exists') end
    replaces_rejected = true
  end

  -- A cart across shards: this shard checks and holds its own lines; the others are asked.
  local parts, nparts, cart_json = nil, 0, nil
  if line_shards then
    local mine = {}
    parts = {}
    for i = 1, #lines do
      local at = line_shards[i]
      if at == ctx.shard then
        mine[#mine + 1] = lines[i]
      else
        if not parts[at] then parts[at] = {}; nparts = nparts + 1 end
        parts[at][#parts[at] + 1] = lines[i]
      end
    end
    if nparts == 0 then parts = nil else
      cart_json = lines_json or cjson.encode(lines)
      lines, lines_json = mine, nil
    end
  end

  -- Check every line before touching anything: all-or-nothing without rollback.
  local refusal = refusal_of(prefix, user, lines)
  if refusal then return reject(refusal) end

  -- Everything that can fail is done before the first write. (An empty list encodes as {}.)
  lines_json = lines_json or (#lines > 0 and cjson.encode(lines) or '[]')
  local deltas = hold_lines(prefix, user, lines)

  local expires_at = now + hold_length_ms(ctx, hold_s)
  local max_until = now + tonumber(max_total_ms)
  if expires_at > max_until then expires_at = max_until end
  local n = redis.call('INCR', prefix .. 'seq')
  -- DEL, not HSET over it: none of the rejected cart's fields (parts, waiting, cart, r:<shard>,
  -- reason, reply_to) nor its TTL may survive into the new hold.
  if replaces_rejected then redis.call('DEL', hold_key) end
  redis.call('HSET', hold_key, 'state', parts and 'pending' or 'active', 'user', user, 'lines', lines_json,
    'expires_at', expires_at, 'created_at', now, 'max_until', max_until, 'n', n,
    'event_id', event_id)
  -- A user's holds, for `holdfast holds list --user` (finished ones drop out as their keys expire).
  local uk = prefix .. 'uholds:' .. user
  redis.call('SADD', uk, checkout_id)
  redis.call('EXPIRE', uk, math.floor(tonumber(max_total_ms) / 1000) + tonumber(ctx.finished_ttl or 0) + 60)
  if #deltas > 0 then
    emit_ledger(ctx.ledger, 'reserve:' .. event_id, 'reserve', event_id, checkout_id, now, deltas)
  end
  if parts then
    -- No outcome yet: it is written when the parts have answered (saga.lua), or by the sweep
    -- at the cross-shard deadline — to the reply stream the reserve asked for, kept on the hold.
    redis.call('SET', ev_key, ctx.also_to and ('p:' .. ctx.also_to) or 'p', 'EX', ctx.dedupe_ttl)
    redis.call('HSET', hold_key, 'parts', cjson.encode(parts), 'waiting', nparts, 'cart', cart_json)
    if ctx.reply_to then redis.call('HSET', hold_key, 'reply_to', ctx.reply_to) end
    local answer_by = now + tonumber(ctx.part_timeout_ms)
    redis.call('ZADD', ctx.due, answer_by < expires_at and answer_by or expires_at, checkout_id)
    for shard, part_lines in pairs(parts) do
      send(ctx, shard, { t = 'part_reserve', e = event_id, c = checkout_id, u = user, l = part_lines, o = ctx.shard })
    end
    return { 'pending', '', tostring(expires_at) }
  end
  redis.call('ZADD', ctx.due, expires_at, checkout_id)
  decided(ctx, ev_key, event_id, checkout_id, 'reserve', 'reserved', nil, expires_at)
  return { 'reserved', '', tostring(expires_at) }
end

-- Front half of confirm / cancel / extend: dedupe, look the hold up, and turn every non-active
-- state into its rejection. Returns (hold, nil) or (nil, reply) after writing the rejection.
local function load_active_hold(ctx, typ, ev_key, hold_key, event_id, checkout_id, reject_past_deadline)
  if already_decided(ctx, ev_key) then return nil, { 'duplicate', '', '' } end
  local h = redis.call('HMGET', hold_key, 'state', 'user', 'lines', 'expires_at', 'max_until', 'n', 'parts', 'event_id')
  local state = h[1]
  local reason = nil
  if not state then
    reason = 'unknown_hold'
  elseif state == 'pending' then
    reason = 'hold_pending' -- a cart across shards whose parts have not all answered yet
  elseif state == 'rejected' then
    reason = 'unknown_hold' -- a cart across shards that was refused: it never was a hold
  elseif state == 'confirmed' then
    reason = 'hold_confirmed'
  elseif state == 'cancelled' then
    reason = 'hold_cancelled'
  elseif state == 'expired' then
    reason = 'hold_expired'
  elseif reject_past_deadline and ctx.now >= tonumber(h[4]) then
    -- Past its deadline but not yet swept: the sweep will release it within one interval.
    reason = 'hold_expired'
  end
  if reason then
    decided(ctx, ev_key, event_id, checkout_id, typ, 'rejected', reason, nil)
    return nil, { 'rejected', reason, '' }
  end
  return {
    user = h[2], lines = cjson.decode(h[3]), expires_at = tonumber(h[4]),
    max_until = tonumber(h[5]), n = h[6], parts = parts_of(h[7]), reserve_event = h[8],
  }, nil
end

local function decide_confirm(ctx, ev_key, hold_key, event_id, checkout_id)
  local hold, rejected = load_active_hold(ctx, 'confirm', ev_key, hold_key, event_id, checkout_id, true)
  if not hold then return rejected end
  local deltas = sell_lines(ctx.prefix, hold.lines)
  redis.call('HSET', hold_key, 'state', 'confirmed')
  redis.call('EXPIRE', hold_key, ctx.finished_ttl)
  redis.call('ZREM', ctx.due, checkout_id)
  decided(ctx, ev_key, event_id, checkout_id, 'confirm', 'confirmed', nil, nil)
  if #deltas > 0 then
    emit_ledger(ctx.ledger, 'confirm:' .. event_id, 'confirm', event_id, checkout_id, ctx.now, deltas)
  end
  if hold.parts then send_all(ctx, hold.parts, 'part_confirm', hold.reserve_event, checkout_id) end
  return { 'confirmed', '', '' }
end

-- Also accepts a hold past its deadline that the sweep has not reached yet: both end with the
-- stock back.
local function decide_cancel(ctx, ev_key, hold_key, event_id, checkout_id)
  local hold, rejected = load_active_hold(ctx, 'cancel', ev_key, hold_key, event_id, checkout_id, false)
  if not hold then return rejected end
  local deltas = release_hold(ctx.prefix, hold.user, hold.lines)
  redis.call('HSET', hold_key, 'state', 'cancelled')
  redis.call('EXPIRE', hold_key, ctx.finished_ttl)
  redis.call('ZREM', ctx.due, checkout_id)
  decided(ctx, ev_key, event_id, checkout_id, 'cancel', 'cancelled', nil, nil)
  if #deltas > 0 then
    emit_ledger(ctx.ledger, 'cancel:' .. event_id, 'cancel', event_id, checkout_id, ctx.now, deltas)
  end
  if hold.parts then send_all(ctx, hold.parts, 'part_release', hold.reserve_event, checkout_id) end
  return { 'cancelled', '', '' }
end

-- Moves the deadline to now + the hold length, never past the hold's maximum lifetime and never earlier
-- than it already is.
local function decide_extend(ctx, ev_key, hold_key, event_id, checkout_id, hold_s)
  local hold, rejected = load_active_hold(ctx, 'extend', ev_key, hold_key, event_id, checkout_id, true)
  if not hold then return rejected end
  local expires_at = ctx.now + hold_length_ms(ctx, hold_s)
  if expires_at > hold.max_until then expires_at = hold.max_until end
  if expires_at < hold.expires_at then expires_at = hold.expires_at end
  redis.call('HSET', hold_key, 'expires_at', expires_at)
  redis.call('ZADD', ctx.due, expires_at, checkout_id)
  local deltas = {}
  for i = 1, #hold.lines do deltas[i] = { hold.lines[i][1], 0, 0, 0, 0 } end
  decided(ctx, ev_key, event_id, checkout_id, 'extend', 'extended', nil, expires_at)
  if #deltas > 0 then
    emit_ledger(ctx.ledger, 'extend:' .. event_id, 'extend', event_id, checkout_id, ctx.now, deltas)
  end
  return { 'extended', '', tostring(expires_at) }
end
