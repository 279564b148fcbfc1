"""``/api/v1/webhooks``: a department's webhook endpoints and their delivery log (its
admins only), and ``POST /api/v1/webhooks/inbound/{endpoint_id}`` for the receivers'
feedback, which is authenticated by its Standard Webhooks signature instead of a token.

An endpoint's secret is shown once, in the answer that creates it when none was given,
and never again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alerts.notify.base import DeliveryState
from alerts.notify.endpoints import Endpoint
from alerts.notify.inbound import MAX_BODY_BYTES, InboundRejected, InboundResult, record_feedback
from alerts.notify.queue import Attempt
from alerts.notify.webhook import generate_secret, secret_key
from alerts.notify.wiring import NotifyStores
from api.deps import Admin, AlertStoreDep, RedisDep
from core.errors import AuthError

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
RECENT = 10  # deliveries shown with each endpoint in the list


def get_notify(request: Request) -> NotifyStores:
    stores: NotifyStores = request.app.state.notify
    return stores


NotifyDep = Annotated[NotifyStores, Depends(get_notify)]


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
    recent: list[DeliveryPublic] = Field(default_factory=list)


class EndpointCreated(EndpointPublic):
    secret: str | None = Field(description="the generated secret, shown this once")


class EndpointsPublic(BaseModel):
    items: list[EndpointPublic]


class DeliveriesPublic(BaseModel):
    items: list[DeliveryPublic]


class FeedbackRecorded(BaseModel):
    status: InboundResult


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


def _public(endpoint: Endpoint, recent: list[DeliveryPublic]) -> EndpointPublic:
    return EndpointPublic(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        created_at=endpoint.created_at,
        recent=recent,
    )


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "url must be http(s)://host/…")
    if parts.username or parts.password:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "url must not hold credentials")


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
    _check_url(body.url)
    generated = generate_secret() if body.secret is None else None
    secret = generated or (body.secret.get_secret_value() if body.secret else "")
    try:
        secret_key(secret)
    except ValueError as exc:  # the message never holds the secret
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    endpoint = await notify.endpoints.create(
        account.department,
        body.url,
        description=body.description,
        secret=secret,
        created_by=account.account_id,
    )
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
    latency, reason) and its state; dead-lettered deliveries stay here."""
    endpoint = await notify.endpoints.get(endpoint_id)
    if endpoint is None or endpoint.department != account.department:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such webhook endpoint")
    deliveries = group_attempts(await notify.queue.attempts(endpoint_id))
    if state is not None:
        deliveries = [d for d in deliveries if d.state is state]
    return DeliveriesPublic(items=deliveries[:limit])


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
