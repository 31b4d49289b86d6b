"""The branch server's Ed25519 signing key: made at first start (mode 0600), and public keys.

The private key never leaves ``DATA_DIR/evidence-key.pem``; its public part is printed by
``bilik evidence public-key`` and registered at the head office. A key file readable by
anyone but its owner is refused, not used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bilik.evidence.errors import KeyFileError

KEY_FILE = "evidence-key.pem"
KEY_MODE = 0o600


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def _write_new(path: Path) -> None:
    """Create the key file at ``path`` with mode 0600, atomically, unless it exists."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made the key first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_or_create(data_dir: Path) -> Ed25519PrivateKey:
    """The branch's signing key, made on first use."""
    path = key_path(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _write_new(path)
    except OSError as exc:
        raise KeyFileError(f"cannot create the evidence key {path}: {exc.strerror}") from None
    return load_private(path)


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyFileError(f"evidence key {path} is readable by others (mode {mode:04o}); "
                               f"run chmod 600 {path}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"no evidence key at {path}: the branch server makes it at its "
                           "first start") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read the evidence key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: how a bundle names the key that signed it."""
    return hashlib.sha256(raw_public(key)).hexdigest()


def parse_public(data: bytes, source: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text, or raise :class:`KeyFileError` naming ``source``."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{source} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{source} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc.strerror}") from None
    return parse_public(data, str(path))


def from_raw(raw_b64: str) -> Ed25519PublicKey | None:
    with contextlib.suppress(ValueError, TypeError):
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64, validate=True))
    return None


def verify(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
