"""The signed evidence bundle (issue 13): its files, its zip, `evidence verify BUNDLE`, and a
rebuild that is byte-identical but for the manifest's build time and signature."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trestle.oscal.assessment_results import Model

from evidence.store.db import open_store
from reports.build import build_report
from reports.catalog_load import load_framework
from reports.signing import Signer, load_signer
from reports.verify import VerifyError, verify_bundle
from tests.report_tenant import END, START, VERSION

NAME = "soc2-2025-11-01-2026-10-31"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return load_signer(tmp_path_factory.mktemp("key") / "signing-key.pem", create=True)


def build(soc2_store: Path, out: Path, signer: Signer) -> Any:
    con = open_store(soc2_store, read_only=True)
    try:
        return build_report(con, "soc2", START, END, out, tool_version=VERSION, signer=signer)
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(soc2_store: Path, signer: Signer, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build(soc2_store, tmp_path_factory.mktemp("out"), signer)


@pytest.fixture
def copy(built: Any, tmp_path: Path) -> Iterator[Path]:
    """A copy of the bundle folder to tamper with."""
    target = tmp_path / NAME
    shutil.copytree(built.bundle, target)
    yield target


def lines(path: Path, **kw: Any) -> list[str]:
    return list(verify_bundle(path, **kw))


def failure(path: Path, **kw: Any) -> str:
    with pytest.raises(VerifyError) as e:
        lines(path, **kw)
    return str(e.value)


def bundle_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- contents


def test_the_bundle_holds_its_files_and_a_zip_of_them(built: Any, signer: Signer) -> None:
    root = built.bundle
    names = bundle_files(root)
    assert {"manifest.json", "manifest.sig", "signer.pub", f"{NAME}.pdf"} <= set(names)
    manifest = json.loads((root / "manifest.json").read_text("utf-8"))
    # Every file but the manifest and its signature is listed, and nothing else.
    assert sorted(manifest["files"]) == [
        n for n in names if n not in ("manifest.json", "manifest.sig")
    ]
    assert manifest["signer_fingerprint"] == signer.fingerprint
    assert (root / "signer.pub").read_bytes() == signer.public_pem
    assert len((root / "manifest.sig").read_bytes()) == 64  # raw Ed25519, as openssl reads it
    signer.key.public_key().verify(
        (root / "manifest.sig").read_bytes(), (root / "manifest.json").read_bytes()
    )
    # The zip: the same files under the bundle's folder, sorted, dated 1980-01-01, 0644.
    assert built.zip == root.parent / f"{NAME}.zip"
    with zipfile.ZipFile(built.zip) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == [f"{NAME}/{n}" for n in names]
        for i in infos:
            assert i.date_time == (1980, 1, 1, 0, 0, 0)
            assert i.external_attr >> 16 == 0o100644
            assert z.read(i) == (root / i.filename.split("/", 1)[1]).read_bytes()
        # The PDF is stored (compressed already), the rest deflated.
        assert {i.filename: i.compress_type for i in infos}[f"{NAME}/{NAME}.pdf"] == 0
        assert {i.compress_type for i in infos if not i.filename.endswith(".pdf")} == {8}
    out = subprocess.run(["unzip", "-t", str(built.zip)], capture_output=True, text=True)
    assert out.returncode == 0 and "No errors detected" in out.stdout


def test_verify_passes_on_the_folder_and_the_zip(built: Any, signer: Signer) -> None:
    for path in (built.bundle, built.zip):
        got = lines(path, fingerprint=signer.fingerprint)
        assert got[0] == f"signer {signer.fingerprint}"
        assert [g.split(":")[0] for g in got[1:]] == [
            "ok manifest.sig",
            "ok files",
            "ok population hash " + built.population_hash + " follows from 8 population files",
            "ok samples",
            f"ok {NAME}.pdf",
        ]
        assert (
            got[2]
            == f"ok files: {len(bundle_files(built.bundle)) - 2} files match their SHA-256 in manifest.json"
        )


def test_the_pdf_signature_validates_and_breaks_on_a_flipped_byte(
    built: Any, tmp_path: Path
) -> None:
    out = subprocess.run(["pdfsig", str(built.pdf)], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out
    data = bytearray(built.pdf.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the first signed range
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    out = subprocess.run(["pdfsig", str(bad)], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." not in out


def test_the_oscal_results_validate_and_agree_with_the_report(built: Any) -> None:
    doc = json.loads((built.bundle / "assessment-results.json").read_text("utf-8"))
    model = Model.model_validate(doc).assessment_results
    result = model.results[0]
    by_test = {t.test: t for t in built.tests}
    observed = {}
    for obs in result.observations:
        test_id = next(p.value for p in obs.props if p.name == "test-id")
        observed[test_id] = obs
        assert obs.methods == ["TEST"]
    assert sorted(observed) == sorted(by_test)
    fw = load_framework("soc2")
    states = {f.target.target_id: f.target.status.state.value for f in result.findings}
    assert states == {
        r.id: "not-satisfied" if any(by_test[t.id].exceptions for t in r.tests) else "satisfied"
        for r in fw.requirements
    }
    # Two deprovisioning exceptions (CC6.2) and the days without a detect run (monitoring,
    # cited by CC7.2 and CC4.1) are what the report found.
    assert [c for c, s in states.items() if s == "not-satisfied"] == ["CC6.2", "CC7.2", "CC4.1"]
    assert by_test["monitoring"].exceptions > 0
    dep = observed["deprovisioning"]
    assert dep.relevant_evidence[0].href == "populations/deprovisioning.csv"
    assert by_test["deprovisioning"].exceptions == 2


# --------------------------------------------------------------------------- tampering


def test_a_flipped_byte_in_any_file_of_the_folder_is_named(copy: Path) -> None:
    for name in bundle_files(copy):
        path = copy / name
        original = path.read_bytes()
        data = bytearray(original)
        data[len(data) // 2] ^= 0x20
        path.write_bytes(bytes(data))
        try:
            message = failure(copy)
        finally:
            path.write_bytes(original)
        # The manifest's own bytes are covered by its signature, which names both.
        assert name in message, (name, message)
    assert lines(copy)[-1].startswith("ok ")  # restored


def test_a_flipped_byte_in_any_entry_of_the_zip_is_named(built: Any, tmp_path: Path) -> None:
    data = built.zip.read_bytes()
    with zipfile.ZipFile(built.zip) as z:
        entries = [(i.filename, i.header_offset, i.compress_size) for i in z.infolist()]
    for name, offset, size in entries:
        head = 30 + int.from_bytes(data[offset + 26 : offset + 28], "little")
        head += int.from_bytes(data[offset + 28 : offset + 30], "little")
        at = offset + head + size // 2  # inside the entry's data
        bad = bytearray(data)
        bad[at] ^= 0x20
        target = tmp_path / f"{NAME}.zip"
        target.write_bytes(bytes(bad))
        message = failure(target)
        assert name.split("/", 1)[1] in message, (name, message)


def test_a_missing_or_added_file_is_named(copy: Path) -> None:
    sample = copy / "samples" / "deprovisioning.csv"
    kept = sample.read_bytes()
    sample.unlink()
    assert failure(copy) == "samples/deprovisioning.csv: listed in manifest.json but missing"
    sample.write_bytes(kept)
    (copy / "queries" / "extra.sql").write_text("SELECT 1\n")
    assert failure(copy) == "queries/extra.sql: not listed in manifest.json"


def test_another_signer_is_refused(copy: Path, signer: Signer, tmp_path: Path) -> None:
    # A forger re-signs the bundle with a key of their own: it is self-consistent, so only
    # the expected signer's fingerprint (or key) tells it apart.
    other = load_signer(tmp_path / "other.pem", create=True)
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    (copy / "signer.pub").write_bytes(other.public_pem)
    manifest["signer_fingerprint"] = other.fingerprint
    manifest["files"]["signer.pub"] = hashlib.sha256(other.public_pem).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    (copy / "manifest.sig").write_bytes(other.key.sign((copy / "manifest.json").read_bytes()))
    assert failure(copy, fingerprint=signer.fingerprint) == (
        f"signer.pub: signed by {other.fingerprint}, not by {signer.fingerprint}"
    )
    key = tmp_path / "expected.pub"
    key.write_bytes(signer.public_pem)
    assert failure(copy, key=key).startswith(f"signer.pub: signed by {other.fingerprint}")
    # Without the expected signer the bundle holds together, until the PDF's signature,
    # which the forger's key did not make.
    assert failure(copy) == (f"{NAME}.pdf: signed by {signer.fingerprint}, not {other.fingerprint}")


def test_a_resigned_bundle_with_a_swapped_sample_fails_the_redraw(
    copy: Path, signer: Signer
) -> None:
    # Even when the signer itself rewrites the manifest, the sample must follow from its seed.
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    sample = manifest["populations"]["deprovisioning"]["sample"]
    assert sample["size"] == 3 and sample["rows"] == [1, 2, 3]
    sample["seed"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    (copy / "manifest.sig").write_bytes(signer.key.sign((copy / "manifest.json").read_bytes()))
    # All three rows are drawn whatever the seed (a population of 3): the seed is not enough
    # to tell, so drop a row from the sample file instead.
    assert lines(copy)[-1].startswith("ok ")
    # The selected keys are recorded too, and must be the drawn rows' keys.
    assert sample["keys"][0] == "E2|2026-03-01T23:59:59.999999Z|slack|bob"
    sample["keys"][0] = "E2|2026-03-01T23:59:59.999999Z|slack|eve"
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    (copy / "manifest.sig").write_bytes(signer.key.sign((copy / "manifest.json").read_bytes()))
    assert failure(copy).startswith(
        f"samples/deprovisioning.csv: seed {sample['seed']} over populations/deprovisioning.csv "
        "draws rows [1, 2, 3]"
    )
    sample["keys"][0] = "E2|2026-03-01T23:59:59.999999Z|slack|bob"
    csv_path = copy / "samples" / "deprovisioning.csv"
    rows = csv_path.read_text("utf-8").splitlines(keepends=True)
    csv_path.write_text("".join(rows[:-1]), "utf-8")
    manifest["files"]["samples/deprovisioning.csv"] = hashlib.sha256(
        csv_path.read_bytes()
    ).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    (copy / "manifest.sig").write_bytes(signer.key.sign((copy / "manifest.json").read_bytes()))
    assert failure(copy) == (
        "samples/deprovisioning.csv: does not hold exactly the drawn rows of "
        "populations/deprovisioning.csv"
    )


def test_verify_with_the_store_checks_the_sync_runs(
    built: Any, soc2_store: Path, tmp_path: Path
) -> None:
    con = open_store(soc2_store, read_only=True)
    try:
        got = lines(built.zip, store=con)
    finally:
        con.close()
    runs = json.loads((built.bundle / "manifest.json").read_text("utf-8"))["sync_runs"]
    assert got[-1] == f"ok store: {len(runs)} sync runs have the store's digests and chain hashes"
    # A store whose chain hash of a run differs from the one the bundle recorded.
    db = tmp_path / "changed.duckdb"
    shutil.copyfile(soc2_store, db)
    con = open_store(db)
    first = runs[0]
    con.execute("UPDATE sync_runs SET chain_hash = 'x' WHERE run_id = $r", {"r": first["run_id"]})
    try:
        message = failure(built.bundle, store=con)
    finally:
        con.close()
    assert message == (
        f"manifest.json: sync run {first['run_id']} has digest/chain hash {first['digest']}/"
        f"{first['chain_hash']}, the store {first['digest']}/x"
    )


# --------------------------------------------------------------------------- rebuild, offline


def test_a_rebuild_is_byte_identical_but_for_the_manifest(
    built: Any, soc2_store: Path, signer: Signer, tmp_path: Path
) -> None:
    again = build(soc2_store, tmp_path, signer)
    names = bundle_files(built.bundle)
    assert bundle_files(again.bundle) == names
    differ = [
        n for n in names if (built.bundle / n).read_bytes() != (again.bundle / n).read_bytes()
    ]
    assert differ == ["manifest.json", "manifest.sig"]
    first = json.loads((built.bundle / "manifest.json").read_text("utf-8"))
    second = json.loads((again.bundle / "manifest.json").read_text("utf-8"))
    first.pop("built_at"), second.pop("built_at")  # the one wall-clock value
    assert first == second
    with zipfile.ZipFile(built.zip) as a, zipfile.ZipFile(again.zip) as b:
        for info in a.infolist():
            if info.filename.split("/", 1)[1] not in ("manifest.json", "manifest.sig"):
                assert a.read(info) == b.read(info.filename)


def test_verify_needs_no_store_and_no_network(
    soc2_store: Path, signer: Signer, tmp_path: Path
) -> None:
    # Built from a copy of the store, which is then deleted; the CLI runs in a fresh process
    # in an empty folder, with no config and no proxy.
    db = tmp_path / "gone.duckdb"
    shutil.copyfile(soc2_store, db)
    zipped = build(db, tmp_path / "out", signer).zip
    db.unlink()
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["HOME"] = str(work)
    evidence = str(Path(sys.executable).with_name("evidence"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [evidence, "verify", str(zipped), *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )

    out = run("--fingerprint", signer.fingerprint)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[0] == f"signer {signer.fingerprint}"
    assert len(out.stdout.splitlines()) == 6
    assert list(work.iterdir()) == [] and not db.exists()
    bad = run("--fingerprint", "00" * 32)
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[-1] == (
        f"FAILED signer.pub: signed by {signer.fingerprint}, not by {'00' * 32}"
    )
