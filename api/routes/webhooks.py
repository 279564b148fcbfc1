"""``/api/v1/webhooks``: a department's webhook endpoints, their delivery log and their
dead letters (its admins only), and ``POST /api/v1/webhooks/inbound/{endpoint_id}`` for
the receivers' feedback, which is authenticated by its Standard Webhooks signature instead
of a token.

An endpoint's secret is shown once, in the answer that creates it when none was given,
and never again. Its URL must reach an address the egress policy allows
(:mod:`alerts.notify.egress`); a department holds at most ``RISKWIRE_WEBHOOK_MAX_ENDPOINTS``.
Dead letters stay until an admin replays them (which also enables an endpoint a 410
disabled) or purges them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from alerts.notify.base import DeliveryState
from alerts.notify.egress import ALWAYS_REFUSED, AddressClass, EgressGuard
from alerts.notify.endpoints import Endpoint
from alerts.notify.inbound import MAX_BODY_BYTES, InboundRejected, InboundResult, record_feedback
from alerts.notify.queue import Attempt, DeadLetter
from alerts.notify.webhook import generate_secret, secret_key
from alerts.notify.wiring import NotifyStores
from api.deps import Admin, AlertStoreDep, RedisDep
from api.held import held
from core.errors import AuthError, EgressRefused, QuotaExceeded

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
RECENT = 10  # deliveries shown with each endpoint in the list
MAX_IDS = 1000  # delivery ids in one replay or purge
DeliveryId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


NotifyDep = Annotated[NotifyStores, Depends(held("notify", NotifyStores))]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, description="http or https, without credentials")
    secret: SecretStr | None = Field(
        default=None, description="whsec_ + base64 of 24 to 64 bytes; generated when absent"
    )
    description: str = Field(default="", max_length=500)


class DeliveryPublic(BaseModel):
    delivery_id: str = Field(description="the webhook-id the receiver saw")
    alert_id: str
    revision: int
    change: str
    state: DeliveryState
    next_attempt_at: datetime | None
    attempts: list[Attempt] = Field(description="newest first")


class EndpointPublic(BaseModel):
    id: str
    url: str
    description: str
    created_at: datetime
    disabled_at: datetime | None = Field(
        default=None, description="when a 410 answer disabled it; replaying enables it"
    )
    recent: list[DeliveryPublic] = Field(default_factory=list)


class EndpointCreated(EndpointPublic):
    secret: str | None = Field(description="the generated secret, shown this once")


class EndpointsPublic(BaseModel):
    items: list[EndpointPublic]


class DeliveriesPublic(BaseModel):
    items: list[DeliveryPublic]


class FeedbackRecorded(BaseModel):
    status: InboundResult


class DeadLettersPublic(BaseModel):
    items: list[DeliveryPublic] = Field(description="newest first, each with its last attempt")
    total: int


class DeadLetterSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_ids: list[DeliveryId] | None = Field(
        default=None, max_length=MAX_IDS, description="which ones; all when absent"
    )


class DeadLettersReplayed(BaseModel):
    replayed: int


class DeadLettersPurged(BaseModel):
    purged: int


def group_attempts(attempts: list[Attempt]) -> list[DeliveryPublic]:
    """The delivery log (attempts, newest first) as deliveries, newest first."""
    grouped: dict[str, list[Attempt]] = {}
    for a in attempts:
        grouped.setdefault(a.delivery_id, []).append(a)
    return [
        DeliveryPublic(
            delivery_id=did,
            alert_id=tries[0].alert_id,
            revision=tries[0].revision,
            change=tries[0].change,
            state=tries[0].state,
            next_attempt_at=tries[0].next_attempt_at,
            attempts=tries,
        )
        for did, tries in grouped.items()
    ]


def dead_letter_public(letter: DeadLetter) -> DeliveryPublic:
    d = letter.delivery
    return DeliveryPublic(
        delivery_id=d.id,
        alert_id=d.alert_id,
        revision=d.revision,
        change=d.change,
        state=letter.last.state,
        next_attempt_at=None,
        attempts=[letter.last],
    )


def _public(endpoint: Endpoint, recent: list[DeliveryPublic]) -> EndpointPublic:
    return EndpointPublic(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        created_at=endpoint.created_at,
        disabled_at=endpoint.disabled_at,
        recent=recent,
    )


async def _check_url(url: str, egress: EgressGuard) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "url must be http(s)://host/…")
    if parts.username or parts.password:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "url must not hold credentials")
    try:
        await egress.check_url(url)
    except EgressRefused as exc:
        never = AddressClass(exc.kind) in ALWAYS_REFUSED
        how = "never" if never else "only within RISKWIRE_WEBHOOK_ALLOWED_NETWORKS"
        detail = f"url reaches a {exc.kind} address, which webhooks may {how} reach"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None


async def _own_endpoint(notify: NotifyStores, endpoint_id: str, department: str) -> Endpoint:
    endpoint = await notify.endpoints.get(endpoint_id)
    if endpoint is None or endpoint.department != department:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such webhook endpoint")
    return endpoint


@router.get("", response_model=EndpointsPublic)
async def list_endpoints(account: Admin, notify: NotifyDep) -> EndpointsPublic:
    items = []
    for endpoint in await notify.endpoints.of_department(account.department):
        log = await notify.queue.attempts(endpoint.id)
        items.append(_public(endpoint, group_attempts(log)[:RECENT]))
    return EndpointsPublic(items=items)


@router.post("", response_model=EndpointCreated, status_code=status.HTTP_201_CREATED)
async def create_endpoint(
    body: EndpointCreate, account: Admin, notify: NotifyDep
) -> EndpointCreated:
    await _check_url(body.url, notify.egress)
    generated = generate_secret() if body.secret is None else None
    secret = generated or (body.secret.get_secret_value() if body.secret else "")
    try:
        secret_key(secret)
    except ValueError as exc:  # the message never holds the secret
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    try:
        endpoint = await notify.endpoints.create(
            account.department,
            body.url,
            description=body.description,
            secret=secret,
            created_by=account.account_id,
        )
    except QuotaExceeded as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return EndpointCreated(**_public(endpoint, []).model_dump(), secret=generated)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_endpoint(endpoint_id: str, account: Admin, notify: NotifyDep) -> Response:
    if not await notify.endpoints.delete(account.department, endpoint_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such webhook endpoint")
    await notify.queue.forget(endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{endpoint_id}/deliveries", response_model=DeliveriesPublic)
async def list_deliveries(
    endpoint_id: str,
    account: Admin,
    notify: NotifyDep,
    state: Annotated[DeliveryState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveriesPublic:
    """The endpoint's deliveries, newest first, each with its attempts (time, HTTP status,
    latency, reason) and its state. The attempt log keeps the last 1,000 attempts; asked
    for ``dead_lettered`` or ``failed``, every dead letter is answered, however old."""
    await _own_endpoint(notify, endpoint_id, account.department)
    deliveries = group_attempts(await notify.queue.attempts(endpoint_id))
    if state is not None:
        deliveries = [d for d in deliveries if d.state is state]
    if state in (DeliveryState.DEAD_LETTERED, DeliveryState.FAILED):
        seen = {d.delivery_id for d in deliveries}
        letters = await notify.queue.dead_letters(endpoint_id)
        older = [dead_letter_public(x) for x in letters if x.delivery.id not in seen]
        deliveries += [d for d in older if d.state is state]
    return DeliveriesPublic(items=deliveries[:limit])


@router.get("/{endpoint_id}/dead-letters", response_model=DeadLettersPublic)
async def list_dead_letters(
    endpoint_id: str,
    account: Admin,
    notify: NotifyDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeadLettersPublic:
    """Deliveries that will not be tried again by themselves (retried for 24 hours, or
    failed for good), newest first; kept until replayed or purged."""
    await _own_endpoint(notify, endpoint_id, account.department)
    letters = await notify.queue.dead_letters(endpoint_id)
    return DeadLettersPublic(
        items=[dead_letter_public(x) for x in letters[:limit]], total=len(letters)
    )


@router.post("/{endpoint_id}/dead-letters/replay", response_model=DeadLettersReplayed)
async def replay_dead_letters(
    endpoint_id: str,
    account: Admin,
    notify: NotifyDep,
    body: Annotated[DeadLetterSelection | None, Body()] = None,
) -> DeadLettersReplayed:
    """Queue dead letters again, due now, with a new 24-hour retry window and the same
    ``webhook-id``. Enables the endpoint if a 410 answer had disabled it."""
    endpoint = await _own_endpoint(notify, endpoint_id, account.department)
    if endpoint.disabled_at is not None:
        await notify.endpoints.set_disabled(endpoint_id, None)
    now_ms = int(notify.clock.now().timestamp() * 1000)
    ids = body.delivery_ids if body is not None else None
    replayed = await notify.queue.replay(endpoint_id, ids, now_ms=now_ms)
    return DeadLettersReplayed(replayed=replayed)


@router.delete("/{endpoint_id}/dead-letters", response_model=DeadLettersPurged)
async def purge_dead_letters(
    endpoint_id: str,
    account: Admin,
    notify: NotifyDep,
    delivery_id: Annotated[list[DeliveryId] | None, Query(max_length=MAX_IDS)] = None,
) -> DeadLettersPurged:
    """Drop dead letters for good: the ``delivery_id`` ones (repeatable), or all."""
    await _own_endpoint(notify, endpoint_id, account.department)
    return DeadLettersPurged(purged=await notify.queue.purge(endpoint_id, delivery_id))


@router.post(
    "/inbound/{endpoint_id}",
    response_model=FeedbackRecorded,
    openapi_extra={"security": []},
    responses={401: {"description": "a bad, missing or stale signature"}},
)
async def inbound_feedback(
    endpoint_id: str, request: Request, notify: NotifyDep, redis: RedisDep, alerts: AlertStoreDep
) -> FeedbackRecorded:
    """A receiver's feedback on an alert (``{"alert_id", "kind": "received" | "accepted" |
    "rejected" | "outcome", "outcome", "note"}``), signed with the endpoint's secret like
    our webhooks (headers ``webhook-id``, ``webhook-timestamp`` within 5 minutes,
    ``webhook-signature``). No bearer token: the signature authenticates it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "feedback too large")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "feedback too large")
    endpoint = await notify.endpoints.get(endpoint_id)
    try:
        if endpoint is None:
            raise AuthError("no valid signature")  # the same answer as a wrong signature
        result, _ = await record_feedback(
            redis, alerts, notify.clock, endpoint, request.headers, body
        )
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    except InboundRejected as exc:
        code = 404 if exc.result is InboundResult.UNKNOWN_ALERT else 422
        raise HTTPException(code, str(exc)) from None
    return FeedbackRecorded(status=result)
