-- Common front half of confirm / cancel / extend: dedupe, look the hold up, and turn every
-- non-active state into its rejection. Returns (hold fields) or nil after writing the rejection.
-- KEYS: 1 event dedupe key, 2 hold key, 3 holds:due, 4 outcomes stream, 5 ledger stream,
--       6 shard prefix
-- ARGV: 1 now ms ('' = Redis clock), 2 event_id, 3 checkout_id, 4 dedupe ttl s,
--       5 outcomes maxlen, ...
local function load_active_hold(typ, reject_past_deadline)
  local now = now_ms(ARGV[1])
  if redis.call('GET', KEYS[1]) == 'd' then return nil, now, { 'duplicate', '', '' } end
  local h = redis.call('HMGET', KEYS[2], 'state', 'user', 'lines', 'expires_at', 'max_until', 'n')
  local state = h[1]
  local reason = nil
  if not state then
    reason = 'unknown_hold'
  elseif state == 'confirmed' then
    reason = 'hold_confirmed'
  elseif state == 'cancelled' then
    reason = 'hold_cancelled'
  elseif state == 'expired' then
    reason = 'hold_expired'
  elseif reject_past_deadline and now >= tonumber(h[4]) then
    -- Past its deadline but not yet swept: the sweep will release it within one interval.
    reason = 'hold_expired'
  end
  if reason then
    emit_outcome(KEYS[4], ARGV[5], ARGV[2], ARGV[3], typ, 'rejected', reason, nil, now)
    mark_decided(KEYS[1], ARGV[4])
    return nil, now, { 'rejected', reason, '' }
  end
  return {
    user = h[2], lines = cjson.decode(h[3]), expires_at = tonumber(h[4]),
    max_until = tonumber(h[5]), n = h[6],
  }, now, nil
end
