"""Shadow rules: a candidate rules version that the workers evaluate beside the live one,
on the same events, without telling anyone, until a platform admin promotes or drops it.

::

    {rw:rules:v1}:shadow           hash  doc: JSON {"rules": {rule_id: table}, "grading"
                                               (the [grading] table, when not the
                                               defaults), "version", "loaded_at", "loaded_by"}
                                         gen: +1 on every load, drop and promotion
    {rw:rules:v1}:shadow:seen      hash  fingerprint -> 1 (live raised it), 2 (the shadow
                                         did) or 3 (both), since the candidate was loaded
    {rw:rules:v1}:shadow:count     hash  "added|<rule_id>", "dropped|<rule_id>": alerts
                                         only the shadow / only live raised; "untracked"
    {rw:rules:v1}:shadow:examples  hash  fingerprint -> JSON example (one side only)
    {rw:rules:v1}:shadow:added     zset  fingerprints only the shadow raised (lex order)
    {rw:rules:v1}:shadow:dropped   zset  fingerprints only live raised
    {rw:rules:v1}:shadow:grades …  the grade diff, when the candidate grades differently
                                   (:mod:`rules.shadow_grades`)

The keys share ``rw:rules:v1``'s hash slot (the tag is that key's name), so a promotion
is one Lua step over the live doc and the shadow: it sets the live doc (its ``ver`` +1)
and clears the shadow together, and every worker's :class:`~rules.live.RulesWatcher`
reads one doc or the other, never a mix. The candidate is a whole rules file (TOML, or the
same document as JSON) checked exactly as the file is (:func:`rules.config.loads_rules_config`);
its rules version is :attr:`~rules.config.RulesConfig.version` of the rules it runs
(:func:`candidate_version`): the version the live rules have once it is promoted, and the
one the grades written after the promotion carry.

The diff counts alerts (fingerprints) over the time the candidate has been loaded: one
raised by the shadow and never by live is "added", the other way round "dropped". The
worker side is :mod:`processors.shadow`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from core.errors import RiskwireError
from rules.config import RulesConfig, loads_rules_config
from rules.grading.table import grading_table
from rules.grading.weights import DEFAULT_WEIGHTS
from rules.shadow_grades import GRADE_KEYS

SHADOW_KEY = "{rw:rules:v1}:shadow"
SEEN_KEY = "{rw:rules:v1}:shadow:seen"
COUNT_KEY = "{rw:rules:v1}:shadow:count"
EXAMPLES_KEY = "{rw:rules:v1}:shadow:examples"
ADDED_KEY = "{rw:rules:v1}:shadow:added"
DROPPED_KEY = "{rw:rules:v1}:shadow:dropped"
DIFF_KEYS = (SEEN_KEY, COUNT_KEY, EXAMPLES_KEY, ADDED_KEY, DROPPED_KEY, *GRADE_KEYS)
LIVE, SHADOW, BOTH = 1, 2, 3

# KEYS: shadow, the diff keys. ARGV: the doc ('' to drop). The new generation, or -1 when
# there was nothing to drop.
LOAD_LUA = """
if ARGV[1] == '' and redis.call('HEXISTS', KEYS[1], 'doc') == 0 then return -1 end
redis.call('UNLINK', unpack(KEYS, 2))
if ARGV[1] == '' then
  redis.call('HDEL', KEYS[1], 'doc')
else
  redis.call('HSET', KEYS[1], 'doc', ARGV[1])
end
return redis.call('HINCRBY', KEYS[1], 'gen', 1)
"""

# KEYS: rw:rules:v1, shadow, the diff keys. ARGV: expected shadow generation, expected live
# version, the new live doc. {live version, generation}; {-1, gen}: the shadow moved (or is
# gone); {-2, ver}: the live doc moved.
PROMOTE_LUA = """
local gen = tonumber(redis.call('HGET', KEYS[2], 'gen') or '0')
if gen ~= tonumber(ARGV[1]) or redis.call('HEXISTS', KEYS[2], 'doc') == 0 then
  return {-1, gen}
