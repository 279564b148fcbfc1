"""One shared online model per deployment, checkpointed in Redis with the labels it has learned.

Keys (versioned by the model's configuration digest, hash-tagged into one cluster slot)::

    rw:{model:<name>}:v<digest>           hash  blob (the pickled model), ver (int),
                                                n (labels learned), auc (prequential ROC AUC)
    rw:{model:<name>}:learned:v<digest>   set   event identities (``Event.eid``) learned
    rw:{model:<name>}:queue:v<digest>     list  labels offered and not learned yet (JSON)

Shared learning, exactly once per label:

1. Every worker scores with a cached copy; :meth:`ModelStore.model` costs one small round
   trip and downloads the blob only when ``ver`` has moved.
2. The worker offers a batch's labels after scoring it (:meth:`ModelStore.offer`): one
   ``RPUSH`` to the queue, durable before the batch is acknowledged.
3. :meth:`ModelStore.learn_queued` learns a round: it reads ``ver``, the blob if it moved,
   the head of the queue and which of those labels are already in ``learned``, in one Lua
   call; learns the new ones on its copy of that version; and writes the blob back with a
   Lua compare-and-set on ``ver`` that, in the same atomic step, adds their identities to
   ``learned`` and trims what it read off the queue. The model, the labels it reflects and
   the queue never disagree. A copy whose write did not land (lost race, Redis error) is
   dropped and read again.
4. A worker learns a round when its offer finds :data:`ROUND` labels waiting, and every
   :data:`LEARN_EVERY_S` seconds from a timer, so labels wait seconds at most. Learning
   in rounds, not once per batch, is what keeps two workers from unpickling each
   other's checkpoint and pickling their own for every small batch.
5. A redelivered or replayed batch offers its labels again; ``learned`` makes the round
   skip them. :meth:`ModelStore.learn` learns given labels at once, the same way.

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

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.cas import AGAIN, Again, compare_and_set
from core.errors import StoreError
from core.telemetry import MODEL_LABELS
from rules.models.early_warning import DEFAULT_CONFIG, EarlyWarningModel, ModelConfig

MAX_CAS_ATTEMPTS = 20
MAX_LABELS_PER_WRITE = 500  # bounds a Lua call's arguments and one blob write's work
ROUND = 200  # labels waiting that make an offer learn a round at once
LEARN_EVERY_S = 2.0  # how often a worker learns whatever is waiting

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

# KEYS: model hash, learned set, queue. ARGV: expected version, blob, n learned, auc ('' for
# none), queue entries learned (trimmed off its head), event identities learned by this write.
# Returns the new version, or -1 when it moved.
_CAS_LUA = """
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver ~= tonumber(ARGV[1]) then return -1 end
ver = ver + 1
redis.call('HSET', KEYS[1], 'blob', ARGV[2], 'ver', ver, 'n', ARGV[3], 'auc', ARGV[4])
if tonumber(ARGV[5]) > 0 then redis.call('LTRIM', KEYS[3], ARGV[5], -1) end
if #ARGV > 5 then redis.call('SADD', KEYS[2], unpack(ARGV, 6)) end
return ver
"""

# KEYS: model hash, learned set, queue. ARGV: the version the caller has, how many queued
# labels to read. Returns {ver, blob or nil, the queue's head, their learned flags}.
_READ_QUEUE_LUA = """
local ver = redis.call('HGET', KEYS[1], 'ver') or '0'
local blob = false
if ver ~= ARGV[1] then blob = redis.call('HGET', KEYS[1], 'blob') or false end
local entries = redis.call('LRANGE', KEYS[3], 0, tonumber(ARGV[2]) - 1)
local flags = {}
if #entries > 0 then
  local eids = {}
  for i, entry in ipairs(entries) do eids[i] = cjson.decode(entry)[1] end
  flags = redis.call('SMISMEMBER', KEYS[2], unpack(eids))
