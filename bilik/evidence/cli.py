"""``bilik evidence``: verify a bundle offline, print the branch's public key."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bilik.evidence import bundle, keys
from bilik.evidence.errors import BundleInvalid

EXIT_INVALID = 3  # the bundle was read and is not valid (1 is any other error)


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help="check evidence bundles, print the branch's public key",
        description="Evidence bundles: one signed file per decided claim (docs/evidence.md).")
    inner = parser.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    ver = inner.add_parser(
        "verify", help="check a bundle offline and say exactly what is wrong",
        description="Check the signature, every file's SHA-256 and the audit chain. Exit 0 "
        f"when valid, {EXIT_INVALID} when not (each problem on its own line).")
    ver.add_argument("bundle", type=Path, metavar="BUNDLE")
    ver.add_argument("--public-key", type=Path, metavar="FILE",
                     help="the branch's public key (PEM); without it the bundle's own key is "
                     "used, which proves integrity but not who signed")
    ver.add_argument("--json", action="store_true", help="print the result as JSON")
    ver.set_defaults(func=verify)
    pub = inner.add_parser(
        "public-key", help="print the branch server's public key (PEM) for the head office",
        description="Print the public part of the key the branch server made at its first "
        "start (DATA_DIR/evidence-key.pem), to register it at the head office.")
    pub.add_argument("--data-dir", type=Path, default=Path("var/server"),
                     help="the branch server's data directory (default: var/server)")
    pub.set_defaults(func=public_key)


def verify(args: argparse.Namespace) -> int:
    key = keys.load_public(args.public_key) if args.public_key is not None else None
    try:
        result = bundle.verify(args.bundle, key)
    except BundleInvalid as exc:
        if args.json:
            print(json.dumps({"valid": False, "problems": exc.problems}, ensure_ascii=False))
        else:
            print(f"{args.bundle}: NOT VALID")
            for problem in exc.problems:
                print(f"  - {problem}")
        return EXIT_INVALID
    summary = {"valid": True, "branch": result.branch, "reference": result.reference,
               "files": result.files, "key_id": result.key_id, "key_given": result.key_given}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.bundle}: valid: claim {result.reference} of branch {result.branch}, "
              f"{result.files} files, signed by key {result.key_id[:16]}")
        if not result.key_given:
            print("  (checked against the key inside the bundle: pass --public-key to know "
                  "who signed it)")
    return 0


def public_key(args: argparse.Namespace) -> int:
    print(keys.public_pem(keys.load_private(keys.key_path(args.data_dir))), end="")
    return 0
