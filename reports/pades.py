"""A PAdES signature on the report PDF, so that PDF readers (Acrobat, poppler's pdfsig) show it.

The Ed25519 key (reports.signing) signs the bundle, but NSS and so pdfsig cannot check an
Ed25519 PDF signature, and RSA-PSS and ECDSA signatures differ on every run (DOMAIN §9.2): the
PDF is signed with an RSA-2048 key, PKCS#1 v1.5 and SHA-256, kept beside the Ed25519 key
(`pades_paths`).

Its certificate is self-signed and binds the Ed25519 signer: subject and issuer are
CN="scim-evidence report signer" with the Ed25519 fingerprint (64 hex digits, the one on the
cover) as the subject's serialNumber attribute (OID 2.5.4.5); the certificate's serial number
is the fingerprint's first 19 bytes. It is valid from 2000-01-01 to 9999-12-31 so that any data
cut-off used as the signing time is inside its validity. Since PKCS#1 v1.5 is deterministic,
the certificate is a function of the RSA key and the fingerprint alone.

Signing is byte-deterministic (same PDF, key and signing time, same bytes; whatever TZ says),
which takes three of pyHanko's private hooks (DOMAIN §9.2): the signing session's
`system_time`, `IncrementalPdfFileWriter._handle_id` and the writer's `_meta` whose
`last_modified` `_update_meta` sets to "now". pyHanko is pinned for them, and
tests/test_pades.py checks the bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from reports.errors import ReportError
from reports.signing import Signer

__all__ = [
    "FIELD_NAME",
    "PadesSigner",
    "PdfSignatureCheck",
    "check_pdf_signature",
    "load_pades_signer",
    "pades_paths",
    "sign_pdf",
]

FIELD_NAME = "scim-evidence"
SUBJECT_CN = "scim-evidence report signer"
NOT_BEFORE = datetime(2000, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_CHUNK = 1 << 20


def pades_paths(signer_key_path: Path) -> tuple[Path, Path]:
    """The RSA key and its certificate, beside the Ed25519 key at `signer_key_path`."""
    signer_key_path = Path(signer_key_path)
    name = signer_key_path.name
    return (
        signer_key_path.with_name(name + ".pades-key.pem"),
        signer_key_path.with_name(name + ".pades-cert.pem"),
    )


@dataclass(frozen=True)
class PadesSigner:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    key_path: Path
    cert_path: Path

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def cert_sha256(self) -> str:
        """SHA-256 of the DER certificate, 64 hex digits."""
        return hashlib.sha256(self.cert_der).hexdigest()

    @property
    def signer_fingerprint(self) -> str | None:
        """The Ed25519 fingerprint the certificate names."""
        return _fingerprint_of(self.cert)

    def __repr__(self) -> str:  # never the key itself
        return f"PadesSigner(cert_path={str(self.cert_path)!r}, cert_sha256={self.cert_sha256})"


@dataclass(frozen=True)
class PdfSignatureCheck:
    valid: bool
    cert_sha256: str | None = None
    signer_fingerprint: str | None = None
    signing_time: datetime | None = None
    problem: str = ""


def _fingerprint_of(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(attrs[0].value) if len(attrs) == 1 else None


def _make_cert(key: rsa.RSAPrivateKey, fingerprint: str) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT_CN),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, fingerprint),
        ]
    )
    # 19 bytes: positive and within the 20 octets RFC 5280 allows, whatever the fingerprint.
    serial = int.from_bytes(bytes.fromhex(fingerprint)[:19], "big") or 1
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: two first reports at once must not both write the file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _create(key_path: Path, cert_path: Path, signer: Signer) -> None:
    key_path.parent.mkdir(parents=True, exist_ok=True)
    if not key_path.exists():
        if cert_path.exists():
            # A new key cannot match the certificate already there.
            raise ReportError(f"{cert_path}: certificate without its key {key_path.name}")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            _write_new(key_path, pem, 0o600)
        except FileExistsError:
            return  # another process won: load its key and certificate
    if not cert_path.exists():
        key = _read_key(key_path)
        cert = _make_cert(key, signer.fingerprint).public_bytes(serialization.Encoding.PEM)
        try:
            _write_new(cert_path, cert, 0o644)
        except FileExistsError:
            return
        os.chmod(cert_path, 0o644)  # whatever the umask: the certificate is public


def _read_key(key_path: Path) -> rsa.RSAPrivateKey:
    try:
        data = key_path.read_bytes()
    except OSError as e:
        raise ReportError(f"{key_path}: cannot read the PAdES key ({e.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The message from cryptography is left out: it could quote the file.
        raise ReportError(f"{key_path}: not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != 2048:
        raise ReportError(f"{key_path}: the PAdES key must be RSA-2048")
    return key


def _read_cert(cert_path: Path) -> x509.Certificate:
    try:
        data = cert_path.read_bytes()
    except OSError as e:
        raise ReportError(
            f"{cert_path}: cannot read the PAdES certificate ({e.strerror})"
        ) from None
    try:
        return x509.load_pem_x509_certificate(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ReportError(f"{cert_path}: not a PEM X.509 certificate") from None


def load_pades_signer(signer: Signer, *, create: bool) -> PadesSigner:
    """The RSA key and certificate beside `signer`'s key; with `create`, made first when absent.

    Refused (ReportError naming the file) when a file cannot be read, the key and certificate do
    not match, or the certificate names another Ed25519 signer."""
    key_path, cert_path = pades_paths(signer.path)
    if create:
        _create(key_path, cert_path, signer)
    for path in (key_path, cert_path):
        if not path.exists():
            raise ReportError(f"{path}: PAdES signing file not found")
    key = _read_key(key_path)
    cert = _read_cert(cert_path)
    if cert.public_key() != key.public_key():
        raise ReportError(f"{cert_path}: the certificate is not that of the key {key_path.name}")
    named = _fingerprint_of(cert)
    if named != signer.fingerprint:
        raise ReportError(
            f"{cert_path}: the certificate names Ed25519 signer {named or 'none'}, "
            f"not {signer.fingerprint}"
        )
    return PadesSigner(key, cert, key_path, cert_path)


def _sha256_of(stream: BinaryIO) -> bytes:
    position = stream.tell()
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    stream.seek(position)
    return digest.digest()


class _PinnedMeta(DocumentMetadata):
    """Document metadata whose last-modified date stays put: pyHanko's writer sets it to
    "now" just before it writes (`_update_meta`), which would date the file by the clock."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "last_modified" and value == "now":
            return
        super().__setattr__(name, value)


