-- Backfill: put stored alerts into the listing and closed indices (idempotent).
-- KEYS: doc, closed, seq
-- ARGV: index key prefix, alert ids...
-- A closed alert is scored with the current feed sequence: the sweep takes it once the
-- relay has published everything written before the backfill.
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local done = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local doc = redis.call('HGET', KEYS[1], id)
  if doc then
    local keys, a = index_keys(ARGV[1], doc)
    for k in pairs(keys) do redis.call('ZADD', k, 0, id) end
    if a.status == 'resolved' or a.status == 'dismissed' then
      redis.call('ZADD', KEYS[2], 'NX', seq, id)
    end
    done = done + 1
  end
end
return done
