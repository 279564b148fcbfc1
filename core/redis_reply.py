"""Redis replies as text: a client built without ``decode_responses`` answers bytes, one
built with it answers str; code that reads either calls :func:`text_of`.

>>> text_of(b"91110000"), text_of("91110000")
('91110000', '91110000')
"""

from __future__ import annotations


def text_of(value: bytes | str) -> str:
    """``value`` as str (UTF-8 when it is bytes)."""
    return value.decode() if isinstance(value, bytes) else value
