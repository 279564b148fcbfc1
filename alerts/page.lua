-- One step of a listing: walk the smallest of the query's indices newest first from a
-- position, keep the alerts that are in every other index of the query, answer their docs.
-- KEYS: doc hash, then the query's indices (an alert must be in all of them)
-- ARGV: start (a ZREVRANGEBYLEX bound), most candidates to examine, most matches wanted
-- Returns {examined, last examined id or false, 1 if the index ended, ids, docs}
local best, size = 2, nil
for i = 2, #KEYS do
  local n = redis.call('ZCARD', KEYS[i])
  if size == nil or n < size then best, size = i, n end
end
local start, left, want = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids, examined, last, ended = {}, 0, false, 0
while left > 0 and #ids < want do
  local chunk = math.min(left, math.max(want - #ids, 64))
  local batch = redis.call('ZREVRANGEBYLEX', KEYS[best], start, '-', 'LIMIT', 0, chunk)
  for _, id in ipairs(batch) do
    left, examined, last = left - 1, examined + 1, id
    local member = true
    for i = 2, #KEYS do
      if i ~= best and not redis.call('ZSCORE', KEYS[i], id) then
        member = false
        break
      end
    end
    if member then
      ids[#ids + 1] = id
      if #ids >= want then break end
    end
  end
  if #batch < chunk and #ids < want then ended = 1 end
  if ended == 1 or not last then break end
  start = '(' .. last
end
local docs = {}
if #ids > 0 then docs = redis.call('HMGET', KEYS[1], unpack(ids)) end
return {examined, last, ended, ids, docs}
