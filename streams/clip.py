"""Cutting free text to a length cap, visibly: the one marker riskwire appends to any text
it shortened (an event's free-text field, an alert's explanation or note).

>>> clip("一二三四五", 3)
'一二三…（已截断）'
>>> clip("short", 10)
'short'
"""

from __future__ import annotations

CUT_MARK = "…（已截断）"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with :data:`CUT_MARK` when cut."""
    return text if len(text) <= limit else text[:limit] + CUT_MARK
