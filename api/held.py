"""``held``: a FastAPI dependency answering one of the objects the app holds in
``app.state`` (its stores and clients, set by the lifespan in :mod:`api.app`).

It is ``async`` although it does no I/O: FastAPI runs a plain ``def`` dependency in a
worker thread, a hand-off that cost more than a listing's Redis call. It imports nothing
of the API, so every module of it may use it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

T = TypeVar("T")


def held(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency answering what the app holds as ``app.state.<name>`` (set by the
    lifespan in :mod:`api.app`), typed as ``kind``."""

    async def dependency(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    dependency.__name__ = f"held_{name}"
    return dependency
