"""The branch certificate authority: its key, the server's certificate, devices' certificates.

``bilik server ca init`` makes, under ``<data_dir>/ca/``:

- ``ca.key`` (0600) and ``ca.pem``: the branch CA. ``ca.pem`` is public: every device is
  given it (``ca_file``) and trusts the server only if the server's certificate chains to it.
- ``server.key`` (0600) and ``server.pem``: the branch server's certificate, naming the
  addresses and host names devices use to reach it (Subject Alternative Names).

Devices get their certificates by enrolment (:mod:`signaling.enrolment`): subject
``CN=<device id>, OU=<role>``, signed here. The server reads identity and role back with
:func:`identity_of`.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bilik.errors import ConfigError
from bilik.tls import MINIMUM_VERSION, check_key_file
from signaling import limits
from signaling.errors import CertificateError
from signaling.protocol import DEVICE_ID_RE, Role

CA_DIR = "ca"
DEFAULT_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class CaFiles:
    """Where the branch CA's files live (``<data_dir>/ca``)."""

    directory: Path

    @classmethod
    def of(cls, data_dir: Path) -> CaFiles:
        return cls(data_dir / CA_DIR)

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    def exists(self) -> bool:
        return all(p.exists() for p in (self.ca_cert, self.ca_key, self.server_cert,
                                         self.server_key))


@dataclass(frozen=True)
class DeviceIdentity:
    """What a verified device certificate says."""

    device_id: str
    role: Role
    serial: int
    not_before: float
    not_after: float


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only (0600 from the first byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    tmp.replace(path)


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def server_names(host: str, extra: list[str]) -> list[str]:
    """The names the server's certificate carries: 127.0.0.1, localhost, the listen address
    (unless it is a wildcard) and the configured ``tls_names``, without repeats."""
    names = list(DEFAULT_NAMES)
    if host not in ("0.0.0.0", "::", ""):
        names.append(host)
    names.extend(extra)
    return list(dict.fromkeys(names))


def init(files: CaFiles, *, branch: str, names: list[str], force: bool = False,
         now: datetime.datetime | None = None) -> None:
    """Make the branch CA and the server's certificate. Refuses to replace an existing CA
    (every enrolled device would have to enrol again) unless ``force``."""
    if files.ca_key.exists() and not force:
        raise CertificateError(
            f"a branch CA exists already in {files.directory}; replacing it would cut off every "
            "enrolled device (give --force to do it anyway, then enrol every device again)")
    now = now or datetime.datetime.now(datetime.UTC)
    files.directory.mkdir(parents=True, exist_ok=True)
    files.directory.chmod(0o700)  # the CA's key lives here: nobody else lists it
    ca_key = _new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bilik"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"Bilik branch {branch} CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=limits.CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(files.ca_key, _pem_key(ca_key))
    write_public(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
    issue_server(files, branch=branch, names=names, now=now)


def _load_ca(files: CaFiles) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if not files.ca_key.exists() or not files.ca_cert.exists():
        raise CertificateError(f"no branch CA in {files.directory}: run `bilik server ca init`")
    check_key_file(files.ca_key)
    cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{files.ca_key} is not the branch CA's key")
    return cert, key


def issue_server(files: CaFiles, *, branch: str, names: list[str],
                 now: datetime.datetime | None = None) -> None:
    """(Re)issue the server's certificate for ``names`` (addresses or host names)."""
    ca_cert, ca_key = _load_ca(files)
    now = now or datetime.datetime.now(datetime.UTC)
    key = _new_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bilik"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Bilik branch server {branch}")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=limits.SERVER_CERT_VALID_DAYS))
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(files.server_key, _pem_key(key))
    write_public(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))


def sign_device(files: CaFiles, csr_pem: bytes, device_id: str, role: Role,
                now: datetime.datetime) -> tuple[bytes, DeviceIdentity]:
    """Sign an enrolling device's request: its key, the id and role the code was made for.

    The request's own subject is ignored; the CA decides who the device is."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError:
        raise CertificateError("the certificate request is not a PEM CSR") from None
    if not csr.is_signature_valid:
        raise CertificateError("the certificate request's signature does not match its key")
    public = csr.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.key_size < limits.MIN_EC_KEY_BITS:
            raise CertificateError(f"an EC key needs {limits.MIN_EC_KEY_BITS} bits at least")
    elif isinstance(public, rsa.RSAPublicKey):
        if public.key_size < limits.MIN_RSA_KEY_BITS:
            raise CertificateError(f"an RSA key needs {limits.MIN_RSA_KEY_BITS} bits at least")
    else:
        raise CertificateError("the device key must be EC (P-256 or larger) or RSA")
    ca_cert, ca_key = _load_ca(files)
    serial = x509.random_serial_number()
    not_before = now - datetime.timedelta(minutes=5)
    not_after = now + datetime.timedelta(days=limits.DEVICE_CERT_VALID_DAYS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bilik"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.value),
            x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    identity = DeviceIdentity(device_id, role, serial, not_before.timestamp(),
                              not_after.timestamp())
    return cert.public_bytes(serialization.Encoding.PEM), identity


def identity_of(der: bytes) -> DeviceIdentity:
    """Identity and role from a device certificate the TLS layer has verified already."""
    cert = x509.load_der_x509_certificate(der)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    device_id = str(cns[0].value) if cns else ""
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise CertificateError("the certificate's subject is not a device id")
    try:
        role = Role(str(ous[0].value) if ous else "")
    except ValueError:
        raise CertificateError("the certificate names no device role") from None
    return DeviceIdentity(device_id, role, cert.serial_number,
                          cert.not_valid_before_utc.timestamp(),
                          cert.not_valid_after_utc.timestamp())


def server_context(files: CaFiles) -> ssl.SSLContext:
    """The server's TLS context: its certificate, and devices' certificates verified against
    the branch CA when they present one (enrolment and the token path present none)."""
    if not files.exists():
        raise ConfigError(
            str(files.directory),
            "no branch certificate: run `bilik server ca init` first (or set "
            "insecure_plaintext = true, for development only)")
    check_key_file(files.server_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(files.ca_cert))
    context.minimum_version = MINIMUM_VERSION
    context.load_cert_chain(str(files.server_cert), str(files.server_key))
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
