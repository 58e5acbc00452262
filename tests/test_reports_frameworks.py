"""Every framework from one store: one bundle each, shared tests alike in all of them, samples
inside populations, populations attached to the PDF, and the report CLI.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from typer.testing import CliRunner

from evidence.cli.main import app
from evidence.store.db import open_store
from reports.build import build_reports
from reports.catalog_load import frameworks, load_framework
from reports.signing import load_signer
from tests.pdf_text import pages, pdftotext
from tests.report_tenant import END, START, VERSION

# --------------------------------------------------------------------------- all frameworks

# The exceptions each test finds on tenant(): the two leavers, the joiner nobody owns, no day
# with a detect run (the fixture has none), and every run (the fixture's digests are made up).
EXPECTED_EXCEPTIONS = {
    "unique_ids": (3, 0),
    "provisioning": (1, 1),
    "deprovisioning": (3, 2),
    "role_changes": (0, 0),
    "privileged_access": (0, 0),
    "segregation_of_duties": (0, 0),
    "monitoring": (365, 365),
    "log_integrity": (8, 8),
}


@pytest.fixture(scope="module")
def all_built(soc2_store: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    con = open_store(soc2_store, read_only=True)
    try:
        return build_reports(
            con, frameworks(), START, END, tmp_path_factory.mktemp("all"), tool_version=VERSION
        )
    finally:
        con.close()


def test_report_all_writes_one_bundle_per_framework(all_built: list[Any]) -> None:
    assert [r.bundle.name for r in all_built] == [
        f"{fw}-2025-11-01-2026-10-31" for fw in ("hipaa", "iso27001", "soc2")
    ]
    for r in all_built:
        fw = load_framework(r.framework)
        flat = " ".join(pdftotext(r.pdf).split())
        # Every control id of the catalog, as the standard writes it.
        for req in fw.requirements:
            assert f"{req.id} — {req.gist}" in flat, (r.framework, req.id)
        manifest = json.loads(r.manifest.read_text("utf-8"))
        for t in r.tests:
            if t.kind != "population":
                continue
            assert (t.population, t.exceptions) == EXPECTED_EXCEPTIONS[t.test], t.test
            assert manifest["populations"][t.test]["exceptions"] == t.exceptions
            assert f"Exceptions ({t.exceptions:,})" in flat
        assert {t.test for t in r.tests} == {t.id for t in fw.tests}


def test_a_shared_test_has_the_same_population_and_sample_in_every_framework(
    all_built: list[Any],
) -> None:
    by_fw = {r.framework: r for r in all_built}
    for tid in ("deprovisioning", "monitoring", "unique_ids"):
        pops = {
            fw: (r.bundle / "populations" / f"{tid}.csv").read_bytes() for fw, r in by_fw.items()
        }
        samples = {
            fw: (r.bundle / "samples" / f"{tid}.csv").read_bytes() for fw, r in by_fw.items()
        }
        assert len(set(pops.values())) == 1 and len(set(samples.values())) == 1, tid


def test_every_sampled_row_lies_inside_its_population(all_built: list[Any]) -> None:
    for r in all_built:
        manifest = json.loads(r.manifest.read_text("utf-8"))
        for pop in manifest["populations"].values():
            rows = (r.bundle / pop["file"]).read_text("utf-8").splitlines(keepends=True)
            sample = (r.bundle / pop["sample"]["file"]).read_text("utf-8").splitlines(True)
            assert sample[0] == rows[0]
            assert sample[1:] == [rows[i] for i in pop["sample"]["rows"]]
            assert len(sample) - 1 == min(pop["sample"]["planned"], pop["rows"])
            assert all(1 <= i <= pop["rows"] for i in pop["sample"]["rows"])


def test_every_population_is_attached_to_the_pdf(all_built: list[Any], tmp_path: Path) -> None:
    r = next(b for b in all_built if b.framework == "soc2")
    listing = subprocess.run(
        ["pdfdetach", "-list", str(r.pdf)], check=True, capture_output=True, text=True
    ).stdout
    names = sorted(line.split(": ", 1)[1] for line in listing.splitlines()[1:])
    tests = sorted(t.test for t in r.tests if t.kind == "population")
    assert names == [f"{t}.csv" for t in tests]
    subprocess.run(["pdfdetach", "-saveall", "-o", str(tmp_path), str(r.pdf)], check=True)
    for t in tests:
        assert (tmp_path / f"{t}.csv").read_bytes() == (
            r.bundle / "populations" / f"{t}.csv"
        ).read_bytes()
    # Each embedded file's parameters describe its bytes (filled in after WeasyPrint).
    with pikepdf.open(r.pdf) as pdf:
        names = pdf.Root.Names.EmbeddedFiles.Names
        for i in range(0, len(names), 2):
            spec = names[i + 1]
            data = (r.bundle / "populations" / str(spec.UF)).read_bytes()
            assert int(spec.EF.F.Params.Size) == len(data)
            assert bytes(spec.EF.F.Params.CheckSum) == hashlib.md5(data).digest()
            assert spec.AFRelationship == pikepdf.Name.Data


def test_report_cli_writes_every_framework(soc2_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(soc2_store, db)
    (tmp_path / "evidence.toml").write_text(
        f'[store]\npath = "{db.name}"\n[reports]\norganisation = "Example <b>Corp</b> & Co"\n'
    )
    args = ["--config", str(tmp_path / "evidence.toml"), "report", "all"]
    args += ["--from", "2025-11-01", "--to", "2026-10-31", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    bundles = [Path(line) for line in result.stdout.split()]
    assert [b.name for b in bundles] == [
        f"{fw}-2025-11-01-2026-10-31" for fw in ("hipaa", "iso27001", "soc2")
    ]
    signer = load_signer(Path(str(db) + ".signing-key.pem"), create=False)
    for b in bundles:
        cover = pages(b / f"{b.name}.pdf")[0]
        flat = " ".join(cover.split())
        # Data is text: the organisation prints as itself.
        assert "Example <b>Corp</b> & Co" in flat
        assert signer.fingerprint in flat
        manifest = json.loads((b / "manifest.json").read_text("utf-8"))
        assert manifest["signer_fingerprint"] == signer.fingerprint
        assert manifest["organisation"] == "Example <b>Corp</b> & Co"
        assert manifest["bundle_id"] in flat
