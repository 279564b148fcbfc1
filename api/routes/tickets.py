"""``POST /api/v1/ws-tickets``: a short-lived single-use ticket for ``/ws/alerts``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AccountsDep, CurrentAccount, SettingsDep

router = APIRouter(prefix="/api/v1/ws-tickets", tags=["live feed"])


class TicketPublic(BaseModel):
    ticket: str
    expires_in: int


@router.post("", response_model=TicketPublic)
async def create_ticket(
    account: CurrentAccount, accounts: AccountsDep, settings: SettingsDep
) -> TicketPublic:
    ticket = await accounts.issue_ticket(account, settings.ws_ticket_ttl_s)
    return TicketPublic(ticket=ticket, expires_in=settings.ws_ticket_ttl_s)
