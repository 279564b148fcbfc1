"""Dependency aliases for the objects the query, lifecycle and admin routes share, each
created once in the lifespan of :func:`api.app.create_app` and kept on ``app.state``::

    app.state.audit       api.audit.AuditLog
    app.state.profiles    processors.profiles.redis.RedisProfileStore
    app.state.grades      processors.grades.GradeStore
    app.state.live_rules  rules.live.LiveRules

(``app.state.uploads``, the Kafka producer of :mod:`api.routes.enforcement`, has its
dependency there.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from processors.grades import GradeStore
from processors.profiles.redis import RedisProfileStore
from rules.live import LiveRules


def get_profiles(request: Request) -> RedisProfileStore:
    store: RedisProfileStore = request.app.state.profiles
    return store


def get_grades(request: Request) -> GradeStore:
    store: GradeStore = request.app.state.grades
    return store


def get_live_rules(request: Request) -> LiveRules:
    live: LiveRules = request.app.state.live_rules
    return live


ProfilesDep = Annotated[RedisProfileStore, Depends(get_profiles)]
GradesDep = Annotated[GradeStore, Depends(get_grades)]
LiveRulesDep = Annotated[LiveRules, Depends(get_live_rules)]
