"""The delivery queue's Lua steps (:mod:`alerts.notify.queue`).

Every key a step touches is declared in ``KEYS``, as Redis Cluster requires of a script
(a script runs on the node of its declared keys' slot; a key it made up from a prefix is an
undeclared access even when it shares the hash tag). The per-endpoint due sets come after
the fixed keys, one per endpoint the step may touch, and the endpoint ids in ``ARGV`` say
which set is whose. A claim and the waiting count read the due endpoints first (one
command) and then run their step with those endpoints' sets declared; the step checks each
against the index again, so an endpoint that stopped being due in between is skipped and
one that became due is taken by the next claim.
``tests/integration/test_script_keys.py`` watches the steps run with ``MONITOR``.
"""

from __future__ import annotations

from typing import Final

_REFRESH: Final = """
local function refresh(ep, due)
  local first = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('ZADD', KEYS[1], first[2], ep)
  else
    redis.call('ZREM', KEYS[1], ep)
  end
end
"""

ENQUEUE: Final = (
    _REFRESH
    + """
-- KEYS: index, pending, done, departments, then each endpoint's due set. ARGV: now, then
-- (id, endpoint, department, doc, position of the endpoint's due set in KEYS) quintuples.
local added = 0
for i = 2, #ARGV, 5 do
  local id, ep, due = ARGV[i], ARGV[i + 1], KEYS[tonumber(ARGV[i + 4])]
  if redis.call('HEXISTS', KEYS[2], id) == 0 and not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('HSET', KEYS[2], id, ARGV[i + 3])
    redis.call('HSET', KEYS[4], ep, ARGV[i + 2])
    redis.call('ZADD', due, ARGV[1], id)
    refresh(ep, due)
    added = added + 1
  end
end
return added
"""
)

CLAIM: Final = (
    _REFRESH
    + """
-- KEYS: index, pending, departments, then the due set of each candidate endpoint.
-- ARGV: now, lease end, limit, per endpoint, per department, number of endpoint pairs,
-- number of department pairs, then (endpoint, in flight) pairs, (department, in flight)
-- pairs, and the candidate endpoints in the order of their due sets in KEYS.
-- Returns the claimed deliveries' docs.
local now, lease, limit, per = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local per_dept = tonumber(ARGV[5])
local eps_end = 7 + 2 * tonumber(ARGV[6])
local depts_end = eps_end + 2 * tonumber(ARGV[7])
local busy, dept_busy = {}, {}
for i = 8, eps_end, 2 do busy[ARGV[i]] = tonumber(ARGV[i + 1]) end
for i = eps_end + 1, depts_end, 2 do dept_busy[ARGV[i]] = tonumber(ARGV[i + 1]) end
local out = {}
for i = depts_end + 1, #ARGV do
  local ep, due = ARGV[i], KEYS[3 + i - depts_end]
  local at = redis.call('ZSCORE', KEYS[1], ep)
  if at and tonumber(at) <= tonumber(now) then
    local dept = redis.call('HGET', KEYS[3], ep) or ''
    local free = math.min(per - (busy[ep] or 0), per_dept - (dept_busy[dept] or 0), limit - #out)
    if free > 0 then
      local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, free)
      for _, id in ipairs(ids) do
        local doc = redis.call('HGET', KEYS[2], id)
        if doc then
          redis.call('ZADD', due, lease, id)
          dept_busy[dept] = (dept_busy[dept] or 0) + 1
          out[#out + 1] = doc
        else
          redis.call('ZREM', due, id)
        end
      end
      refresh(ep, due)
    end
  end
  if #out >= limit then break end
end
return out
"""
)

SETTLE: Final = (
    _REFRESH
    + """
-- KEYS: index, pending, done, log, dead letters, the endpoint's due set. ARGV: id,
-- endpoint, now, done keep (ms), log max, attempt JSON or '', dead letter JSON or '', then
-- for a retry: doc, next attempt time.
local id, ep, now, due = ARGV[1], ARGV[2], tonumber(ARGV[3]), KEYS[6]
if ARGV[8] then
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    redis.call('HSET', KEYS[2], id, ARGV[8])
    redis.call('ZADD', due, ARGV[9], id)
  end
else
  local was_pending = redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', due, id)
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[4]))
  if ARGV[7] ~= '' and was_pending == 1 then
    redis.call('HSET', KEYS[5], id, ARGV[7])
  end
end
refresh(ep, due)
if ARGV[6] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[6])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
end
return 1
"""
)

WAITING: Final = """
-- KEYS: index, then the due set of each endpoint in ARGV (in that order). Each endpoint
-- still in the index: id, how many, the earliest time one of them is due (ms).
local out = {}
for i = 1, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    local first = redis.call('ZRANGE', KEYS[1 + i], 0, 0, 'WITHSCORES')
    out[#out + 1] = ARGV[i]
    out[#out + 1] = redis.call('ZCARD', KEYS[1 + i])
    out[#out + 1] = first[2] or '0'
  end
end
return out
"""

REPLAY: Final = (
    _REFRESH
    + """
-- KEYS: index, pending, done, dead letters, the endpoint's due set. ARGV: endpoint, now,
-- then (id, fresh doc) pairs. Each dead letter taken back is due now; answers how many.
local ep, due, n = ARGV[1], KEYS[5], 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HDEL', KEYS[4], id) == 1 and redis.call('HEXISTS', KEYS[2], id) == 0 then
    redis.call('ZREM', KEYS[3], id)
    redis.call('HSET', KEYS[2], id, ARGV[i + 1])
    redis.call('ZADD', due, ARGV[2], id)
    n = n + 1
  end
end
refresh(ep, due)
return n
"""
)
