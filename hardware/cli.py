"""Command line of the hardware package (registered by :mod:`bilik.cli`)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(name, help="(not built yet)")
    parser.set_defaults(func=lambda args: 2)