end
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver ~= tonumber(ARGV[2]) then return {-2, ver} end
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'ver', ver + 1)
redis.call('UNLINK', unpack(KEYS, 3))
redis.call('HDEL', KEYS[2], 'doc')
return {ver + 1, redis.call('HINCRBY', KEYS[2], 'gen', 1)}
"""

# KEYS: shadow, the diff keys. ARGV: generation, cap, then per alert: fingerprint, side
# (1 live, 2 shadow, 3 both), rule id, example JSON ('' for side 3). Nothing is recorded
# under a generation that is no longer the shadow's (dropped, reloaded, promoted): -1.
RECORD_LUA = """
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return -1 end
local cap = tonumber(ARGV[2])
local kinds = {[1] = {'dropped|', KEYS[6]}, [2] = {'added|', KEYS[5]}}
for i = 3, #ARGV, 4 do
  local fp, side, rule = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local mask = tonumber(redis.call('HGET', KEYS[2], fp) or '0')
  if mask == 0 and redis.call('HLEN', KEYS[2]) >= cap then
    redis.call('HINCRBY', KEYS[3], 'untracked', 1)
  elseif mask ~= side and mask ~= 3 then
    if mask == 0 then
      redis.call('HSET', KEYS[2], fp, side)
      if side ~= 3 then
        redis.call('HINCRBY', KEYS[3], kinds[side][1] .. rule, 1)
        redis.call('ZADD', kinds[side][2], 0, fp)
        redis.call('HSET', KEYS[4], fp, ARGV[i + 3])
      end
    else
      redis.call('HSET', KEYS[2], fp, 3)
      redis.call('HINCRBY', KEYS[3], kinds[mask][1] .. rule, -1)
      redis.call('ZREM', kinds[mask][2], fp)
      redis.call('HDEL', KEYS[4], fp)
    end
  end
end
return 1
"""


class ShadowConflict(RiskwireError):
    """The shadow or the live rules changed since the caller read them (HTTP 409)."""


class NoShadow(RiskwireError):
    """No candidate is loaded in shadow (HTTP 404)."""


def candidate_config(
    tables: Mapping[str, Any], grading: Mapping[str, Any] | None = None
) -> RulesConfig:
    """The rules a candidate runs: a whole rules file (its ``[rules.*]`` tables and its
    ``[grading]`` table), defaults where it is silent. Raises
    :class:`~core.errors.ConfigError`."""
    doc: dict[str, Any] = {"rules": tables}
    if grading is not None:
        doc["grading"] = grading
    return loads_rules_config(orjson.dumps(doc).decode(), "shadow", as_json=True)[0]


def candidate_version(tables: Mapping[str, Any], grading: Mapping[str, Any] | None = None) -> str:
    """The rules version of a candidate: :attr:`RulesConfig.version` of what it runs, so
    the same whatever the order or the format its rules came in, and the live version's
    once it is promoted.

    >>> candidate_version({"tax_arrears": {"min_arrears_cny": 5000}})[:2]
    'r-'
    >>> candidate_version({}) == RulesConfig().version
    True
    """
    return candidate_config(tables, grading).version


@dataclass(frozen=True, slots=True)
class Shadow:
    """The candidate in shadow, as stored."""

    generation: int
    rules: Mapping[str, Mapping[str, Any]]
    version: str
    loaded_at: str
    loaded_by: str
    grading: Mapping[str, Any] | None = None  # the [grading] table, None for the defaults

    def doc(self) -> bytes:
        body: dict[str, Any] = {
            "rules": self.rules,
            "version": self.version,
            "loaded_at": self.loaded_at,
            "loaded_by": self.loaded_by,
        }
        if self.grading is not None:
            body["grading"] = self.grading
        return orjson.dumps(body)

    def config(self) -> RulesConfig:
        """The rules the candidate runs (:func:`candidate_config`)."""
        return candidate_config(self.rules, self.grading)


def draft_shadow(text: str, origin: str, *, as_json: bool, by: str, loaded_at: str) -> Shadow:
    """A candidate rules file (TOML, or the same document as JSON) checked exactly as the
    file is, as it is stored (generation 0 until loaded). Raises
    :class:`~core.errors.ConfigError`."""
    config, tables = loads_rules_config(text, origin, as_json=as_json)
    grading = None if config.grading == DEFAULT_WEIGHTS else grading_table(config.grading)
    return Shadow(0, tables, config.version, loaded_at, by, grading)


def decode_shadow(doc: bytes | str | None, gen: bytes | str | None) -> Shadow | None:
    if not doc:
        return None
    data = orjson.loads(doc)
    return Shadow(
        generation=int(gen or 0),
        rules=data["rules"],
        version=data["version"],
        loaded_at=data["loaded_at"],
        loaded_by=data["loaded_by"],
        grading=data.get("grading"),
    )


def record_args(generation: int, cap: int, seen: Mapping[str, tuple[int, str, bytes]]) -> list[Any]:
    """RECORD_LUA's ARGV for ``{fingerprint: (side, rule_id, example JSON)}``."""
    args: list[Any] = [generation, cap]
    for fp, (side, rule_id, example) in seen.items():
        args += [fp, side, rule_id, example if side != BOTH else b""]
    return args