class _Writer(IncrementalPdfFileWriter):
    @classmethod
    def _handle_id(cls, prev: PdfFileReader) -> generic.ArrayObject:
        # pyHanko takes the second /ID from os.urandom; ours is a hash of the input, so the
        # same input gives the same file while a changed one gets another id.
        ids = super()._handle_id(prev)
        digest = _sha256_of(prev.stream)
        first = ids[0] if "/ID" in prev.trailer else generic.ByteStringObject(digest[16:])
        return generic.ArrayObject([first, generic.ByteStringObject(digest[:16])])


class _PdfSigner(signers.PdfSigner):
    def __init__(
        self,
        meta: signers.PdfSignatureMetadata,
        signer: signers.Signer,
        *,
        signing_time: datetime,
    ) -> None:
        super().__init__(meta, signer)
        self._signing_time = signing_time

    def init_signing_session(
        self, pdf_out: BasePdfFileWriter, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        # The session's system_time, the clock by default, becomes the signature's /M.
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


def _pyhanko_signer(pades: PadesSigner) -> signers.SimpleSigner:
    key_der = pades.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert = asn1_x509.Certificate.load(pades.cert_der)
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([cert]),
        prefer_pss=False,
    )


def sign_pdf(path: Path, pades: PadesSigner, *, signing_time: datetime) -> None:
    """Add an invisible PAdES signature, dated `signing_time`, to the PDF at `path`, as an
    incremental update (the PDF/A variant and embedded files stay as they are), in place."""
    if signing_time.tzinfo is None or signing_time.utcoffset() is None:
        raise ReportError("the PDF signing time must be timezone-aware")
    # In UTC, so that the /M and the dates in the metadata do not depend on the caller's zone.
    moment = signing_time.astimezone(UTC).replace(microsecond=0)
    path = Path(path)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    pdf_signer = _PdfSigner(meta, _pyhanko_signer(pades), signing_time=moment)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".signing", dir=path.parent)
    try:
        with open(path, "rb") as src, os.fdopen(fd, "w+b") as out:
            try:
                writer = _Writer(src)
            except Exception as e:  # pyHanko's parser raises many kinds on a broken file
                raise ReportError(f"{path}: cannot read the PDF to sign it ({e})") from None
            writer._meta = _PinnedMeta(last_modified=moment)
            pdf_signer.sign_pdf(writer, output=out)
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _problem(status: PdfSignatureStatus) -> str:
    if not status.intact:
        return "digest mismatch"
    if not status.valid:
        return "the signature does not verify"
    return ""


def _check(path: Path) -> PdfSignatureCheck:
    with open(path, "rb") as f:
        sigs = PdfFileReader(f).embedded_regular_signatures
        if not sigs:
            return PdfSignatureCheck(False, problem="no signature")
        cert_der = sigs[-1].signer_cert.dump()
        found = PdfSignatureCheck(
            False,
            cert_sha256=hashlib.sha256(cert_der).hexdigest(),
            signer_fingerprint=_fingerprint_of(x509.load_der_x509_certificate(cert_der)),
            signing_time=sigs[-1].self_reported_timestamp,
        )
        for sig in sigs:
            # Integrity, not trust: the certificate is its own root, and nothing is fetched.
            context = ValidationContext(
                trust_roots=[sig.signer_cert], allow_fetching=False, revocation_mode="soft-fail"
            )
            status = validate_pdf_signature(sig, signer_validation_context=context, skip_diff=True)
            if problem := _problem(status):
                where = "" if len(sigs) == 1 else f"{sig.field_name}: "
                return replace(found, problem=where + problem)
        # The last signature must cover every byte: anything after it is unsigned.
        if sigs[-1].coverage != SignatureCoverageLevel.ENTIRE_FILE:
            return replace(found, problem="bytes after the signature")
        return replace(found, valid=True)


def check_pdf_signature(path: Path) -> PdfSignatureCheck:
    """Check the PDF's signatures offline: intact digests, valid signatures, and the last one
    covering the whole file. Integrity, not trust: the certificate is self-signed. A broken or
    unreadable PDF is reported as not valid, never raised. The other fields describe the last
    signature."""
    try:
        return _check(Path(path))
    except OSError as e:
        return PdfSignatureCheck(False, problem=f"cannot read the file ({e.strerror})")
    except Exception as e:  # a corrupted PDF makes pyHanko's parser raise about anything
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        return PdfSignatureCheck(False, problem=f"unreadable PDF or signature: {detail}")
