-- Compare-and-set one profile together with its dedup record and pending index note, and
-- forget the identities applied more than the horizon ago (processors/profiles/horizon.py).
-- KEYS[1] profile hash, KEYS[2] dedup zset
-- ARGV[1] expected version, ARGV[2] new doc, ARGV[3] pending index ops ('' for none),
-- ARGV[4] cutoff score (identities scored below it are forgotten),
-- ARGV[5..] score, member pairs of the events applied by this write
-- Returns the new version, or -1 when the version moved (the caller re-reads).
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver ~= tonumber(ARGV[1]) then
  return -1
end
ver = ver + 1
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', ver)
  redis.call('HDEL', KEYS[1], 'ix')
else
  redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', ver, 'ix', ARGV[3])
end
if #ARGV > 4 then
  redis.call('ZADD', KEYS[2], unpack(ARGV, 5))
end
-- The forgotten identities' latest business minute, per source tag, becomes its mark:
-- an event not in the set and not later than its mark may have been applied.
local below = '(' .. ARGV[4]
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', below, 'WITHSCORES')
if #old > 0 then
  local marks = {}
  for i = 2, #old, 2 do
    local low = tonumber(old[i]) % 8589934592 -- below the arrival hour (2^33)
    local tag = low % 128
    local minute = (low - tag) / 128
    local field = 'h' .. tag
    if marks[field] == nil or minute > marks[field] then
      marks[field] = minute
    end
  end
  for field, minute in pairs(marks) do
    local mark = tonumber(redis.call('HGET', KEYS[1], field) or '-1')
    if minute > mark then
      redis.call('HSET', KEYS[1], field, string.format('%d', minute))
    end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', below)
end
return ver
