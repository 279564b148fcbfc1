-- Compare-and-set one profile together with its dedup record and pending index note.
-- KEYS[1] profile hash, KEYS[2] dedup set
-- ARGV[1] expected version, ARGV[2] new doc, ARGV[3] pending index ops ('' for none),
-- ARGV[4..] event identities applied by this write
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
if #ARGV > 3 then
  redis.call('SADD', KEYS[2], unpack(ARGV, 4))
end
return ver
