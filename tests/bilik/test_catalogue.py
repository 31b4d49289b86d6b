"""The one catalogue of participant-facing text: both languages, always, with the same blanks."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bilik.catalogue import all_messages, text

ROOT = Path(__file__).parents[2]


def test_every_entry_has_indonesian_and_english_with_the_same_placeholders() -> None:
    messages = all_messages()
    assert len(messages) > 50
    for key, message in messages.items():
        assert message.id.strip() and message.en.strip(), key
        assert message.id != message.en or len(message.id) <= 8, f"{key} is not translated"
        names = [set(re.findall(r"{(\w+)}", t)) for t in (message.id, message.en)]
        assert names[0] == names[1], f"{key}: placeholders differ {names}"


def test_a_missing_key_is_named() -> None:
    with pytest.raises(KeyError, match=r"queue\.nope"):
        text("queue.nope")


def test_every_key_the_code_names_exists() -> None:
    """A literal text("domain.key") anywhere in the product must be in the catalogue."""
    known = set(all_messages())
    missing = []
    for package in ("bilik", "booth", "officer", "hardware", "signaling"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "text"
                        and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)
                        and "." in node.args[0].value
                        and node.args[0].value not in known):
                    missing.append(f"{path.relative_to(ROOT)}: {node.args[0].value}")
    assert not missing, missing
