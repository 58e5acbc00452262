"""The report signer's Ed25519 key: read from `[reports] signing_key_file`, or generated beside
the store on first use (mode 0600). Its fingerprint, the SHA-256 of the raw 32-byte public
key, is printed on every cover and recorded in the manifest (ARCHITECTURE.md)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reports.errors import ReportError

__all__ = ["Signer", "default_key_path", "load_signer"]


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey
    path: Path

    @property
    def public_raw(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the raw public key, 64 hex digits."""
        return hashlib.sha256(self.public_raw).hexdigest()

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:  # never the key itself
        return f"Signer(path={str(self.path)!r}, fingerprint={self.fingerprint})"


def default_key_path(store_path: Path) -> Path:
    """Where the key lives when the config names none: beside the store."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".signing-key.pem")


def load_signer(path: Path, *, create: bool) -> Signer:
    """The Ed25519 key at `path` (PKCS#8 PEM, unencrypted); with `create`, a new one is
    written there first when the file does not exist."""
    path = Path(path)
    if not path.exists():
        if not create:
            raise ReportError(f"{path}: signing key not found")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: two first reports at
        # once never both write a key, and neither reads the other's half-written one.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)
        except FileExistsError:
            pass  # another first report won: use its key
        else:
            return Signer(key, path)
        finally:
            tmp.unlink(missing_ok=True)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise ReportError(f"{path}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReportError(f"{path}: the signing key must be Ed25519")
    return Signer(key, path)
