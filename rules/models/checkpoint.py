"""One shared online model per deployment, checkpointed in Redis with the labels it has learned.

Keys (versioned by the model's configuration digest, hash-tagged into one cluster slot)::

    rw:{model:<name>}:v<digest>           hash  blob (the pickled model), ver (int),
                                                n (labels learned), auc (prequential ROC AUC)
    rw:{model:<name>}:learned:v<digest>   set   event identities (``Event.eid``) learned

Shared learning, exactly once per label:

1. Every worker scores with a cached copy; :meth:`ModelStore.model` costs one small round
   trip and downloads the blob only when ``ver`` has moved.
2. :meth:`ModelStore.learn` reads ``ver``, the blob if it moved, and which of the batch's
   event identities are already in ``learned``, in one Lua call.
3. It learns the labels not yet learned on its copy of that version, and writes the new
   blob back with a Lua compare-and-set on ``ver`` that adds their identities to ``learned``
   in the same atomic step: the model state and the labels it reflects never disagree.
   A copy whose write did not land (lost race, Redis error) is dropped and read again.
4. A worker that lost the race re-reads and re-learns only what is still new, so labels are
   learned once across workers and restarts, and all workers converge on one model.
5. A write is one CAS per batch (at most :data:`MAX_LABELS_PER_WRITE` labels), never one per
   event; ``learned`` grows by 32 bytes per label.

A new digest (features, configuration, pickle format or river's minor version changed)
starts a fresh model under new keys instead of misreading the old one. The blob is a
pickle: whoever can write these keys can run code in the workers, so they must only be
writable by riskwire (as for every key in this Redis).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.errors import StoreError
from rules.models.early_warning import DEFAULT_CONFIG, EarlyWarningModel, ModelConfig

MAX_CAS_ATTEMPTS = 20
MAX_LABELS_PER_WRITE = 500  # bounds a Lua call's arguments and one blob write's work

# KEYS: model hash, learned set. ARGV: the version the caller has, event identities to test.
# Returns {ver, blob or nil when the caller's version is current, membership flags}.
_READ_LUA = """
local ver = redis.call('HGET', KEYS[1], 'ver') or '0'
local blob = false
if ver ~= ARGV[1] then blob = redis.call('HGET', KEYS[1], 'blob') or false end
local flags = {}
if #ARGV > 1 then flags = redis.call('SMISMEMBER', KEYS[2], unpack(ARGV, 2)) end
return {ver, blob, flags}
"""

# KEYS: model hash, learned set. ARGV: expected version, blob, n learned, auc ('' for none),
# event identities learned by this write. Returns the new version, or -1 when it moved.
_CAS_LUA = """
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver ~= tonumber(ARGV[1]) then return -1 end
ver = ver + 1
redis.call('HSET', KEYS[1], 'blob', ARGV[2], 'ver', ver, 'n', ARGV[3], 'auc', ARGV[4])
if #ARGV > 4 then redis.call('SADD', KEYS[2], unpack(ARGV, 5)) end
return ver
"""


class Label(NamedTuple):
    """A ground-truth label: ``eid`` of the ``inspection.recorded`` event, the features the
    enterprise was scored with for that event, and whether a violation was found."""

    eid: str
    x: Mapping[str, float]
    violation: bool


@dataclass(frozen=True, slots=True)
class LearnResult:
    learned: int  # labels this call taught the shared model
    already: int  # labels some worker had taught it before (a redelivery, a replay, a race)
    version: int  # the shared model's version after this call
    conflicts: int  # CAS attempts lost to other workers (a metric, not an error)


class ModelStore:
    """The shared, checkpointed :class:`EarlyWarningModel` called ``name``.

    One instance per worker process; coroutines of one worker may share it. Learning is
    serialised inside and changes the cached model in place (copying it for every batch
    cost more than the learning itself): a coroutine that scores while a write is in
    flight may see labels of events already scored, never the label of the event it
    scores, since labels are learned only after their own batch has scored them."""

    def __init__(
        self, redis: Redis, name: str = "early_warning", config: ModelConfig = DEFAULT_CONFIG
    ) -> None:
        self._redis = redis
        self.name = name
        self.config = config
        self.digest = config.digest()
        self.key = f"rw:{{model:{name}}}:v{self.digest}"
        self.learned_key = f"rw:{{model:{name}}}:learned:v{self.digest}"
        self._read = redis.register_script(_READ_LUA)
        self._cas = redis.register_script(_CAS_LUA)
        self._lock = asyncio.Lock()
        self._version = -1  # nothing cached yet
        self._model = EarlyWarningModel(config)

    async def load(self) -> tuple[EarlyWarningModel, int]:
        """The current shared model and its version (0: nothing learned yet). The model is
        the cached object: score with it, never learn on it."""
        # Under the lock: several agents of one worker share this store, and a fetch that
        # raced a learn could install an older version, or learn from a blob that is not
        # the version it compares against.
        async with self._lock:
            version, _ = await self._fetch([])
            return self._model, version

    async def model(self) -> EarlyWarningModel:
        """The current shared model, re-read only when another worker moved it."""
        return (await self.load())[0]

    async def learn(
        self, labels: Sequence[Label | tuple[str, Mapping[str, float], bool]]
    ) -> LearnResult:
        """Teach the shared model every label it has not learned yet, once, in order.

        Duplicates within ``labels`` count once (the first wins). Raises
        :class:`~core.errors.StoreError` when Redis fails or the model kept changing."""
        unique: dict[str, Label] = {}
        for item in labels:
            label = Label(*item)
            unique.setdefault(label.eid, label)
        todo = list(unique.values())
        learned = already = conflicts = 0
        async with self._lock:
            if not todo:
                version, _ = await self._fetch([])
            for start in range(0, len(todo), MAX_LABELS_PER_WRITE):
                chunk = todo[start : start + MAX_LABELS_PER_WRITE]
                n, version, lost = await self._learn_chunk(chunk)
                learned += n
                already += len(chunk) - n
                conflicts += lost
        return LearnResult(learned, already, version, conflicts)

    async def _learn_chunk(self, chunk: Sequence[Label]) -> tuple[int, int, int]:
        """(labels learned, version after, conflicts) for at most one write's worth."""
        for attempt in range(MAX_CAS_ATTEMPTS):
            version, flags = await self._fetch([label.eid for label in chunk])
            new = [label for label, seen in zip(chunk, flags, strict=True) if not seen]
            if not new:
                return 0, version, attempt
            model = self._model
            for label in new:
                model.learn(label.x, label.violation)
            blob = model.to_bytes()
            auc = model.auc
            try:
                reply = await self._cas(
                    keys=[self.key, self.learned_key],
                    args=[
                        version,
                        blob,
                        model.n_learned,
                        "" if auc is None else f"{auc:.6f}",
                        *(label.eid for label in new),
                    ],
                )
            except RedisError as exc:
                self._forget()
                raise StoreError(f"checkpointing model {self.name} failed: {exc}") from exc
            if int(reply) >= 0:
                self._version = int(reply)
                return len(new), int(reply), attempt
            self._forget()  # it learned on a version that is no longer the shared one
        raise StoreError(f"model {self.name} kept changing under this worker")

    async def _fetch(self, eids: Sequence[str]) -> tuple[int, list[bool]]:
        """Refresh the cache if the shared version moved; which of ``eids`` it has learned."""
        try:
            ver, blob, flags = await self._read(
                keys=[self.key, self.learned_key], args=[self._version, *eids]
            )
        except RedisError as exc:
            raise StoreError(f"reading model {self.name} failed: {exc}") from exc
        version = int(ver)
        if version != self._version:
            self._install(version, blob)
        return version, [bool(int(f)) for f in flags]

    def _install(self, version: int, blob: Any) -> None:
        if version == 0:
            model = EarlyWarningModel(self.config)
        elif blob is None:
            raise StoreError(f"model {self.name} v{version} has no blob")
        else:
            try:
                model = EarlyWarningModel.from_bytes(bytes(blob), self.config)
            except ValueError as exc:
                raise StoreError(f"model {self.name} v{version} is unreadable: {exc}") from exc
        self._version, self._model = version, model

    def _forget(self) -> None:
        """Drop a cached model that learned what the shared one has not: the next fetch
        installs the shared version again."""
        self._version = -1
