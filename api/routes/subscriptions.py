"""``GET/POST/DELETE /api/v1/subscriptions``: the caller's department's alert subscriptions.

Any account of the department may list them; only its admins create and delete them, at
most ``RISKWIRE_WEBHOOK_MAX_SUBSCRIPTIONS`` per department (409 past it). A
department without a subscription receives every alert routed to it; with some, the
alerts that match any of them (on its topic, its board and its webhooks).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel

from alerts.notify.wiring import NotifyStores
from alerts.subscriptions import Subscription, SubscriptionCriteria, SubscriptionStore
from api.deps import Admin, CurrentAccount
from core.errors import QuotaExceeded
from streams.rule_catalog import DEFAULT_ROUTE

router = APIRouter(prefix="/api/v1/subscriptions", tags=["subscriptions"])


async def get_subscriptions(request: Request) -> SubscriptionStore:
    stores: NotifyStores = request.app.state.notify
    return stores.subscriptions


SubscriptionsDep = Annotated[SubscriptionStore, Depends(get_subscriptions)]


class SubscriptionCreate(SubscriptionCriteria):
    """Every criterion is optional; an empty subscription matches everything routed to the
    department."""


class SubscriptionsPublic(BaseModel):
    items: list[Subscription]


@router.get("", response_model=SubscriptionsPublic)
async def list_subscriptions(
    account: CurrentAccount, subscriptions: SubscriptionsDep
) -> SubscriptionsPublic:
    return SubscriptionsPublic(items=await subscriptions.of_department(account.department))


@router.post("", response_model=Subscription, status_code=status.HTTP_201_CREATED)
async def create_subscription(
    body: SubscriptionCreate, account: Admin, subscriptions: SubscriptionsDep
) -> Subscription:
    unknown = sorted(set(body.rule_ids) - set(DEFAULT_ROUTE))
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown rule_ids: {', '.join(unknown)}"
        )
    criteria = SubscriptionCriteria.model_validate(body.model_dump())
    try:
        return await subscriptions.create(
            account.department, criteria, created_by=account.account_id
        )
    except QuotaExceeded as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    subscription_id: str, account: Admin, subscriptions: SubscriptionsDep
) -> Response:
    if not await subscriptions.delete(account.department, subscription_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subscription")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