end
return {ver, blob, entries, flags}
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
        self.queue_key = f"rw:{{model:{name}}}:queue:v{self.digest}"
        self._read = redis.register_script(_READ_LUA)
        self._cas = redis.register_script(_CAS_LUA)
        self._read_queue = redis.register_script(_READ_QUEUE_LUA)
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

    async def offer(self, labels: Sequence[Label]) -> LearnResult | None:
        """Queue ``labels`` for learning (durably: once this returns, a crash loses none);
        learns a round at once when :data:`ROUND` labels are waiting, and answers it."""
        if not labels:
            return None
        entries = [orjson.dumps([label.eid, dict(label.x), label.violation]) for label in labels]
        try:
            waiting = int(await self._redis.rpush(self.queue_key, *entries))
        except RedisError as exc:
            raise StoreError(f"queueing labels for model {self.name} failed: {exc}") from exc
        MODEL_LABELS.labels("queued").inc(len(entries))
        return await self.learn_queued() if waiting >= ROUND else None

    async def learn_queued(self) -> LearnResult:
        """Learn one round: the labels at the head of the queue (at most
        :data:`MAX_LABELS_PER_WRITE`) that no worker has learned yet, in order."""
        async with self._lock:
            return await compare_and_set(
                self._learn_queued_once, attempts=MAX_CAS_ATTEMPTS, exhausted=self._kept_changing
            )

    async def _learn_queued_once(self, attempt: int) -> LearnResult | Again:
        try:
            ver, blob, entries, flags = await self._read_queue(
                keys=[self.key, self.learned_key, self.queue_key],
                args=[self._version, MAX_LABELS_PER_WRITE],
            )
        except RedisError as exc:
            raise StoreError(f"reading model {self.name} failed: {exc}") from exc
        version = int(ver)
        if version != self._version:
            self._install(version, blob)
        if not entries:
            return LearnResult(0, 0, version, attempt)
        new: dict[str, Label] = {}
        for entry, seen in zip(entries, flags, strict=True):
            label = Label(*orjson.loads(entry))
            if not int(seen):
                new.setdefault(label.eid, label)  # offered twice: learned once
        if not await self._write(version, list(new.values()), trim=len(entries)):
            return AGAIN
        _count(len(new), len(entries) - len(new))
        return LearnResult(len(new), len(entries) - len(new), self._version, attempt)

    def _kept_changing(self) -> StoreError:
        return StoreError(f"model {self.name} kept changing under this worker")

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

        async def attempt(n: int) -> tuple[int, int, int] | Again:
            version, flags = await self._fetch([label.eid for label in chunk])
            new = [label for label, seen in zip(chunk, flags, strict=True) if not seen]
            if not new:
                return 0, version, n
            if not await self._write(version, new, trim=0):
                return AGAIN
            _count(len(new), len(chunk) - len(new))
            return len(new), self._version, n

        return await compare_and_set(
            attempt, attempts=MAX_CAS_ATTEMPTS, exhausted=self._kept_changing
        )

    async def _write(self, version: int, new: Sequence[Label], *, trim: int) -> bool:
        """Learn ``new`` on the cached copy of ``version`` and write it back, adding their
        identities to ``learned`` and trimming ``trim`` entries off the queue's head;
        whether the write landed (if not, the copy is dropped)."""
        model = self._model
        for label in new:
            model.learn(label.x, label.violation)
        auc = model.auc
        try:
            reply = await self._cas(
                keys=[self.key, self.learned_key, self.queue_key],
                args=[
                    version,
                    model.to_bytes(),
                    model.n_learned,
                    "" if auc is None else f"{auc:.6f}",
                    trim,
                    *(label.eid for label in new),
                ],
            )
        except RedisError as exc:
            self._forget()
            raise StoreError(f"checkpointing model {self.name} failed: {exc}") from exc
        if int(reply) < 0:
            self._forget()  # it learned on a version that is no longer the shared one
            return False
        self._version = int(reply)
        return True

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


def _count(learned: int, already: int) -> None:
    MODEL_LABELS.labels("learned").inc(learned)
    MODEL_LABELS.labels("already_learned").inc(already)
