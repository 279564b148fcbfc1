"""``POST /api/v1/enforcement/uploads``: an officer in the field uploads one
``enforcement.uploads`` event (an inspection, a penalty, a failed contact). It is checked
by the worker's own :class:`~streams.codec.Decoder` (422 with the reason otherwise) and
written to the enforcement topic keyed by its subject, as sent but for ``source``: riskwire
sets that from the caller's department (:func:`upload_source`), so that the pair
(``source``, ``id``) that identifies an event can never name another department's event
and an upload cannot pre-empt another department's event as a "duplicate".
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import orjson
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, HTTPException, Request, status

from api.audit import AuditAction, AuditDep, Purpose
from api.deps import CurrentAccount
from api.held import held
from api.producer import start_producer
from api.schemas import UploadAccepted, errors
from core.errors import InvalidEvent
from core.settings import Settings
from core.telemetry import get_logger
from streams.codec import Decoder
from streams.identifiers import PersonKeyer
from streams.schemas.common import Family
from streams.schemas.enforcement import MODELS

router = APIRouter(prefix="/api/v1/enforcement", tags=["enforcement"])
log = get_logger(__name__)
SEND_TIMEOUT_S = 20.0
SOURCE_PREFIX = "riskwire-api/"


def upload_source(department: str) -> str:
    """The ``source`` of every upload by ``department``'s accounts: a namespace of its own.

    >>> upload_source("samr")
    'riskwire-api/samr'
    """
    return SOURCE_PREFIX + department


def with_source(raw: bytes, source: str) -> bytes:
    """``raw`` with its ``source`` replaced when it is a JSON object; else ``raw`` as it is
    (the decoder then says why it is refused)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(doc, dict):
        return raw
    doc["source"] = source
    return orjson.dumps(doc)


class UploadProducer:
    """The API's Kafka producer for uploads, started on first use and closed at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        keyer = PersonKeyer(settings.identity_secret.get_secret_value().encode())
        self.decoder = Decoder(keyer, max_bytes=settings.max_message_bytes)
        self.topic = settings.topic_enforcement
        self.max_bytes = settings.max_message_bytes
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                self._producer = await start_producer(
                    self._settings.kafka_bootstrap,
                    timeout_s=SEND_TIMEOUT_S,
                    request_timeout_ms=10_000,
                    max_request_size=max(1024 * 1024, self.max_bytes + 64 * 1024),
                )
            return self._producer

    async def send(self, key: bytes, value: bytes) -> Any:
        """Write one message and wait for the broker: its record metadata."""
        producer = await self._started()
        return await asyncio.wait_for(
            producer.send_and_wait(self.topic, value, key=key), timeout=SEND_TIMEOUT_S
        )

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None


UploadsDep = Annotated[UploadProducer, Depends(held("uploads", UploadProducer))]

_EXAMPLE = {
    "specversion": "1.0",
    "id": "samr-field-000123",
    "source": "samr/field-app",
    "type": "inspection.recorded",
    "subject": "91350100M000100Y43",
    "time": "2026-03-02T10:15:00+08:00",
    "datacontenttype": "application/json",
    "data": {
        "inspection_id": "INS-2026-000123",
        "department": "samr",
        "inspector_id": "E001",
        "kind": "random",
        "found_at_address": False,
        "violation_found": None,
        "notes": "登记住所无人办公",
        "attachments": [],
    },
}
_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "A CloudEvents 1.0 event of the enforcement.uploads topic "
                "(events.md); data.department must be the caller's department",
                "required": ["specversion", "id", "type", "subject", "time", "data"],
                "properties": {
                    "specversion": {"type": "string", "enum": ["1.0"]},
                    "id": {"type": "string", "minLength": 1},
                    "source": {
                        "type": "string",
                        "description": "ignored: riskwire sets riskwire-api/<department>",
                    },
                    "type": {"type": "string", "enum": sorted(MODELS)},
                    "subject": {"type": "string", "description": "the enterprise's uscc"},
                    "time": {"type": "string", "format": "date-time"},
                    "datacontenttype": {"type": "string", "enum": ["application/json"]},
                    "data": {"type": "object"},
                },
            },
            "example": _EXAMPLE,
        }
    },
}


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, read no further than one byte past ``limit`` (the decoder says why)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


@router.post(
    "/uploads",
    response_model=UploadAccepted,
    status_code=202,
    responses=errors(401, 422, 503),
    openapi_extra={"requestBody": _BODY},
)
async def upload(
    request: Request,
    account: CurrentAccount,
    uploads: UploadsDep,
    audit: AuditDep,
    purpose: Purpose,
) -> UploadAccepted:
    """Validate the event exactly as the worker will, then write it to Kafka with its
    ``source`` set to ``riskwire-api/<the caller's department>``."""
    raw = with_source(
        await _read_body(request, uploads.max_bytes), upload_source(account.department)
    )
    try:
        event = uploads.decoder.decode(raw, Family.ENFORCEMENT)
    except InvalidEvent as exc:
        detail = f"事件无效（{exc.reason.value}）：{exc.detail}"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None
    department = getattr(event.data, "department", None)
    if department != account.department and not account.oversees_all:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"data.department必须是本部门（{account.department}）",
        )
    try:
        meta = await uploads.send(event.subject.id.encode(), raw)
    except Exception as exc:
        log.warning("upload not written to Kafka", error=str(exc))
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "暂时无法写入Kafka，请稍后重试"
        ) from None
    await audit.append(
        account,
        AuditAction.ENFORCEMENT_UPLOAD,
        event.subject.id,
        purpose=purpose,
        detail={"type": event.type, "event_id": event.id, "source": event.source},
    )
    return UploadAccepted(
        event_id=event.id,
        source=event.source,
        type=event.type,
        subject=event.subject.id,
        topic=meta.topic,
        partition=meta.partition,
        offset=meta.offset,
    )
