"""The revocation list as the server holds it (pure): revoked certificate serials, and revoked
device ids with the time of their revocation.

Filled and refreshed by :mod:`signaling.revocation` from the branch database; read at every
hello and device HTTP request by :mod:`signaling.certauth`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling import tokens

CERT_PREFIX = "x509:"  # Grant.token_id of a grant taken from a certificate


@dataclass
class Revocations:
    serials: set[str] = field(default_factory=set)  # hex serials of revoked certificates
    devices: dict[str, float] = field(default_factory=dict)  # device id -> revoked at

    def refusal(self, grant: tokens.Grant) -> str | None:
        """Why ``grant`` may no longer connect, or None."""
        if grant.token_id.startswith(CERT_PREFIX):
            if grant.token_id[len(CERT_PREFIX):] in self.serials:
                return f"the certificate of {grant.device_id} is revoked"
            return None
        revoked_at = self.devices.get(grant.device_id)
        if revoked_at is not None and grant.issued_at <= revoked_at:
            return f"{grant.device_id} is revoked; its old token is refused"
        return None
