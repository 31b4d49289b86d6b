"""``bilik demo``: a whole simulated branch on one machine."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(name, help="(not built yet)")
    parser.set_defaults(func=lambda args: 2)
