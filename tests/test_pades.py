"""The PAdES signature on the report PDF (reports.pades): byte-deterministic, checked by poppler's
pdfsig and by check_pdf_signature, the PDF/A-3b variant and attachments kept (DOMAIN §9.2)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from reports.errors import ReportError
from reports.pades import (
    check_pdf_signature,
    load_pades_signer,
    pades_paths,
    sign_pdf,
)
from reports.signing import Signer, load_signer

ROOT = Path(__file__).resolve().parents[1]
CREATED = datetime(2025, 1, 31, 12, 0, 0)  # WeasyPrint writes it with a literal Z: naive UTC
# Another instant than the document's dates, so that a date left to the clock or copied from
# the document shows.
SIGNED_AT = datetime(2025, 2, 1, 8, 30, 0, tzinfo=UTC)
HTML_DOC = (
    "<html><head><title>t</title>"
    '<meta name="dcterms.created" content="2025-01-31T12:00:00Z">'
    '<meta name="dcterms.modified" content="2025-01-31T12:00:00Z">'
    "</head><body><p>x</p></body></html>"
)


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from weasyprint import HTML, Attachment

    path = tmp_path_factory.mktemp("pdf") / "unsigned.pdf"
    attachment = Attachment(
        string="a,b\n", name="p.csv", created=CREATED, modified=CREATED, relationship="Data"
    )
    HTML(string=HTML_DOC).write_pdf(path, pdf_variant="pdf/a-3b", attachments=[attachment])
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return load_signer(tmp_path_factory.mktemp("keys") / "k.pem", create=True)


@pytest.fixture(scope="module")
def signed(unsigned: Path, keys: Signer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signed") / "signed.pdf"
    shutil.copy(unsigned, path)
    sign_pdf(path, load_pades_signer(keys, create=True), signing_time=SIGNED_AT)
    return path


def _copy(src: Path, dst: Path, data: bytes | None = None) -> Path:
    dst.write_bytes(src.read_bytes() if data is None else data)
    return dst


def _pdfsig(path: Path) -> str:
    # pdfsig prints the signing time in the local zone; it exits 0 even on a digest mismatch.
    run = subprocess.run(
        ["pdfsig", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def _line(output: str, label: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip().startswith(f"- {label}:")]
    assert len(lines) == 1, output
    return lines[0]


def _byte_range(data: bytes) -> list[int]:
    match = re.search(rb"/ByteRange \[\s*(\d+) (\d+) (\d+) (\d+)\s*\]", data)
    assert match, "no /ByteRange"
    return [int(g) for g in match.groups()]


# --- determinism -----------------------------------------------------------------------------


def test_signing_twice_gives_the_same_bytes_in_any_time_zone(
    unsigned: Path, keys: Signer, signed: Path, tmp_path: Path
) -> None:
    pades = load_pades_signer(keys, create=False)
    again = _copy(unsigned, tmp_path / "again.pdf")
    sign_pdf(again, pades, signing_time=SIGNED_AT)
    assert again.read_bytes() == signed.read_bytes()

    # The same instant in another zone, and another process whose local zone is Tokyo.
    eastern = _copy(unsigned, tmp_path / "eastern.pdf")
    sign_pdf(eastern, pades, signing_time=SIGNED_AT.astimezone(timezone(timedelta(hours=9))))
    assert eastern.read_bytes() == signed.read_bytes()
    tokyo = _copy(unsigned, tmp_path / "tokyo.pdf")
    script = (
        "import sys; from datetime import datetime, UTC; from pathlib import Path\n"
        "from reports.signing import load_signer\n"
        "from reports.pades import load_pades_signer, sign_pdf\n"
        "p = load_pades_signer(load_signer(Path(sys.argv[1]), create=False), create=False)\n"
        "sign_pdf(Path(sys.argv[2]), p, signing_time=datetime(2025, 2, 1, 8, 30, tzinfo=UTC))\n"
    )
    env = {**os.environ, "TZ": "Asia/Tokyo", "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", script, str(keys.path), str(tokyo)], env=env, cwd=ROOT, check=True
    )
    assert tokyo.read_bytes() == signed.read_bytes()


def test_dates_come_from_the_signing_time_and_the_id_from_the_input(
    unsigned: Path, signed: Path
) -> None:
    data = signed.read_bytes()
    original = unsigned.read_bytes()
    assert data.startswith(original)  # an incremental update
    with pikepdf.open(unsigned) as before, pikepdf.open(signed) as pdf:
        field = pdf.Root.AcroForm.Fields[0]
        assert str(field.T) == "scim-evidence"
        assert str(field.V.M) == "D:20250201083000Z"
        assert str(field.V.SubFilter) == "/ETSI.CAdES.detached"
        assert list(field.Rect) == [0, 0, 0, 0]  # invisible
        assert str(pdf.docinfo.ModDate) == "D:20250201083000Z"
        assert str(pdf.docinfo.CreationDate) == str(before.docinfo.CreationDate)
        meta = pdf.open_metadata()
        assert meta["xmp:ModifyDate"] == "2025-02-01T08:30:00+00:00"
        assert bytes(pdf.trailer.ID[0]) == bytes(before.trailer.ID[0])
        assert bytes(pdf.trailer.ID[1]) == hashlib.sha256(original).digest()[:16]


def test_a_naive_signing_time_is_refused(unsigned: Path, keys: Signer, tmp_path: Path) -> None:
    path = _copy(unsigned, tmp_path / "x.pdf")
    with pytest.raises(ReportError, match="timezone-aware"):
        sign_pdf(path, load_pades_signer(keys, create=False), signing_time=datetime(2025, 2, 1))
    assert path.read_bytes() == unsigned.read_bytes()


def test_a_file_that_is_no_pdf_is_refused_and_left_alone(keys: Signer, tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"not a pdf")
    with pytest.raises(ReportError, match=re.escape(str(path))):
        sign_pdf(path, load_pades_signer(keys, create=False), signing_time=SIGNED_AT)
    assert path.read_bytes() == b"not a pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pdf"]  # no temp file left


# --- pdfsig ----------------------------------------------------------------------------------


def test_pdfsig_finds_the_signature_valid_and_dated(signed: Path) -> None:
    out = _pdfsig(signed)
    assert _line(out, "Signature Validation") == "- Signature Validation: Signature is Valid."
    assert _line(out, "Signing Time") == "- Signing Time: Feb 01 2025 08:30:00"
    assert _line(out, "Signing Hash Algorithm") == "- Signing Hash Algorithm: SHA-256"
    assert _line(out, "Signature Field Name") == "- Signature Field Name: scim-evidence"
    assert "- Total document signed" in out


def test_pdfsig_reports_a_digest_mismatch_after_one_flipped_byte(
    signed: Path, tmp_path: Path
) -> None:
    data = bytearray(signed.read_bytes())
    start, length, _, _ = _byte_range(data)
    at = 10  # inside the header's binary comment: signed, and harmless to the parser
    assert start <= at < start + length
    data[at] ^= 0x01
    out = _pdfsig(_copy(signed, tmp_path / "flipped.pdf", bytes(data)))
    assert _line(out, "Signature Validation") == "- Signature Validation: Digest Mismatch."


# --- check_pdf_signature ---------------------------------------------------------------------


def test_check_accepts_the_untouched_file(signed: Path, keys: Signer) -> None:
    check = check_pdf_signature(signed)
    assert check.valid, check.problem
    assert check.problem == ""
    assert check.signer_fingerprint == keys.fingerprint
    assert check.cert_sha256 == load_pades_signer(keys, create=False).cert_sha256
    assert check.signing_time == SIGNED_AT


def test_check_refuses_a_flipped_byte(signed: Path, keys: Signer, tmp_path: Path) -> None:
    data = bytearray(signed.read_bytes())
    data[10] ^= 0x01
    check = check_pdf_signature(_copy(signed, tmp_path / "f.pdf", bytes(data)))
    assert not check.valid
    assert check.problem == "digest mismatch"
    assert check.signer_fingerprint == keys.fingerprint  # still read, for the message


def test_check_refuses_a_changed_signature_value(signed: Path, tmp_path: Path) -> None:
    data = bytearray(signed.read_bytes())
    _, length, _, _ = _byte_range(data)
    hex_start = length + 1  # after the '<' of /Contents
    der_length = 4 + int(data[hex_start + 4 : hex_start + 8], 16)  # 30 82 LL LL
    at = hex_start + 2 * (der_length - 10)  # inside the RSA signature, the DER's last field
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    check = check_pdf_signature(_copy(signed, tmp_path / "s.pdf", bytes(data)))
    assert not check.valid
    assert check.problem == "the signature does not verify"


def test_check_refuses_bytes_after_the_signature(signed: Path, tmp_path: Path) -> None:
    path = _copy(signed, tmp_path / "a.pdf", signed.read_bytes() + b"\n% appended\n")
    check = check_pdf_signature(path)
    assert not check.valid
    assert check.problem == "bytes after the signature"


def test_check_refuses_an_unsigned_pdf(unsigned: Path) -> None:
    check = check_pdf_signature(unsigned)
    assert check == type(check)(valid=False, problem="no signature")


@pytest.mark.parametrize("cut", [b"not a pdf", b"truncated"])
def test_check_reports_a_broken_file_without_raising(
    signed: Path, tmp_path: Path, cut: bytes
) -> None:
    data = cut if cut == b"not a pdf" else signed.read_bytes()[:9000]
    check = check_pdf_signature(_copy(signed, tmp_path / "b.pdf", data))
    assert not check.valid
    assert check.problem.startswith("unreadable PDF or signature: ")
    assert "\n" not in check.problem
    missing = check_pdf_signature(tmp_path / "missing.pdf")
    assert (missing.valid, missing.problem) == (
        False,
        "cannot read the file (No such file or directory)",
    )


# --- the PDF stays a PDF/A-3b with its attachment --------------------------------------------


def test_attachment_and_pdfa_variant_survive(signed: Path) -> None:
    run = subprocess.run(["pdfdetach", "-list", str(signed)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["1 embedded files", "1: p.csv"]
    with pikepdf.open(signed) as pdf:
        meta = pdf.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert len(pdf.Root.OutputIntents) == 1
        spec = pdf.Root.Names.EmbeddedFiles.Names[1]
        assert spec.EF.F.read_bytes() == b"a,b\n"
        assert str(spec.AFRelationship) == "/Data"


# --- the key and certificate -----------------------------------------------------------------


def test_paths_are_beside_the_ed25519_key(tmp_path: Path) -> None:
    assert pades_paths(tmp_path / "s.signing-key.pem") == (
        tmp_path / "s.signing-key.pem.pades-key.pem",
        tmp_path / "s.signing-key.pem.pades-cert.pem",
    )


def test_created_once_with_modes_and_reused(tmp_path: Path) -> None:
    signer = load_signer(tmp_path / "k.pem", create=True)
    key_path, cert_path = pades_paths(signer.path)
    with pytest.raises(ReportError, match=re.escape(str(key_path))):
        load_pades_signer(signer, create=False)
    first = load_pades_signer(signer, create=True)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    key_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()
    again = load_pades_signer(signer, create=True)
    assert again.cert_sha256 == first.cert_sha256
    assert (key_path.read_bytes(), cert_path.read_bytes()) == (key_pem, cert_pem)
    assert load_pades_signer(signer, create=False).cert_sha256 == first.cert_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", first.cert_sha256)
    assert first.cert_sha256 == hashlib.sha256(first.cert_der).hexdigest()
    # The certificate follows from the key and the signer: made again, it is the same.
    cert_path.unlink()
    assert load_pades_signer(signer, create=True).cert_sha256 == first.cert_sha256


def test_the_certificate_binds_the_ed25519_signer(keys: Signer) -> None:
    pades = load_pades_signer(keys, create=False)
    cert = x509.load_pem_x509_certificate(pades_paths(keys.path)[1].read_bytes())
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "scim-evidence report signer"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == (keys.fingerprint)
    assert cert.serial_number == int(keys.fingerprint[:38], 16)
    assert cert.not_valid_before_utc == datetime(2000, 1, 1, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    public.verify(cert.signature, cert.tbs_certificate_bytes, *_pkcs1v15_sha256())
    assert pades.signer_fingerprint == keys.fingerprint


def _pkcs1v15_sha256() -> tuple:
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256()


def test_repr_shows_no_key_material(keys: Signer) -> None:
    pades = load_pades_signer(keys, create=False)
    text = repr(pades)
    assert pades.cert_sha256 in text
    key_pem = pades_paths(keys.path)[0].read_text()
    body = [ln for ln in key_pem.splitlines() if not ln.startswith("-----")]
    assert not any(ln[:16] in text for ln in body)
    assert "PRIVATE" not in text and str(pades.key.private_numbers().d) not in text


def test_a_certificate_naming_another_signer_is_refused(tmp_path: Path) -> None:
    ours = load_signer(tmp_path / "ours" / "k.pem", create=True)
    theirs = load_signer(tmp_path / "theirs" / "k.pem", create=True)
    load_pades_signer(theirs, create=True)
    for src, dst in zip(pades_paths(theirs.path), pades_paths(ours.path), strict=True):
        shutil.copy(src, dst)
    cert_path = pades_paths(ours.path)[1]
    with pytest.raises(ReportError) as e:
        load_pades_signer(ours, create=True)
    message = str(e.value)
    assert message.startswith(f"{cert_path}: ")
    assert theirs.fingerprint in message and "\n" not in message


def test_a_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    signer = load_signer(tmp_path / "k.pem", create=True)
    other = load_signer(tmp_path / "o" / "k.pem", create=True)
    load_pades_signer(signer, create=True)
    load_pades_signer(other, create=True)
    # Same Ed25519 signer named, another RSA key: the key file is ours, the cert is not its.
    shutil.copy(pades_paths(other.path)[0], pades_paths(signer.path)[0])
    with pytest.raises(ReportError, match=re.escape(str(pades_paths(signer.path)[1]))):
        load_pades_signer(signer, create=False)


def test_a_garbage_key_file_is_refused_naming_it(tmp_path: Path) -> None:
    signer = load_signer(tmp_path / "k.pem", create=True)
    key_path, cert_path = pades_paths(signer.path)
    key_path.write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(ReportError) as e:
        load_pades_signer(signer, create=True)
    message = str(e.value)
    assert message.startswith(f"{key_path}: ")
    assert "c2VjcmV0LWJ5dGVz" not in message and "\n" not in message
    assert not cert_path.exists()


def test_a_garbage_certificate_file_is_refused_naming_it(tmp_path: Path) -> None:
    signer = load_signer(tmp_path / "k.pem", create=True)
    load_pades_signer(signer, create=True)
    cert_path = pades_paths(signer.path)[1]
    cert_path.write_bytes(b"garbage")
    with pytest.raises(ReportError, match=rf"^{re.escape(str(cert_path))}: "):
        load_pades_signer(signer, create=True)


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    signer = load_signer(tmp_path / "k.pem", create=True)
    load_pades_signer(signer, create=True)
    key_path, cert_path = pades_paths(signer.path)
    key_path.unlink()
    with pytest.raises(ReportError, match=rf"^{re.escape(str(cert_path))}: "):
        load_pades_signer(signer, create=True)
    assert not key_path.exists()
