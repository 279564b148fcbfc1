"""What the rules-file tests share: writing a rules file, and the message a bad one is
refused with (it always starts with the file's path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from rules.config import load_rules_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    """The message a rules file of ``text`` is refused with; it names the file first."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rules_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message
