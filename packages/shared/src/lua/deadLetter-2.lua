#!lua
--[[
  deadLetter (every stream worker): writes the dead letters of a batch, each at most once. The
  worker acks the source entries afterwards, in a separate XACK: on Redis Cluster the source
  stream and the dead stream sit in different slots, so the two can't share a MULTI. A crash
  between this call and the XACK redelivers the entry, the worker dead-letters it again, and
  the marker written here turns that second call into a no-op: exactly one dead letter.

  KEYS  1 dead stream (<ns>checkout:dead)
        2 marker prefix, <ns>hf:dead-seen:{<dead stream>}: (the dead stream's own slot: its
          hash tag is the dead stream's name, or that name's hash tag if it has one); each
          dead letter's marker is built from it, prefix .. '<source stream>:<entry id>', as in
          deadSeenPrefix/deadSeenKey of stream-worker.ts
  ARGV  1 marker ttl s, then per dead letter: its marker suffix ('<source stream>:<entry id>'),
        n = how many field/value strings follow, and those n strings (deadLetterFields)
  Returns one integer per dead letter: 1 written, 0 already written (its marker exists).

  The marker is checked first and set only after the XADD succeeded (the call is atomic, so
  this equals SET NX then XADD), so a failing XADD never leaves a marker without its letter.
]]
local dead, prefix, ttl = KEYS[1], KEYS[2], ARGV[1]
local out = {}
local a = 2
while a <= #ARGV do
  local marker = prefix .. ARGV[a]
  local n = tonumber(ARGV[a + 1])
  if redis.call('EXISTS', marker) == 1 then
    out[#out + 1] = 0
  else
    redis.call('XADD', dead, '*', unpack(ARGV, a + 2, a + 1 + n))
    redis.call('SET', marker, '1', 'EX', ttl)
    out[#out + 1] = 1
  end
  a = a + 2 + n
end
return out
