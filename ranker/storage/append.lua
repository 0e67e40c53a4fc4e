-- Append one event to an existing survey's log, or create the log.
-- KEYS[1] log stream, KEYS[2] head counter, KEYS[3] gate (seq of the last gate event)
-- ARGV[1] event bytes, ARGV[2] '1' to create a new survey, '0' to append,
-- ARGV[3] the seq the caller checked at ('' = no check), ARGV[4] '1' if this is a gate event
-- Returns the new sequence number, -1 if the survey exists (create) or is unknown (append),
-- {-3, gate} when the gate is above the checked seq (nothing written).
local exists = redis.call('EXISTS', KEYS[2]) == 1
if (ARGV[2] == '1') == exists then
  return -1
end
if ARGV[3] ~= '' then
  local gate = tonumber(redis.call('GET', KEYS[3]) or '0')
  if gate > tonumber(ARGV[3]) then
    return {-3, gate}
  end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], seq .. '-0', 'e', ARGV[1])
if ARGV[4] == '1' then
  redis.call('SET', KEYS[3], seq)
end
return seq
