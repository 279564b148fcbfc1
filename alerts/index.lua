-- The listing indices of alert documents, shared by upsert.lua, reindex.lua and sweep.lua
-- (alerts/index.py names the same keys for reading). Every key starts with the prefix
-- passed in, which carries the {alerts} hash tag: the script stays in one cluster slot.
local function index_keys(prefix, doc)
  local a = cjson.decode(doc)
  local keys = {}
  local owners = {'*'}
  for _, d in ipairs(a.departments or {}) do owners[#owners + 1] = d end
  -- (an alert always has these fields; `or` keeps a malformed one from failing the write)
  local status, rule, severity = a.status or 'open', a.rule_id or '', a.severity or ''
  for _, d in ipairs(owners) do
    local base = prefix .. 'd:' .. d
    keys[base] = true
    keys[base .. ':s:' .. status] = true
    keys[base .. ':r:' .. rule] = true
    keys[base .. ':v:' .. severity] = true
  end
  for _, u in ipairs(a.enterprises or {}) do keys[prefix .. 'e:' .. u] = true end
  return keys, a
end

-- Move alert `id` from the indices of `old_doc` to those of `new_doc` (either may be nil).
local function sync_index(prefix, id, old_doc, new_doc)
  local old, new = {}, {}
  if old_doc then old = index_keys(prefix, old_doc) end
  if new_doc then new = index_keys(prefix, new_doc) end
  for k in pairs(old) do if not new[k] then redis.call('ZREM', k, id) end end
  for k in pairs(new) do if not old[k] then redis.call('ZADD', k, 0, id) end end
end
