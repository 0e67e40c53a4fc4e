-- One hit on a fixed-window counter.
-- KEYS[1] counter of the current window; ARGV[1] limit, ARGV[2] TTL (ms, to the window end)
-- Returns the count, or {-1, retry_after_ms} over the limit (the hit is not counted).
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return {-1, redis.call('PTTL', KEYS[1])}
end
return n
