"""``bilik server officer add | list | disable | enable | reset-pin | skills``.

Each action opens the branch database directly (:func:`signaling.officers.offline`), so it
works with the server stopped or running; each change is audited with the person who made it
(``--by NAME``, by default the login name: :func:`signaling.tlscli.person`).
A PIN is read from ``--pin-file`` or one line of stdin, never from the command line (where
``ps`` and the shell history would keep it). Skills are the queue's service codes from the
same ``server.toml`` (``[queue] services``), comma-separated; ``all`` clears them (the
officer then serves every service).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signaling import officers as o
from signaling.errors import StoreError
from signaling.store import Store
from signaling.tlscli import person


def register(inner: Any, add_config_flags: Callable[..., None]) -> None:
    officer = inner.add_parser(
        "officer", help="manage the officers who may sign in at officer hubs",
        description="Officers sign in at a hub's console with their id and PIN; decisions are "
        "recorded with the officer's id. Every change is audited.",
    )
    sub = officer.add_subparsers(dest="officer_command", metavar="ACTION", required=True)

    def action(name: str, help_: str, func: Callable[[argparse.Namespace], int], *,
               officer_id: bool = True, pin: bool = False) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_)
        if officer_id:
            parser.add_argument("officer_id", metavar="ID", help="officer id, e.g. officer-07")
        if pin:
            parser.add_argument("--pin-file", type=Path,
                                help="file holding the PIN (default: read one line from stdin)")
        parser.add_argument("--by", help="your name, for the audit log (default: your login)")
        add_config_flags(parser, inner=True)
        parser.set_defaults(func=func)
        return parser

    add = action("add", "add an officer (PIN read from --pin-file or stdin)", add_officer,
                 pin=True)
    add.add_argument("--name", default="", help="the officer's name, for the audit log")
    add.add_argument("--skills", default="all",
                     help="service codes the officer serves, e.g. jht,jp (default: all)")
    listing = action("list", "list the officers, their status and skills", list_officers,
                     officer_id=False)
    listing.add_argument("--json", action="store_true", help="print a JSON list instead")
    action("disable", "stop an officer signing in (signs them out everywhere)",
           lambda args: _status(args, o.OfficerStatus.DISABLED))
    action("enable", "let a disabled officer sign in again",
           lambda args: _status(args, o.OfficerStatus.ACTIVE))
    action("reset-pin", "give an officer a new PIN (from --pin-file or stdin)", reset_pin,
           pin=True)
    skills = action("skills", "set the services an officer serves", set_skills)
    skills.add_argument("skills", metavar="SKILLS", help="e.g. jht,jp; 'all' for every service")


def _read_pin(args: argparse.Namespace) -> str:
    if args.pin_file is not None:
        try:
            return str(args.pin_file.read_text().strip())
        except OSError as exc:
            raise StoreError(f"cannot read {args.pin_file}: {exc.strerror}") from None
    return sys.stdin.readline().strip()


def _setting(args: argparse.Namespace) -> tuple[Path, list[str]]:
    from signaling.cli import _check_data_dir, load_config, load_rules

    config = load_config(args)
    _check_data_dir(config.data_dir)
    return config.data_dir, list(load_rules(args).services)


def _run(args: argparse.Namespace, work: Callable[[Store, list[str]], str]) -> int:
    data_dir, services = _setting(args)
    try:
        with o.offline(data_dir) as store:
            print(work(store, services))
    except o.OfficerError as exc:
        raise StoreError(str(exc)) from None
    return 0


def add_officer(args: argparse.Namespace) -> int:
    pin = _read_pin(args)

    def work(store: Store, services: list[str]) -> str:
        skills = o.parse_skills(args.skills, services)
        o.add_officer(store, args.officer_id, pin, args.name, time.time(), person(args), skills)
        return f"officer {args.officer_id} added"

    return _run(args, work)


def list_officers(args: argparse.Namespace) -> int:
    def work(store: Store, _services: list[str]) -> str:
        records = o.list_officers(store)
        if args.json:
            return json.dumps([r.as_json() for r in records])
        lines = [f"{'ID':<20} {'STATUS':<9} {'SKILLS':<24} NAME"]
        lines += [f"{r.id:<20} {r.status.value:<9} {','.join(r.skills) or 'all':<24} {r.name}"
                  for r in records]
        return "\n".join(lines)

    return _run(args, work)


def _status(args: argparse.Namespace, status: o.OfficerStatus) -> int:
    def work(store: Store, _services: list[str]) -> str:
        o.set_status(store, args.officer_id, status, time.time(), person(args))
        return f"officer {args.officer_id} {status.value}"

    return _run(args, work)


def reset_pin(args: argparse.Namespace) -> int:
    pin = _read_pin(args)

    def work(store: Store, _services: list[str]) -> str:
        o.reset_pin(store, args.officer_id, pin, time.time(), person(args))
        return f"officer {args.officer_id}: new PIN set"

    return _run(args, work)


def set_skills(args: argparse.Namespace) -> int:
    def work(store: Store, services: list[str]) -> str:
        skills = o.parse_skills(args.skills, services)
        o.set_skills(store, args.officer_id, skills, time.time(), person(args))
        return (f"officer {args.officer_id} serves {', '.join(skills) or 'every service'} "
                "(from their next sign-in)")

    return _run(args, work)
