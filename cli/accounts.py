"""``riskwire accounts`` and ``riskwire audit``: department accounts and their bearer tokens,
and the audit log's check against its published anchor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import typer

from cli.process import command_settings, with_redis

accounts_app = typer.Typer(
    help="Department accounts and their bearer tokens.", no_args_is_help=True
)
audit_app = typer.Typer(help="The audit log of queries and alert actions.", no_args_is_help=True)


def token_in_child(
    env: Mapping[str, str], *, department: str, role: str, name: str, timeout: float | None = None
) -> str:
    """Create an account with ``riskwire accounts create`` in a child process with the
    environment ``env`` (its settings), and answer the bearer token it printed last."""
    import subprocess
    import sys

    args = ["accounts", "create", "--department", department, "--role", role, "--name", name]
    out = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    ).stdout
    return out.strip().splitlines()[-1]


@accounts_app.command("create")
def accounts_create(
    department: Annotated[str, typer.Option(help="e.g. samr, tax, court, qianhai-authority")],
    role: Annotated[str, typer.Option(help="duty_officer, analyst or admin")],
    name: Annotated[str, typer.Option(help="the person or system holding the account")],
) -> None:
    """Create an account; its bearer token is printed once, alone on the last line."""
    from api.accounts import Accounts, Role

    settings = command_settings()
    try:
        role_ = Role(role)
    except ValueError:
        raise typer.BadParameter(
            f"role must be one of {', '.join(r.value for r in Role)}"
        ) from None
    account, token = with_redis(
        settings, lambda redis: Accounts(redis).create(name=name, department=department, role=role_)
    )
    typer.echo(f"account {account.account_id} ({account.department}, {account.role}) created")
    typer.echo(token)


@accounts_app.command("revoke")
def accounts_revoke(
    token: Annotated[str, typer.Argument(help="the bearer token to revoke")],
) -> None:
    """Revoke a bearer token."""
    from api.accounts import Accounts

    if not with_redis(command_settings(), lambda redis: Accounts(redis).revoke(token)):
        typer.echo("no such token", err=True)
        raise typer.Exit(1)
    typer.echo("revoked")


@accounts_app.command("list")
def accounts_list(
    department: Annotated[str | None, typer.Option(help="only this department")] = None,
) -> None:
    """List accounts (never their tokens)."""
    from api.accounts import Accounts

    for a in with_redis(command_settings(), lambda redis: Accounts(redis).list(department)):
        state = "revoked" if a.revoked else "active"
        typer.echo(f"{a.account_id}  {a.department:<20} {a.role:<13} {state:<8} {a.name}")


@accounts_app.command("revoke-id")
def accounts_revoke_id(
    account_id: Annotated[str, typer.Argument(help="the account id to revoke")],
) -> None:
    """Revoke an account by its id."""
    from api.accounts import Accounts

    account = with_redis(command_settings(), lambda redis: Accounts(redis).revoke_id(account_id))
    if account is None:
        typer.echo(f"no account {account_id}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"revoked {account.account_id} ({account.department}, {account.role}, {account.name})"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit log's hash chain; exit 1 at the first removed, altered or missing entry."""
    from api.audit import verify_anchored

    settings = command_settings()
    report = with_redis(settings, lambda redis: verify_anchored(redis, settings))
    if report.ok:
        typer.echo(
            f"audit log intact: {report.entries} entries, head {report.head_hash}, "
            f"anchored at entry {report.anchored_at}"
        )
        return
    where = f"at entry {report.first_bad_seq}" if report.first_bad_seq else "unchecked"
    typer.echo(
        f"audit log BROKEN {where}: {report.problem} ({report.entries} entries verified before it)",
        err=True,
    )
    raise typer.Exit(1)
