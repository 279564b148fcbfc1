"""A seeded, streaming simulation of a Qianhai-like register for riskwire.

``population`` (firms, people, addresses, phones) -> ``scenarios`` (planted cases of every
rule, and their near-misses) + ``histories`` (each firm's background, month by month) ->
``stream`` (one business-time-ordered event stream, the ``truth`` filled in as it is read)
-> ``writer`` (a JSON-lines file or Kafka). ``riskwire simulate`` writes it;
``riskwire evaluate`` (``cli.evaluate``) plays it through a running engine and scores
what comes out against the truth.
"""

from simulate.population import SCALES, Scale, scale_named
from simulate.stream import Simulation
from simulate.truth import Truth

__all__ = ["SCALES", "Scale", "Simulation", "Truth", "scale_named"]
