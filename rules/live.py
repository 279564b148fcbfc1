"""Rule thresholds changed while riskwire runs: the deployment's overrides live in Redis,
on top of the rules file (or the defaults), and every worker picks them up within seconds.

::

    rw:rules:v1   hash  doc: JSON {"rules": {rule_id: {key: value, "enabled": bool}},
                                   "grading": the whole [grading] table (optional: set
                                   only by promoting a shadow candidate that has one),
                                   "updated_at": ..., "updated_by": ...}
                        ver: the version, +1 on every change

An override is checked exactly as strictly as a rules file (:func:`rules.config.apply_tables`):
an unknown rule, an unknown key or a value of the wrong type is refused before it is stored.
A write is a compare-and-set on ``ver``. A worker's :class:`RulesWatcher` polls ``ver`` (one
``HGET``) and, when it moved, rebuilds the rules and swaps them into its engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from redis.asyncio import Redis

from core.cas import AGAIN, Again, compare_and_set
from core.errors import ConfigError, RiskwireError
from core.telemetry import get_logger
from rules.base import Rule
from rules.config import RulesConfig, apply_tables, build_rules, load_rules_config
from rules.grading.table import GradingError, checked_grading

if TYPE_CHECKING:
    from core.settings import Settings

RULES_KEY = "rw:rules:v1"
log = get_logger(__name__)

_PUT_LUA = """
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', ver + 1)
return ver + 1
"""
MAX_ATTEMPTS = 20


class VersionConflict(RiskwireError):
    """The overrides changed since the version the caller read (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class Overrides:
    version: int = 0
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    updated_at: str | None = None
    updated_by: str | None = None
    # The rules this version replaced (set by :meth:`LiveRules.put`: the audit's "before").
    previous: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The grade weights and cut-offs in force instead of the base's (a whole [grading]
    # table), None to keep the base's: only a promoted shadow candidate sets them.
    grading: Mapping[str, Any] | None = None

    def doc(self) -> bytes:
        """The stored document (``rw:rules:v1``'s ``doc``)."""
        body: dict[str, Any] = {
            "rules": self.rules,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }
        if self.grading is not None:
            body["grading"] = self.grading
        return orjson.dumps(body)


def _fail(message: str, rule_id: str | None = None, key: str | None = None) -> ConfigError:
    return ConfigError(message)


def checked_table(rule_id: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """One rule's override, checked as strictly as a rules file; raises :class:`ConfigError`.

    >>> checked_table("tax_arrears", {"min_arrears_cny": 50000, "enabled": True})
    {'min_arrears_cny': 50000.0, 'enabled': True}
    >>> checked_table("tax_arrears", {"ratings": "D"})
    Traceback (most recent call last):
        ...
    core.errors.ConfigError: [rules.tax_arrears] ratings must be an array of strings
    """
    config = apply_tables(RulesConfig(), {rule_id: dict(table)}, _fail)
    out: dict[str, Any] = {}
    for key in table:
        if key == "enabled":
            out[key] = config.enabled(rule_id)
        else:
            out[key] = config.params(rule_id).as_json()[key]
    return out


def effective(base: RulesConfig, overrides: Overrides) -> RulesConfig:
    """The rules config the workers run: ``base`` (file or defaults) with the overrides,
    and the overrides' grade weights when they have some."""
    config = apply_tables(base, overrides.rules, _fail)
    if overrides.grading is None:
        return config
    try:
        return replace(config, grading=checked_grading(overrides.grading))
    except GradingError as exc:
        raise ConfigError(f"live grading: {exc}") from None


def _decode(doc: bytes | str | None, ver: bytes | str | None) -> Overrides:
    if not doc:
        return Overrides(version=int(ver or 0))
    data = orjson.loads(doc)
    return Overrides(
        version=int(ver or 0),
        rules=data.get("rules", {}),
        updated_at=data.get("updated_at"),
        updated_by=data.get("updated_by"),
        grading=data.get("grading"),
    )


class LiveRules:
    """Reads and writes the overrides (the API side)."""

    def __init__(self, redis: Redis, base: RulesConfig | None = None) -> None:
        self._redis = redis
        self.base = base or RulesConfig()
        self._put = redis.register_script(_PUT_LUA)

    async def read(self) -> Overrides:
        doc, ver = await self._redis.hmget(RULES_KEY, "doc", "ver")
        return _decode(doc, ver)

    async def config(self) -> tuple[RulesConfig, Overrides]:
        overrides = await self.read()
        return effective(self.base, overrides), overrides

    async def put(
        self,
        rule_id: str,
        table: Mapping[str, Any],
        *,
        by: str,
        now: datetime,
        expected_version: int | None = None,
    ) -> Overrides:
        """Replace ``rule_id``'s override with ``table`` (an empty table: back to the base).
        Raises :class:`ConfigError` for a bad table, :class:`VersionConflict` when
        ``expected_version`` is given and is not the current one."""
        checked = checked_table(rule_id, table)

        async def attempt(_: int) -> Overrides | Again:
            current = await self.read()
            if expected_version is not None and expected_version != current.version:
                raise VersionConflict(
                    f"规则配置已被修改（当前版本{current.version}，请求基于版本{expected_version}）"
                )
            rules = {rid: dict(t) for rid, t in current.rules.items() if rid != rule_id}
            if checked:
                rules[rule_id] = checked
            # The grade weights a promotion set stay: a rule's change is not a weights' one.
            new = Overrides(0, rules, now.isoformat(), by, grading=current.grading)
            effective(self.base, new)  # the whole must still load
            version = int(await self._put(keys=[RULES_KEY], args=[current.version, new.doc()]))
            if version < 0:
                return AGAIN
            return replace(new, version=version, previous=current.rules)

        return await compare_and_set(
            attempt,
            attempts=MAX_ATTEMPTS,
            exhausted=lambda: VersionConflict("规则配置正被频繁修改，请稍后重试"),
        )


class RulesWatcher:
    """Polls the overrides' version and swaps rebuilt rules in when it moves (the worker
    side). Call :meth:`poll` from a timer every few seconds::

        watcher = RulesWatcher(runtime.redis, rules_config_from_settings(settings),
                               runtime.engine.replace)

        @app.timer(interval=5.0, on_leader=False)
        async def reload_rules() -> None:
            await watcher.poll()
    """

    def __init__(
        self, redis: Redis, base: RulesConfig, apply: Callable[[list[Rule], RulesConfig], None]
    ) -> None:
        self._redis = redis
        self._base = base
        self._apply = apply
        self.version = 0

    async def poll(self) -> bool:
        """Whether new rules were swapped in. A stored override that no longer loads (a
        key a newer rule version dropped) is logged and the running rules are kept."""
        try:
            ver = int(await self._redis.hget(RULES_KEY, "ver") or 0)
            if ver == self.version:
                return False
            doc, ver_b = await self._redis.hmget(RULES_KEY, "doc", "ver")
            overrides = _decode(doc, ver_b)
            config = effective(self._base, overrides)
            rules = build_rules(config)
        except Exception as exc:
            log.error("rule overrides not applied", error=str(exc))
            return False
        self._apply(rules, config)
        self.version = overrides.version
        log.info(
            "rule overrides applied",
            version=overrides.version,
            rules_version=config.version,
            rules=len(rules),
        )
        return True


def rules_config_from_settings(settings: Settings) -> RulesConfig:
    """The base the overrides apply to: the rules file when set, else the defaults."""
    return load_rules_config(settings.rules_file) if settings.rules_file else RulesConfig()
