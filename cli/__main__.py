"""``python -m cli`` is the ``riskwire`` command."""

from cli.main import main

main()
