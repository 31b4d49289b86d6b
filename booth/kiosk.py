"""The kiosk agent (being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(name, help="(being built)")
    parser.set_defaults(func=lambda args: 2)
