-- Keep the newest snapshot. KEYS[1] snapshot hash; ARGV[1] seq, ARGV[2] bytes.
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '-1')
if tonumber(ARGV[1]) >= cur then
  redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'data', ARGV[2])
  return 1
end
return 0
