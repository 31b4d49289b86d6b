"""``bilik server manager add|list|disable|enable|reset-pin``: the branch managers' accounts.

The PIN is never an argument (it would sit in the shell's history and the process list): it is
read from ``--pin-file`` or one line of standard input. Each change is audited with the person
who made it (``--by NAME``, by default the login name: :func:`signaling.tlscli.person`). A
disabled manager's open session ends at its next request.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signaling import people
from signaling.config import ServerConfig
from signaling.errors import StoreError
from signaling.tlscli import person


def register(inner: Any, add_config_flags: Callable[..., None],
             load_config: Callable[[argparse.Namespace], ServerConfig]) -> None:
    manager = inner.add_parser(
        "manager", help="manage the branch managers who may open the manager's page",
        description="Branch managers sign in to /manager/ on the branch server with their id "
        "and a PIN; the admin token does not open that page.")
    actions = manager.add_subparsers(dest="manager_command", metavar="ACTION", required=True)

    def action(name: str, help_: str, fn: Callable[[argparse.Namespace, Path], str],
               *, pin: bool = False, name_flag: bool = False, ident: bool = True) -> None:
        sub = actions.add_parser(name, help=help_)
        if ident:
            sub.add_argument("manager_id", metavar="ID", help="manager id, e.g. kacab-01")
        if name_flag:
            sub.add_argument("--name", default="", help="the manager's name, for the audit log")
        if pin:
            sub.add_argument("--pin-file", type=Path,
                             help="file holding the PIN (default: read one line from stdin)")
        sub.add_argument("--by", help="your name, for the audit log (default: your login)")
        add_config_flags(sub, inner=True)
        sub.set_defaults(func=lambda args: _run(args, fn, load_config))

    action("add", "add a manager (PIN from --pin-file or stdin)", _add, pin=True,
           name_flag=True)
    action("list", "list the managers", _list, ident=False)
    action("disable", "stop a manager from signing in (their session ends too)", _disable)
    action("enable", "let a disabled manager sign in again", _enable)
    action("reset-pin", "give a manager a new PIN (from --pin-file or stdin)", _reset_pin,
           pin=True)


def _add(args: argparse.Namespace, data_dir: Path) -> str:
    people.add_offline(data_dir, args.manager_id, _pin(args), args.name, actor=person(args))
    return f"manager {args.manager_id} added"


def _disable(args: argparse.Namespace, data_dir: Path) -> str:
    people.disable_offline(data_dir, args.manager_id, actor=person(args))
    return f"manager {args.manager_id} disabled"


def _enable(args: argparse.Namespace, data_dir: Path) -> str:
    people.enable_offline(data_dir, args.manager_id, actor=person(args))
    return f"manager {args.manager_id} enabled"


def _reset_pin(args: argparse.Namespace, data_dir: Path) -> str:
    people.reset_pin_offline(data_dir, args.manager_id, _pin(args), actor=person(args))
    return f"manager {args.manager_id}: PIN reset"


def _pin(args: argparse.Namespace) -> str:
    if args.pin_file is not None:
        try:
            return str(args.pin_file.read_text()).strip()
        except OSError as exc:
            raise StoreError(f"cannot read {args.pin_file}: {exc.strerror}") from None
    return sys.stdin.readline().strip()


def _list(args: argparse.Namespace, data_dir: Path) -> str:
    rows = people.list_offline(data_dir)
    return "\n".join(json.dumps(r, sort_keys=True) for r in rows) or "no managers yet"


def _run(args: argparse.Namespace, fn: Callable[[argparse.Namespace, Path], str],
         load_config: Callable[[argparse.Namespace], ServerConfig]) -> int:
    # A refusal (people.ManagerError, StoreError) is a BilikError: bilik.cli prints one line.
    print(fn(args, load_config(args).data_dir))
    return 0
