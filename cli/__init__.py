"""The ``riskwire`` command and what only its commands use: running the stack on this
machine, the benchmarks, the evaluation, the dashboard report and the manifests' generator."""
