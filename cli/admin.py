"""The operators' command groups: accounts and tokens, the audit log, the alert store, published
draws, sealed secrets and the profile state."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from cli.process import command_settings

accounts_app = typer.Typer(
    help="Department accounts and their bearer tokens.", no_args_is_help=True
)
audit_app = typer.Typer(help="The audit log of queries and alert actions.", no_args_is_help=True)
alerts_app = typer.Typer(help="The alert store: indices and the archive.", no_args_is_help=True)
draws_app = typer.Typer(help="Published inspection draws.", no_args_is_help=True)
secrets_app = typer.Typer(help="Secrets sealed at rest.", no_args_is_help=True)
state_app = typer.Typer(help="The profile state in Redis.", no_args_is_help=True)


@accounts_app.command("create")
def accounts_create(
    department: Annotated[str, typer.Option(help="e.g. samr, tax, court, qianhai-authority")],
    role: Annotated[str, typer.Option(help="duty_officer, analyst or admin")],
    name: Annotated[str, typer.Option(help="the person or system holding the account")],
) -> None:
    """Create an account; its bearer token is printed once, alone on the last line."""
    from api.accounts import Accounts, Role
    from processors.runtime import redis_client

    settings = command_settings()
    try:
        role_ = Role(role)
    except ValueError:
        raise typer.BadParameter(
            f"role must be one of {', '.join(r.value for r in Role)}"
        ) from None

    async def create() -> str:
        redis = redis_client(settings)
        try:
            account, token = await Accounts(redis).create(
                name=name, department=department, role=role_
            )
        finally:
            await redis.aclose()
        typer.echo(f"account {account.account_id} ({account.department}, {account.role}) created")
        return token

    typer.echo(asyncio.run(create()))


@accounts_app.command("revoke")
def accounts_revoke(
    token: Annotated[str, typer.Argument(help="the bearer token to revoke")],
) -> None:
    """Revoke a bearer token."""
    from api.accounts import Accounts
    from processors.runtime import redis_client

    settings = command_settings()

    async def revoke() -> bool:
        redis = redis_client(settings)
        try:
            return await Accounts(redis).revoke(token)
        finally:
            await redis.aclose()

    if not asyncio.run(revoke()):
        typer.echo("no such token", err=True)
        raise typer.Exit(1)
    typer.echo("revoked")


@accounts_app.command("list")
def accounts_list(
    department: Annotated[str | None, typer.Option(help="only this department")] = None,
) -> None:
    """List accounts (never their tokens)."""
    from api.accounts import accounts_list_command

    raise typer.Exit(accounts_list_command(command_settings(), department))


@accounts_app.command("revoke-id")
def accounts_revoke_id(
    account_id: Annotated[str, typer.Argument(help="the account id to revoke")],
) -> None:
    """Revoke an account by its id."""
    from api.accounts import accounts_revoke_id_command

    raise typer.Exit(accounts_revoke_id_command(command_settings(), account_id))


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit log's hash chain; exit 1 at the first removed, altered or missing entry."""
    from api.audit import audit_verify_command

    raise typer.Exit(audit_verify_command(command_settings()))


@alerts_app.command("reindex")
def alerts_reindex() -> None:
    """Backfill the listing indices from the stored alerts (once, after upgrading from a
    version without them; idempotent, safe while workers run)."""
    from alerts.backfill import reindex_command

    raise typer.Exit(reindex_command(command_settings()))


@alerts_app.command("archive")
def alerts_archive(
    alert_id: Annotated[str | None, typer.Option(help="this alert only")] = None,
    uscc: Annotated[str | None, typer.Option(help="alerts listing this enterprise")] = None,
    rule_id: Annotated[str | None, typer.Option(help="alerts of this rule")] = None,
    department: Annotated[str | None, typer.Option(help="alerts routed to this department")] = None,
    status: Annotated[str | None, typer.Option(help="open, ..., resolved, dismissed")] = None,
    max_records: Annotated[
        int, typer.Option(help="stop after reading this many records (the scan's bound)")
    ] = 10_000_000,
) -> None:
    """Read alerts, also those the retention removed from Redis, from the compacted archive
    topic: one sequential scan of the topic (see alerts/archive.py for its cost). Prints
    JSON lines, newest first, then: scanned=<n> matched=<n> complete=<true|false>
    (exit 2 when the scan stopped at --max-records)."""
    from alerts.archive import ArchiveFilter, archive_command

    query = ArchiveFilter(alert_id, uscc, rule_id, department, status)
    raise typer.Exit(archive_command(command_settings(), query, max_records=max_records))


@state_app.command("migrate")
def state_migrate() -> None:
    """Move stored profiles from state v1 to v2 (the dedup record bounded by the replay
    horizon), in place. Run once with every worker stopped; idempotent. Prints:
    profiles=<n> identities=<n> indices=<n>"""
    import asyncio

    from core.clock import SystemClock
    from processors.profiles.migrate import StateMigration
    from processors.runtime import redis_client

    async def run() -> None:
        redis = redis_client(command_settings())
        try:
            done = await StateMigration(redis, SystemClock()).run()
        finally:
            await redis.aclose()
        typer.echo(f"profiles={done.profiles} identities={done.identities} indices={done.indices}")

    asyncio.run(run())


@draws_app.command("verify")
def draws_verify(
    record: Annotated[Path, typer.Argument(help="the draw's record, JSON, with its candidates")],
) -> None:
    """Re-run a published draw from the inputs its record states; exit 1 on a difference.
    Needs no riskwire service: only the record."""
    from api.draw_check import draws_verify_command

    raise typer.Exit(draws_verify_command(record))


@secrets_app.command("reseal")
def secrets_reseal() -> None:
    """Seal every webhook secret with the first key of RISKWIRE_SEALING_KEYS (after a
    rotation); exit 1 if one does not open with any key of the ring."""
    from alerts.notify.reseal import reseal_command

    raise typer.Exit(reseal_command(command_settings()))
