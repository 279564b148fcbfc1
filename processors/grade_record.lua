-- KEYS: current, history (letter changes), outbox, revisions.
-- ARGV: doc, at (ms), letter, sig, history max, outbox max, revisions max, basis.
-- Returns {outcome, the outbox after this record}.
local at = tonumber(ARGV[2])
local cur = redis.call('HMGET', KEYS[1], 'at', 'sig', 'grade', 'basis')
local outcome = 'revised'
if cur[4] and tonumber(cur[4]) > tonumber(ARGV[8]) then
  return {'stale', redis.call('LRANGE', KEYS[3], 0, -1)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf')
redis.call('ZREMRANGEBYSCORE', KEYS[4], '(' .. ARGV[2], '+inf')
if cur[2] == ARGV[4] then
  redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'at', ARGV[2], 'basis', ARGV[8])
  outcome = 'unchanged'
else
  redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'at', ARGV[2], 'sig', ARGV[4], 'grade', ARGV[3],
             'basis', ARGV[8])
  if cur[3] ~= ARGV[3] then
    redis.call('ZADD', KEYS[2], at, ARGV[1])
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))
    redis.call('RPUSH', KEYS[3], (cur[3] or '') .. '|' .. ARGV[1])
    redis.call('LTRIM', KEYS[3], -tonumber(ARGV[6]), -1)
    outcome = 'changed'
  else
    redis.call('ZADD', KEYS[4], at, ARGV[1])
    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[7]) + 1))
  end
end
return {outcome, redis.call('LRANGE', KEYS[3], 0, -1)}
