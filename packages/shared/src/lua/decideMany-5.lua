#!lua
--[[
  decideMany (reserver): decides a whole batch of inbound events in one call — one EVALSHA
  instead of one per event — with exactly the functions of reserve-6 / confirm-6 / cancel-6 /
  extend-6 (includes/decide.lua), in the order given. Each event's decision is atomic (the
  whole call is); an event that raises an error gets an error reply in its slot and the others
  are decided all the same.

  The events are the S in payloads exactly as ingest wrote them (validation/internal-event.ts:
  {"t","e","c","u","l","h","s","r"}); the reserver passes them through without parsing, so the
  payload's shape is checked here, before anything is written: a malformed one gets an error
  starting "ERR bad_event" (the reserver dead-letters it) and changes nothing.

  KEYS  1 holds:due  2 outcomes stream (checkout:outcomes:{shard})  3 ledger stream
        4 shard prefix (S; ev:/hold:/stock:/usage:/seq keys are built from it, same hash tag)
        5 reply streams' prefix (checkout:replies:{shard}:; an event's `r` is appended to it)
  ARGV  1 now ms ('' = Redis clock)  2 dedupe ttl s  3 outcomes maxlen  4 ttl s of a finished hold
        5 max total hold ms  6 default hold s  7 min hold s  8 max hold s
        9 cross-shard answer deadline ms  10 reply stream maxlen  11 reply stream idle ttl s
        12.. one payload per event

  Besides the four checkout events, the payloads may be the messages of a cart across shards
  (includes/saga.lua), relayed from another shard's outbox: part_reserve, part_result,
  part_confirm, part_release. A reserve whose payload carries `p` (each line's shard) is such a
  cart; it writes no outcome yet (status 'pending') and sends its parts' messages to S out.
  Returns per event { status, reason, expires_at, type, src_id } (the first three as the
  one-event scripts document; type and src_id echoed from the payload), or an error.
]]
--@include "common"
--@include "saga"
--@include "decide"

local ctx = {
  now = now_ms(ARGV[1]), due = KEYS[1], outcomes = KEYS[2], ledger = KEYS[3], prefix = KEYS[4], shard = shard_of(KEYS[4]),
  maxlen = ARGV[3], dedupe_ttl = ARGV[2], finished_ttl = ARGV[4],
  hold = { default = tonumber(ARGV[6]), min = tonumber(ARGV[7]), max = tonumber(ARGV[8]) },
  part_timeout_ms = ARGV[9], replies = KEYS[5], reply_maxlen = ARGV[10], reply_ttl = ARGV[11],
}
local max_total_ms = ARGV[5]
local prefix = KEYS[4]

local function nonempty(v) return type(v) == 'string' and v ~= '' end

local function shard_name(v) return type(v) == 'string' and string.match(v, '^[A-Za-z0-9_-]+$') ~= nil and #v <= 32 end

local PARTS = { part_reserve = true, part_result = true, part_confirm = true, part_release = true }

-- Why a payload can't be decided, or nil.
local function bad_event(ok, ev)
  if not ok or type(ev) ~= 'table' then return 'payload is not a JSON object' end
  if not nonempty(ev.e) or not nonempty(ev.c) then return 'missing e (event_id) or c (checkout_id)' end
  if not nonempty(ev.s) then return 'missing s (source entry id)' end
  if ev.r ~= nil and not (type(ev.r) == 'string' and #ev.r <= 64 and string.match(ev.r, '^[A-Za-z0-9_-]+$')) then
    return 'r (reply_to) must be 1-64 characters of A-Za-z0-9_-'
  end
  if ev.h ~= nil and (type(ev.h) ~= 'number' or ev.h < 1 or ev.h % 1 ~= 0) then
    return 'h (hold seconds) must be a positive integer'
  end
  if ev.t == 'reserve' or ev.t == 'part_reserve' then
    if not nonempty(ev.u) then return 'missing u (user_id) on reserve' end
    if type(ev.l) ~= 'table' then return 'l (lines) must be an array on reserve' end
    local bl = bad_lines(ev.l)
    if bl then return bl end
    if ev.p ~= nil then
      if type(ev.p) ~= 'table' or #ev.p ~= #ev.l then return 'p (line shards) must match l' end
      for i = 1, #ev.p do if not shard_name(ev.p[i]) then return 'p[' .. i .. '] is not a shard name' end end
    end
  end
  if PARTS[ev.t] then
    if not shard_name(ev.o) and ev.t ~= 'part_result' then return 'missing o (home shard)' end
    if ev.t == 'part_result' and (not shard_name(ev.f) or (ev.k ~= 0 and ev.k ~= 1)) then
      return 'a part_result needs f (shard) and k (0 or 1)'
    end
  elseif ev.t == 'reserve' then
    -- checked above
  elseif ev.t ~= 'confirm' and ev.t ~= 'cancel' and ev.t ~= 'extend' then
    return 't must be reserve, confirm, cancel or extend'
  end
  return nil
end

local out = {}
for i = 12, #ARGV do
  local ok, ev = pcall(cjson.decode, ARGV[i])
  local bad = bad_event(ok, ev)
  local r
  if bad then
    r = redis.error_reply('ERR bad_event: ' .. bad)
  else
    local ev_key, hold_key = prefix .. 'ev:' .. ev.e, prefix .. 'hold:' .. ev.c
    -- Its reply stream (contract v2 `reply_to`); a retry's is found by already_decided.
    -- (Only a checkout event's `r` is a reply_to: a relayed part_result's `r` is its reason.)
    ctx.reply_to, ctx.also_to = (not PARTS[ev.t]) and ev.r or nil, nil
    if ev.t == 'reserve' then
      r = decide_reserve(ctx, ev_key, hold_key, ev.e, ev.c, ev.u, ev.l, nil, ev.h, max_total_ms, ev.p)
    elseif ev.t == 'part_reserve' then
      r = decide_part_reserve(ctx, ev)
    elseif ev.t == 'part_result' then
      r = decide_part_result(ctx, ev)
    elseif ev.t == 'part_confirm' then
      r = decide_part_confirm(ctx, ev)
    elseif ev.t == 'part_release' then
      r = decide_part_release(ctx, ev)
    elseif ev.t == 'confirm' then
      r = decide_confirm(ctx, ev_key, hold_key, ev.e, ev.c)
    elseif ev.t == 'cancel' then
      r = decide_cancel(ctx, ev_key, hold_key, ev.e, ev.c)
    else
      r = decide_extend(ctx, ev_key, hold_key, ev.e, ev.c, ev.h)
    end
    if not r.err then r[4] = ev.t; r[5] = ev.s end
  end
  out[#out + 1] = r
end
return out
