-- Backfill: put stored alerts into the listing and closed indices (idempotent).
-- KEYS: doc, closed, seq, then each alert's listing indices in turn
-- ARGV: per alert: id, SHA-1 of its document as read, how many listing indices it has
-- Returns {how many it indexed, the ids whose document changed since it was read}.
-- A closed alert is scored with the current feed sequence: the sweep takes it once the
-- relay has published everything written before the backfill.
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local done, moved, k = 0, {}, 4
for i = 1, #ARGV, 3 do
  local id, n = ARGV[i], tonumber(ARGV[i + 2])
  local doc = redis.call('HGET', KEYS[1], id)
  if doc and redis.sha1hex(doc) == ARGV[i + 1] then
    for j = k, k + n - 1 do redis.call('ZADD', KEYS[j], 0, id) end
    local status = cjson.decode(doc).status
    if status == 'resolved' or status == 'dismissed' then
      redis.call('ZADD', KEYS[2], 'NX', seq, id)
    end
    done = done + 1
  elseif doc then
    moved[#moved + 1] = id
  end
  k = k + n
end
return {done, moved}
