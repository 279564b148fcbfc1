"""``python -m core`` is the ``riskwire`` command."""

from core.cli import main

main()
