"""Commands packed into the Redis protocol by hiredis, in C, for the asyncio client.

redis-py's synchronous client packs commands with ``hiredis.pack_command`` when hiredis is
installed; its asyncio client always packs them in Python, argument by argument. On the
worker's hot path (about six commands an event, dozens of arguments) that packing was the
largest single cost of the client. :func:`pack_with_hiredis` makes a client's connections
pack as the synchronous client does, with the same errors for arguments Redis cannot take.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError


def _split_name(args: tuple[Any, ...]) -> tuple[Any, ...]:
    # A command name may carry its subcommand ("SCRIPT LOAD"): Redis wants them apart.
    first = args[0]
    if isinstance(first, str):
        if " " in first:
            return tuple(first.encode().split()) + args[1:]
    elif b" " in first:
        return tuple(first.split()) + args[1:]
    return args


def pack(args: tuple[Any, ...]) -> bytes:
    """One command in the Redis protocol.

    >>> pack(("SCRIPT LOAD", "return 1"))
    b'*3\\r\\n$6\\r\\nSCRIPT\\r\\n$4\\r\\nLOAD\\r\\n$8\\r\\nreturn 1\\r\\n'
    """
    args = _split_name(args)
    try:
        return cast(bytes, hiredis.pack_command(args))
    except TypeError:
        pass  # a buffer hiredis does not take (rare: looked for only now), or a bad type
    args = tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a for a in args)
    try:
        return cast(bytes, hiredis.pack_command(args))
    except TypeError as exc:  # None, bool, or another type Redis has no text for
        raise DataError(str(exc)) from exc


class HiredisPacking:
    """Mixed into a redis-py asyncio connection class, ahead of it."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [pack(args)]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        return [b"".join([pack(tuple(command)) for command in commands])]


_PACKING: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _packing(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    if issubclass(cls, HiredisPacking):
        return cls
    if cls not in _PACKING:  # one class per connection kind, however many clients
        _PACKING[cls] = type(f"Hiredis{cls.__name__}", (HiredisPacking, cls), {})
    return _PACKING[cls]


def pack_with_hiredis(redis: Redis) -> Redis:
    """``redis``, whose connections (TCP, TLS or Unix socket alike) pack with hiredis.
    Call it before the client's first command: connections already made keep packing
    in Python."""
    pool = redis.connection_pool
    pool.connection_class = _packing(pool.connection_class)
    return redis
