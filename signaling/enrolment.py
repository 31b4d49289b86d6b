"""Device enrolment: a one-time code, the device's own key, a certificate from the branch CA.

1. On the server, a person runs ``bilik server enroll --role booth --id booth-01``: a code
   of 80 random bits is stored (only its SHA-256) with the id, the role, the person and an
   expiry (:data:`~signaling.limits.ENROLMENT_CODE_TTL_S`), and printed.
2. On the device, ``bilik booth enroll CODE`` makes the device's key (it never leaves the
   device), and sends the code and a certificate request to ``POST /api/enrol`` over TLS,
   verifying the server against the branch CA.
3. The server takes the code (once: a code is spent in the same transaction that issues
   the certificate), signs the request with the id and role the code was made for, records
   the certificate's serial, audits it, and answers the certificate.

The tables (``enrolment_codes``, ``certificates``) are this feature's; revocation
(:mod:`signaling.revocation`) marks rows of ``certificates``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from signaling import ca, limits
from signaling.errors import CertificateError, EnrolmentRefused
from signaling.problems import problem
from signaling.protocol import DEVICE_ID_RE, Role
from signaling.requestbody import read_json_object
from signaling.store import DB_FILE, Store

if TYPE_CHECKING:
    from signaling.server import BranchServer

FEATURE = "tls"
STEPS = [
    # 1: one-time enrolment codes (hashed) and every certificate the branch CA issued
    """
    CREATE TABLE enrolment_codes (
        code_hash TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        role TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        created_by TEXT NOT NULL,
        used REAL,
        serial TEXT
    );
    CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        role TEXT NOT NULL,
        issued REAL NOT NULL,
        expires REAL NOT NULL,
        revoked REAL,
        revoked_by TEXT
    );
    CREATE INDEX certificates_device ON certificates(device);
    CREATE TABLE device_revocations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        device TEXT NOT NULL,
        at REAL NOT NULL,
        by TEXT NOT NULL
    );
    """,
]

ENROL_PATH = "/api/enrol"


@dataclass(frozen=True)
class IssuedCode:
    code: str
    device_id: str
    role: Role
    expires: float


def _hash(code: str) -> str:
    normal = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normal.encode("ascii", "replace")).hexdigest()


def new_code() -> str:
    """16 base32 characters in groups of four, e.g. ``K7PQ-M2XD-4HTA-ZB6W``."""
    raw = base64.b32encode(secrets.token_bytes(limits.ENROLMENT_CODE_BYTES)).decode("ascii")
    raw = raw.rstrip("=")
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def open_store(data_dir: Path) -> Store:
    """The branch database with this feature's tables (for the offline commands)."""
    store = Store(data_dir / DB_FILE)
    store.migrate_feature(FEATURE, STEPS)
    return store


