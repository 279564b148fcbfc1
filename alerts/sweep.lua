-- Retention: remove closed alerts from Redis (document, revision, listing indices, closed
-- index, and the open-fingerprint entry if, and only if, it still names this alert).
-- KEYS: doc, rev, open, closed
-- ARGV: index key prefix, then pairs of alert id and its closed-index score as read
-- An alert whose score moved since it was read (written again) is left alone; one that is
-- open again (never, by the lifecycle) only leaves the closed index.
local removed = 0
for i = 2, #ARGV, 2 do
  local id, score = ARGV[i], ARGV[i + 1]
  local now_score = redis.call('ZSCORE', KEYS[4], id)
  if now_score and tonumber(now_score) == tonumber(score) then
    local doc = redis.call('HGET', KEYS[1], id)
    if doc then
      local _, a = index_keys(ARGV[1], doc)
      if a.status == 'resolved' or a.status == 'dismissed' then
        sync_index(ARGV[1], id, doc, nil)
        if redis.call('HGET', KEYS[3], a.fingerprint) == id then
          redis.call('HDEL', KEYS[3], a.fingerprint)
        end
        redis.call('HDEL', KEYS[1], id)
        redis.call('HDEL', KEYS[2], id)
        removed = removed + 1
      end
    else
      redis.call('HDEL', KEYS[2], id)
    end
    redis.call('ZREM', KEYS[4], id)
  end
end
return removed
