"""The operators' command groups for stored state: the alert store, published draws, sealed
secrets and the profile state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.process import command_settings, with_redis

alerts_app = typer.Typer(help="The alert store: indices and the archive.", no_args_is_help=True)
draws_app = typer.Typer(help="Published inspection draws.", no_args_is_help=True)
secrets_app = typer.Typer(help="Secrets sealed at rest.", no_args_is_help=True)
state_app = typer.Typer(help="The profile state in Redis.", no_args_is_help=True)


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
    horizon), in place, and store profile documents and grades still held as JSON compactly.
    Run once with every worker stopped; idempotent. Prints:
    profiles=<n> identities=<n> indices=<n> encoded=<n> grades=<n>"""
    from core.clock import SystemClock
    from processors.profiles.migrate import StateMigration

    done = with_redis(command_settings(), lambda redis: StateMigration(redis, SystemClock()).run())
    typer.echo(
        f"profiles={done.profiles} identities={done.identities} indices={done.indices}"
        f" encoded={done.encoded} grades={done.grades}"
    )


@state_app.command("memory")
def state_memory(
    events: Annotated[
        int | None, typer.Option(help="events processed: adds bytes per event")
    ] = None,
) -> None:
    """What each kind of key holds, by MEMORY USAGE of every key (read only; one command
    per key). One line per kind, largest first, then the total and used_memory."""
    from cli.state_memory import report
    from core.redis_client import sync_client

    client = sync_client(command_settings().redis_url)
    try:
        for line in report(client, events):
            typer.echo(line)
    finally:
        client.close()


@draws_app.command("verify")
def draws_verify(
    record: Annotated[Path, typer.Argument(help="the draw's record, JSON, with its candidates")],
) -> None:
    """Re-run a published draw from the inputs its record states; exit 1 on a difference.
    Needs no riskwire service: only the record."""
    import orjson

    from api.draw_check import check

    try:
        doc = orjson.loads(record.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        typer.echo(f"cannot read the draw record {record}: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("candidates"), list):
        typer.echo("the record has no candidate set (fetch it with ?candidates=true)", err=True)
        raise typer.Exit(2)
    problems = check(doc)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(
        f"draw {doc.get('draw_id', '?')} verified: {len(doc['items'])} enterprises "
        f"re-drawn from seed {doc['seed']} over {len(doc['candidates'])} candidates"
    )


@secrets_app.command("reseal")
def secrets_reseal() -> None:
    """Seal every webhook secret with the first key of RISKWIRE_SEALING_KEYS (after a
    rotation); exit 1 if one does not open with any key of the ring."""
    from alerts.notify.reseal import reseal_command

    raise typer.Exit(reseal_command(command_settings()))