def issue_code(store: Store, device_id: str, role: Role | str, *, by: str, now: float,
               ttl_s: float = limits.ENROLMENT_CODE_TTL_S) -> IssuedCode:
    """Store a new one-time code for ``device_id`` as ``role``; audited."""
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"device id {device_id!r} must be 1-64 lowercase letters, digits or "
                         "._- and start with a letter or digit")
    role = Role(role)
    if role is Role.ADMIN:
        raise ValueError("people are not enrolled as devices: an admin is a person")
    code = new_code()

    def work(db: sqlite3.Connection) -> None:
        known = db.execute(
            "SELECT role FROM certificates WHERE device=? UNION ALL SELECT role FROM "
            "enrolment_codes WHERE device=? UNION ALL SELECT role FROM devices WHERE id=? "
            "LIMIT 1", (device_id, device_id, device_id)).fetchone()
        if known is not None and known[0] != role.value:
            raise ValueError(f"{device_id} is a {known[0]}; an id keeps its role (use a new id)")
        db.execute(
            "INSERT INTO enrolment_codes (code_hash, device, role, created, expires, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (_hash(code), device_id, role.value, now, now + ttl_s, by))
        store._audit(db, now, by, "enrolment_code_issued", device_id,
                     {"role": role.value, "expires": now + ttl_s})

    store.transaction(work)
    return IssuedCode(code, device_id, role, now + ttl_s)


def redeem(store: Store, files: ca.CaFiles, code: str, role: str, csr_pem: bytes, *,
           now: float, address: str) -> tuple[bytes, ca.DeviceIdentity]:
    """Spend ``code`` and sign the request; raises :class:`EnrolmentRefused` (or
    :class:`CertificateError` for a bad request, which leaves the code unspent)."""

    def work(db: sqlite3.Connection) -> tuple[bytes, ca.DeviceIdentity] | str:
        """The certificate, or why not (the refusal is audited and committed too)."""
        row = db.execute("SELECT device, role, expires, used FROM enrolment_codes "
                         "WHERE code_hash=?", (_hash(code),)).fetchone()
        device = row[0] if row else ""
        if row is None:
            reason = "unknown enrolment code: check it, or ask for a new one"
        elif row[3] is not None:
            reason = "this enrolment code was used already: ask for a new one"
        elif now >= row[2]:
            reason = f"this enrolment code expired {int(now - row[2])} s ago: ask for a new one"
        elif role != row[1]:
            reason = f"this code enrols a {row[1]}, not a {role}"
        else:
            pem, identity = ca.sign_device(files, csr_pem, device, Role(row[1]),
                                           datetime.datetime.fromtimestamp(now, datetime.UTC))
            serial = f"{identity.serial:x}"
            db.execute("UPDATE enrolment_codes SET used=?, serial=? WHERE code_hash=?",
                       (now, serial, _hash(code)))
            db.execute("INSERT INTO certificates (serial, device, role, issued, expires) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (serial, device, row[1], now, identity.not_after))
            store._audit(db, now, device, "device_enrolled", device,
                         {"role": row[1], "serial": serial, "address": address})
            return pem, identity
        store._audit(db, now, f"address:{address}", "enrolment_refused", device,
                     {"reason": reason})
        return reason

    outcome = store.transaction(work)
    if isinstance(outcome, str):
        raise EnrolmentRefused(outcome)
    return outcome


# -- the HTTP route ---------------------------------------------------------------------------


def setup(app: web.Application, server: BranchServer) -> None:
    async def migrate() -> None:
        await server.db.call(server.db.sync.migrate_feature, FEATURE, STEPS)

    server.on_start.insert(0, migrate)

    async def enrol(request: web.Request) -> web.Response:
        body = await read_json_object(request, fields="code, role, csr")
        code, role, csr = body.get("code"), body.get("role"), body.get("csr")
        if not isinstance(code, str) or not 1 <= len(code) <= 64:
            raise problem(400, "bad_request", "code must be the enrolment code (text)")
        if role not in {r.value for r in Role}:
            raise problem(400, "bad_request",
                            "role must be one of " + ", ".join(r.value for r in Role))
        if not isinstance(csr, str) or not 0 < len(csr) <= limits.MAX_CSR_BYTES:
            raise problem(400, "bad_request", "csr must be a PEM certificate request")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        address = str(peer[0]) if isinstance(peer, tuple) else "local"
        files = ca.CaFiles.of(server.config.data_dir)
        try:
            pem, identity = await server.db.call(
                redeem, server.db.sync, files, code, role, csr.encode("ascii", "replace"),
                now=server.clock(), address=address)
        except EnrolmentRefused as exc:
            raise problem(403, "enrolment_refused", str(exc)) from None
        except CertificateError as exc:
            raise problem(400, "bad_request", str(exc)) from None
        return web.json_response({
            "id": identity.device_id, "role": identity.role.value,
            "certificate": pem.decode("ascii"),
            "ca": files.ca_cert.read_text(encoding="ascii"),
        })

    app.router.add_post(ENROL_PATH, enrol)


def issue_code_offline(data_dir: Path, device_id: str, role: str, by: str) -> IssuedCode:
    """``bilik server enroll``: a code straight into the branch database."""
    store = open_store(data_dir)
    try:
        return issue_code(store, device_id, role, by=by, now=time.time())
    finally:
        store.close()
