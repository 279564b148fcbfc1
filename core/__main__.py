"""``python -m core``: the old spelling of ``python -m cli`` (the ``riskwire`` command), kept
while branches that spawn it are merged; the import-graph test lists it as an arrow to remove."""

from cli.main import main

main()
