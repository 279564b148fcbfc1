-- Compare-and-set one alert, keep the fingerprint index, the listing indices and the
-- closed index, append the change to the feed.
-- KEYS: open, doc, rev, seq, feed, closed, then the listing indices the alert leaves
--       (ARGV[11] of them), then those it joins (alerts/index_keys.py names them)
-- ARGV: fingerprint, alert_id, expected revision (0 = new), new revision, alert JSON,
--       still open (1/0), feed maxlen, change, received_ms, SHA-1 of the stored document
--       the indices it leaves were computed from ('' = none), how many it leaves, the
--       alert as the feed stores it (alerts/feed_codec.py)
-- Returns the feed sequence number, or -1 when the revision (or the document) moved.
local fp, id = ARGV[1], ARGV[2]
local expected = tonumber(ARGV[3])
if expected == 0 then
  if redis.call('HEXISTS', KEYS[1], fp) == 1 then return -1 end
else
  local rev = tonumber(redis.call('HGET', KEYS[3], id) or '0')
  if rev ~= expected then return -1 end
end
local old = redis.call('HGET', KEYS[2], id)
if (old and redis.sha1hex(old) or '') ~= ARGV[10] then return -1 end
redis.call('HSET', KEYS[2], id, ARGV[5])
redis.call('HSET', KEYS[3], id, ARGV[4])
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[1], fp, id)
elseif redis.call('HGET', KEYS[1], fp) == id then
  redis.call('HDEL', KEYS[1], fp)
end
local seq = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], seq .. '-0',
  'alert', ARGV[12], 'change', ARGV[8], 'received_ms', ARGV[9])
local leave = tonumber(ARGV[11])
for i = 7, 6 + leave do redis.call('ZREM', KEYS[i], id) end
for i = 7 + leave, #KEYS do redis.call('ZADD', KEYS[i], 0, id) end
-- A closed alert waits in the closed index, scored by the feed entry that closed it, for
-- the retention sweep (which takes only what the Kafka relay has published).
if ARGV[6] == '1' then
  redis.call('ZREM', KEYS[6], id)
else
  redis.call('ZADD', KEYS[6], seq, id)
end
return seq
