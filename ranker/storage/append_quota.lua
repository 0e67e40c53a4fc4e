-- Append one event while a counter is under its limit, counting the append.
-- KEYS[1] log stream, KEYS[2] head counter, KEYS[3] quota counter (no TTL), KEYS[4] gate
-- ARGV[1] event bytes, ARGV[2] limit, ARGV[3] the seq the caller checked at ('' = no check)
-- Returns the new sequence number, -1 for an unknown survey, {-3, gate} when the gate is
-- above the checked seq, -2 when the quota is used up (nothing written in these cases).
if redis.call('EXISTS', KEYS[2]) == 0 then
  return -1
end
if ARGV[3] ~= '' then
  local gate = tonumber(redis.call('GET', KEYS[4]) or '0')
  if gate > tonumber(ARGV[3]) then
    return {-3, gate}
  end
end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[2]) then
  return -2
end
redis.call('INCR', KEYS[3])
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], seq .. '-0', 'e', ARGV[1])
return seq
