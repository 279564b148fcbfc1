"""The ``riskwire`` command (``python -m cli`` too). Each sub-command builds :class:`Settings`
from the environment and imports only what it needs; they live by kind in :mod:`cli.serve`,
:mod:`cli.feed`, :mod:`cli.measure`, :mod:`cli.accounts` and :mod:`cli.admin`."""

from __future__ import annotations

import os
import sys

import typer

from cli import accounts, admin, feed, measure, serve
from cli.process import own_metrics_only

app = typer.Typer(
    name="riskwire",
    help="Streaming risk alert engine for market regulators.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(accounts.accounts_app, name="accounts")
app.add_typer(accounts.audit_app, name="audit")
app.add_typer(admin.alerts_app, name="alerts")
app.add_typer(admin.draws_app, name="draws")
app.add_typer(admin.secrets_app, name="secrets")
app.add_typer(admin.state_app, name="state")
app.command()(serve.worker)
app.command("ceiling-worker", hidden=True)(serve.ceiling_worker)
app.command()(serve.api)
app.command()(serve.topics)
app.command()(feed.replay)
app.command()(feed.demo)
app.command()(serve.run)
app.command()(measure.bench)
app.command("bench-api")(measure.bench_api)
app.command()(feed.simulate)
app.command()(measure.evaluate)
app.command()(measure.backtest)
app.command()(measure.report)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if _command(sys.argv[1:]) != "api":
        own_metrics_only()
    app()


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line: only the API's processes write into the
    multiprocess directory the API serves; any other command that ran the pipeline there
    (a backtest, an evaluation) would show its counts as the API's.

    >>> _command(["--help"]), _command(["api", "--port", "1"]), _command(["backtest"])
    (None, 'api', 'backtest')
    """
    return next((arg for arg in argv if not arg.startswith("-")), None)
