-- Retention: remove closed alerts from Redis (document, revision, listing indices, closed
-- index, and the open-fingerprint entry if, and only if, it still names this alert).
-- KEYS: doc, rev, open, closed, then each alert's listing indices in turn
-- ARGV: per alert: id, its closed-index score as read, SHA-1 of its document as read
--       ('' = none), how many listing indices it has
-- An alert whose score or document moved since it was read (written again) is left alone;
-- one that is open again (never, by the lifecycle) only leaves the closed index.
local removed, k = 0, 5
for i = 1, #ARGV, 4 do
  local id, score, sha, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local now_score = redis.call('ZSCORE', KEYS[4], id)
  if now_score and tonumber(now_score) == tonumber(score) then
    local doc = redis.call('HGET', KEYS[1], id)
    if not doc then
      redis.call('HDEL', KEYS[2], id)
      redis.call('ZREM', KEYS[4], id)
    elseif redis.sha1hex(doc) == sha then
      local a = cjson.decode(doc)
      if a.status == 'resolved' or a.status == 'dismissed' then
        for j = k, k + n - 1 do redis.call('ZREM', KEYS[j], id) end
        if redis.call('HGET', KEYS[3], a.fingerprint) == id then
          redis.call('HDEL', KEYS[3], a.fingerprint)
        end
        redis.call('HDEL', KEYS[1], id)
        redis.call('HDEL', KEYS[2], id)
        removed = removed + 1
      end
      redis.call('ZREM', KEYS[4], id)
    end
  end
  k = k + n
end
return removed
