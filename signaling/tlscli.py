"""``bilik server ca init``, ``bilik server enroll`` and ``bilik server revoke``.

These run on the server machine, by a person, against the branch's data directory (the
running server sees enrolment codes and revocations through the database). Each is audited
with the person's name: ``--by NAME``, by default the login name of whoever runs it.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
from collections.abc import Callable
from typing import Any

from signaling import ca, limits
from signaling.config import ServerConfig
from signaling.errors import StoreError
from signaling.protocol import Role

ConfigFlags = Callable[..., None]
ConfigLoader = Callable[[argparse.Namespace], ServerConfig]


def person(args: argparse.Namespace) -> str:
    """Who does it: ``--by`` or the login name (people, not a shared admin token)."""
    name = getattr(args, "by", None) or _login()
    return f"person:{name}"


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register(inner: Any, add_config_flags: ConfigFlags, load_config: ConfigLoader) -> None:
    ca_parser = inner.add_parser(
        "ca", help="the branch certificate authority",
        description="The branch CA signs the server's certificate and every enrolled "
        "device's. Its files live in DATA_DIR/ca (keys mode 0600).")
    ca_sub = ca_parser.add_subparsers(dest="ca_command", metavar="ACTION", required=True)
    init = ca_sub.add_parser(
        "init", help="make the branch CA and the server's certificate",
        description="Make the branch CA (ca.key, ca.pem) and the server's certificate "
        "(server.key, server.pem) for 127.0.0.1, localhost, the listen address and "
        "tls_names. Give ca.pem to every device (ca_file). Run again with --server-only "
        "after changing tls_names.")
    init.add_argument("--force", action="store_true",
                      help="replace an existing CA (every device must enrol again)")
    init.add_argument("--server-only", action="store_true",
                      help="keep the CA, issue a new server certificate only")
    add_config_flags(init, inner=True)
    init.set_defaults(func=lambda args: ca_init(args, load_config))

    enroll = inner.add_parser(
        "enroll", help="a one-time code for a device to enrol with",
        description="Print a one-time enrolment code for one device. On the device run "
        f"`bilik ROLE enroll CODE` within {limits.ENROLMENT_CODE_TTL_S / 60:g} minutes.")
    enroll.add_argument("--role", required=True,
                        choices=[r.value for r in Role if r is not Role.ADMIN])
    enroll.add_argument("--id", required=True, dest="device_id", help="device id, e.g. booth-01")
    enroll.add_argument("--by", help="your name, for the audit log (default: your login)")
    enroll.add_argument("--json", action="store_true", help="print a JSON object instead")
    add_config_flags(enroll, inner=True)
    enroll.set_defaults(func=lambda args: enroll_device(args, load_config))

    revoke = inner.add_parser(
        "revoke", help="cut a device off at once and keep it out",
        description="Revoke every certificate of a device (and its older tokens). A "
        f"connected device is cut off within {limits.REVOCATION_POLL_S * 4:g} s and cannot "
        "connect again until it is enrolled anew.")
    revoke.add_argument("device_id", metavar="ID", help="device id, e.g. booth-01")
    revoke.add_argument("--by", help="your name, for the audit log (default: your login)")
    add_config_flags(revoke, inner=True)
    revoke.set_defaults(func=lambda args: revoke_device(args, load_config))


def ca_init(args: argparse.Namespace, load_config: ConfigLoader) -> int:
    config = load_config(args)
    files = ca.CaFiles.of(config.data_dir)
    names = ca.server_names(config.host, config.tls_names)
    if args.server_only:
        ca.issue_server(files, branch=config.branch, names=names)
    else:
        ca.init(files, branch=config.branch, names=names, force=args.force)
    print(f"branch CA in {files.directory}: give {files.ca_cert} to every device (ca_file)")
    print(f"server certificate for: {', '.join(names)}")
    return 0


def enroll_device(args: argparse.Namespace, load_config: ConfigLoader) -> int:
    from signaling.enrolment import issue_code_offline

    config = load_config(args)
    try:
        issued = issue_code_offline(config.data_dir, args.device_id, args.role, person(args))
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    expires = datetime.datetime.fromtimestamp(issued.expires, datetime.UTC)
    if args.json:
        print(json.dumps({"code": issued.code, "id": issued.device_id,
                          "role": issued.role.value, "expires": issued.expires}))
    else:
        print(issued.code)
        print(f"on {issued.device_id} run: bilik {issued.role.value} enroll {issued.code} "
              f"(valid until {expires:%H:%M:%S} UTC, once)")
    return 0


def revoke_device(args: argparse.Namespace, load_config: ConfigLoader) -> int:
    from signaling.revocation import revoke_offline

    config = load_config(args)
    try:
        revoked = revoke_offline(config.data_dir, args.device_id, person(args))
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    print(f"{revoked.device_id} revoked ({revoked.certificates} certificate(s)); a connected "
          f"{revoked.device_id} is cut off within a second")
    return 0
