"""The one growing pause every retry loop uses: ``first_s``, multiplied by ``factor`` after
each failure, never above ``cap_s``. Supervised tasks (:mod:`core.supervise`) and webhook
retries (:mod:`alerts.notify.limits`) both read it.

>>> [growing_delay(n, first_s=0.25, cap_s=5.0) for n in (1, 2, 3, 4, 5, 6)]
[0.25, 0.5, 1.0, 2.0, 4.0, 5.0]

The count of failures may grow without end (a dependency down for days); the pause stays
at its cap instead of overflowing:

>>> growing_delay(1_000_000, first_s=0.25, cap_s=5.0)
5.0
"""

from __future__ import annotations

_MAX_DOUBLINGS = 64  # 2**64 times any first pause is past any cap


def growing_delay(attempt: int, *, first_s: float, cap_s: float, factor: float = 2.0) -> float:
    """The pause after failure number ``attempt`` (1-based)."""
    steps = min(max(0, attempt - 1), _MAX_DOUBLINGS)
    return float(min(cap_s, first_s * factor**steps))
