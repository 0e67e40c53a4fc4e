-- Accept one answer atomically.
-- KEYS[1] log stream, KEYS[2] head counter, KEYS[3] ballot marker, KEYS[4] rate counter,
-- KEYS[5] gate (seq of the survey's last gate event), KEYS[6] the voter's answer count
-- ARGV[1] event bytes, ARGV[2] ballot marker TTL (ms), ARGV[3] rate limit (0 = none),
-- ARGV[4] rate counter TTL (ms, to the end of the window), ARGV[5] the seq the caller
-- checked its rules at: refused if the gate is above it; else the reply carries the entries
-- between it and the new answer (at most 256), so the caller needs no read to catch up;
-- ARGV[6] the voter's answer count when the ballot was issued (-1: unchecked), ARGV[7] how
-- many answers of the voter a ballot stays answerable for (0: any)
-- Returns {0, seq, data} for an already answered ballot (nothing written), {-2} for an
-- unknown survey, {-3, gate} when the gate is above the checked seq (nothing written, the
-- rate not counted), {-1, retry_after_ms} when rate limited (nothing written),
-- {1, seq, gap} when appended; gap is a list of {seq, data} (or 0: too many, read them).
local used = redis.call('GET', KEYS[3])
if used then
  local e = redis.call('XRANGE', KEYS[1], used .. '-0', used .. '-0')
  return {0, tonumber(used), e[1][2][2]}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {-2}
end
local checked = tonumber(ARGV[5])
local gate = tonumber(redis.call('GET', KEYS[5]) or '0')
if gate > checked then
  return {-3, gate}
end
local cast = tonumber(redis.call('GET', KEYS[6]) or '0')
local before = tonumber(ARGV[6] or '-1')
local open = tonumber(ARGV[7] or '0')
if open > 0 and before >= 0 and cast >= before + open then
  return {-4}
end
local limit = tonumber(ARGV[3])
if limit > 0 then
  local n = redis.call('INCR', KEYS[4])
  if n == 1 then
    redis.call('PEXPIRE', KEYS[4], ARGV[4])
  end
  if n > limit then
    redis.call('DECR', KEYS[4])
    return {-1, redis.call('PTTL', KEYS[4])}
  end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], seq .. '-0', 'e', ARGV[1])
redis.call('SET', KEYS[3], seq, 'PX', ARGV[2])
redis.call('INCR', KEYS[6])
if checked < 0 then
  checked = 0
end
if seq - 1 <= checked then
  return {1, seq, {}}
end
if seq - 1 - checked > 256 then
  return {1, seq, 0}
end
local gap = {}
for i, e in ipairs(redis.call('XRANGE', KEYS[1], (checked + 1) .. '-0', (seq - 1) .. '-0')) do
  gap[i] = {tonumber(string.match(e[1], '^(%d+)')), e[2][2]}
end
return {1, seq, gap}
