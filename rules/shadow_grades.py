"""The grade side of shadow rules (:mod:`rules.shadow`): when the candidate has grade
weights or cut-offs of its own, the workers grade each enterprise under both on the same
facts, and keep, per enterprise, the latest pair of letters apart from the live grades::

    {rw:rules:v1}:shadow:grades    hash  uscc -> "<live>|<shadow>|<live score>|<shadow
                                         score>|<at, epoch ms>" (the latest grading)
    {rw:rules:v1}:shadow:gcount    hash  "<live>><shadow>" -> enterprises whose latest pair
                                         it is (the transition matrix); "untracked"
    {rw:rules:v1}:shadow:gchanged  zset  the enterprises whose letters differ (lex order)

Bounded like the alert diff: once ``cap`` enterprises are followed, a new one is only
counted as ``untracked``. The keys share ``rw:rules:v1``'s hash slot, so a load, a drop and
a promotion clear them with the alert diff in the same step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from redis.asyncio import Redis

from streams.grade import LETTERS, Grade

GRADES_KEY: Final = "{rw:rules:v1}:shadow:grades"
GCOUNT_KEY: Final = "{rw:rules:v1}:shadow:gcount"
GCHANGED_KEY: Final = "{rw:rules:v1}:shadow:gchanged"
GRADE_KEYS: Final = (GRADES_KEY, GCOUNT_KEY, GCHANGED_KEY)
UNTRACKED: Final = "untracked"

# KEYS: shadow, grades, gcount, gchanged. ARGV: generation, cap, then per enterprise: uscc,
# value ("L|S|ls|ss|at"), at (ms). An older grading than the one kept changes nothing;
# nothing is recorded under a generation that is no longer the shadow's: -1.
RECORD_GRADES_LUA = """
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return -1 end
local cap = tonumber(ARGV[2])
for i = 3, #ARGV, 3 do
  local uscc, value, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local old = redis.call('HGET', KEYS[2], uscc)
  if not old and redis.call('HLEN', KEYS[2]) >= cap then
    redis.call('HINCRBY', KEYS[3], 'untracked', 1)
  elseif not old or tonumber(string.match(old, '([^|]*)$')) <= at then
    if old then
      redis.call('HINCRBY', KEYS[3], string.sub(old, 1, 1) .. '>' .. string.sub(old, 3, 3), -1)
    end
    redis.call('HSET', KEYS[2], uscc, value)
    local live, shadow = string.sub(value, 1, 1), string.sub(value, 3, 3)
    redis.call('HINCRBY', KEYS[3], live .. '>' .. shadow, 1)
    if live ~= shadow then
      redis.call('ZADD', KEYS[4], 0, uscc)
    else
      redis.call('ZREM', KEYS[4], uscc)
    end
  end
end
return 1
"""


@dataclass(frozen=True, slots=True)
class GradePair:
    """One enterprise's latest grading under the live rules and under the candidate."""

    uscc: str
    live: str
    shadow: str
    live_score: float
    shadow_score: float
    at_ms: int

    def value(self) -> str:
        return f"{self.live}|{self.shadow}|{self.live_score}|{self.shadow_score}|{self.at_ms}"


def pair_of(uscc: str, live: Grade, shadow: Grade) -> GradePair:
    at_ms = int(live.at.timestamp() * 1000)
    return GradePair(uscc, live.grade, shadow.grade, live.score, shadow.score, at_ms)


def decode_pair(uscc: str, raw: bytes | str | None) -> GradePair | None:
    """A stored pair, or ``None`` for none (or one this version cannot read)."""
    if not raw:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    parts = text.split("|")
    if len(parts) != 5 or parts[0] not in LETTERS or parts[1] not in LETTERS:
        return None
    try:
        return GradePair(uscc, parts[0], parts[1], float(parts[2]), float(parts[3]), int(parts[4]))
    except ValueError:
        return None


def record_grade_args(generation: int, cap: int, pairs: Sequence[GradePair]) -> list[Any]:
    """RECORD_GRADES_LUA's ARGV."""
    args: list[Any] = [generation, cap]
    for p in pairs:
        args += [p.uscc, p.value(), p.at_ms]
    return args


@dataclass(frozen=True, slots=True)
class GradeDiff:
    """The grade side of the diff: the transition matrix and a page of changed examples."""

    tracked: int  # enterprises followed since the candidate was loaded
    untracked: int  # enterprises seen after the cap was reached
    transitions: Mapping[tuple[str, str], int]  # (live, shadow) -> enterprises
    examples: list[GradePair]
    next_cursor: str | None

    @property
    def changed(self) -> int:
        return sum(n for (a, b), n in self.transitions.items() if a != b)


Transitions = dict[tuple[str, str], int]


def transitions_of(counts: Mapping[bytes | str, bytes | str]) -> tuple[Transitions, int]:
    """GCOUNT_KEY's hash as ``({(live, shadow): n}, untracked)``, zero counts left out."""
    out: Transitions = {}
    untracked = 0
    for k, v in counts.items():
        key = k.decode() if isinstance(k, bytes) else k
        n = int(v)
        if key == UNTRACKED:
            untracked = n
        elif n and len(key) == 3 and key[1] == ">":
            out[(key[0], key[2])] = n
    return out, untracked


async def read_grade_diff(redis: Redis, *, cursor: str | None, limit: int) -> GradeDiff:
    """The transition matrix and a page of enterprises whose letters differ, in USCC order
    after ``cursor``."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(GCOUNT_KEY)
        pipe.hlen(GRADES_KEY)
        pipe.zrangebylex(GCHANGED_KEY, f"({cursor}" if cursor else "-", "+", 0, limit + 1)
        counts, tracked, page = await pipe.execute()
    transitions, untracked = transitions_of(counts)
    usccs = [m.decode() if isinstance(m, bytes) else m for m in page]
    more = len(usccs) > limit
    usccs = usccs[:limit]
    raw = await redis.hmget(GRADES_KEY, usccs) if usccs else []
    examples = [p for u, v in zip(usccs, raw, strict=True) if (p := decode_pair(u, v))]
    return GradeDiff(
        tracked=int(tracked),
        untracked=untracked,
        transitions=transitions,
        examples=examples,
        next_cursor=usccs[-1] if more and usccs else None,
    )
