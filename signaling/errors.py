"""Root of every error the signaling package raises on purpose."""

from __future__ import annotations

from bilik.errors import BilikError


class SignalingError(BilikError):
    """Base of the branch server's and the signaling client's errors."""


class ProtocolError(SignalingError, ValueError):
    """A message broke the wire protocol; ``code`` and ``detail`` go back in an error reply."""

    def __init__(self, code: str, detail: str, ref: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.ref = ref


class TokenError(SignalingError):
    """A device credential is not acceptable."""


class TokenMalformed(TokenError):
    pass


class TokenSignatureInvalid(TokenError):
    pass


class TokenExpired(TokenError):
    pass


class StoreError(SignalingError):
    """The branch server's data directory or database cannot be used."""


class CertificateError(SignalingError):
    """The branch CA, a certificate or a certificate request cannot be used."""


class EnrolmentRefused(SignalingError):
    """An enrolment code is unknown, used, expired or for another role."""


class CredentialRevoked(TokenError):
    """The device's certificate or id was revoked (``bilik server revoke``)."""
