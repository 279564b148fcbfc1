"""What every command's process shares: its children are stopped (SIGTERM, then SIGKILL past
the grace), and its settings cross into a child process through the environment."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from cli.process import settings_env, terminate
from core.settings import Settings

IGNORES_SIGTERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n"
)


def test_terminate_stops_a_child_and_kills_one_that_ignores_sigterm() -> None:
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    stubborn = subprocess.Popen([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE)
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == b"ready\n"  # its SIGTERM handler is in place
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait(timeout=30)
    started = time.monotonic()
    terminate([polite, stubborn, done], grace_s=2)
    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
    assert done.returncode == 0
    assert time.monotonic() - started < 30
    stubborn.stdout.close()


def test_settings_env_rebuilds_the_settings_in_a_child() -> None:
    settings = Settings(app_id="riskwire-child-test", partitions=3)
    env = settings_env(settings)
    assert env["RISKWIRE_APP_ID"] == "riskwire-child-test"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from core.settings import Settings; s = Settings(); print(s.app_id, s.partitions)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.split() == ["riskwire-child-test", "3"]


def test_the_command_line_reads_no_metrics_setting_before_main_decides() -> None:
    """prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, on import: ``main`` drops it for
    every command but ``api`` first, so loading the command line must not import it (a worker
    or a backtest would otherwise write its counts where the API serves its own, or fail on
    the missing directory)."""
    probe = "import sys, cli.main; print('prometheus_client' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
