-- Append one event to an existing survey's log, or create the log.
-- KEYS[1] log stream, KEYS[2] head counter
-- ARGV[1] event bytes, ARGV[2] '1' to create a new survey, '0' to append
-- Returns the new sequence number, -1 if the survey exists (create) or is unknown (append).
local exists = redis.call('EXISTS', KEYS[2]) == 1
if (ARGV[2] == '1') == exists then
  return -1
end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], seq .. '-0', 'e', ARGV[1])
return seq
