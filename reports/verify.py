"""`evidence verify BUNDLE`: prove offline that a bundle is what the tool wrote, unaltered.

BUNDLE is the bundle folder or its zip. In order, stopping at the first failure:
  signer      the public key in `signer.pub` (its fingerprint, SHA-256 of the raw key, is
              printed; `--key` or `--fingerprint` must name the same signer);
  manifest    `manifest.sig` is the signer's Ed25519 signature over `manifest.json`'s bytes;
  files       every file but those two is listed in the manifest with its SHA-256, and every
              listed file exists (nothing missing, nothing added);
  populations the population hash follows from the population files' hashes;
  samples     each sample is re-drawn from its seed and population hash over the population
              file (the rule of reports/population.py sample_rows), and the sample file holds
              exactly those rows;
  pdf         the PDF's own PAdES signature is intact, covers the whole file, and is the
              same signer's;
  store       (with a store) the manifest's sync runs have the store's digests and chain
              hashes.
Needs no network and no store: the files, DuckDB in memory and the public key.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from reports.population import file_sha256, population_hash

__all__ = ["VerifyError", "fingerprint_of", "verify_bundle"]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signer.pub"


class VerifyError(Exception):
    """A check failed: the message names the file and what differs (one line)."""


@dataclass(frozen=True)
class _Bundle:
    root: Path
    manifest: dict[str, Any]
    files: dict[str, Path]  # every file but the manifest and its signature, by bundle path


def fingerprint_of(key_file: Path) -> str:
    """The fingerprint of a PEM public key, or of the public half of a PEM private key."""
    data = Path(key_file).read_bytes()
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as e:
            raise VerifyError(f"{key_file}: not a PEM Ed25519 key ({e})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VerifyError(f"{key_file}: not an Ed25519 key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _unzip(archive: Path, into: Path) -> Path:
    """Extract the bundle's zip (one top folder) and return that folder; an entry that does
    not inflate to its CRC-32 is named."""
    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            tops = {PurePosixPath(i.filename).parts[0] for i in infos if i.filename}
            for info in infos:
                parts = PurePosixPath(info.filename).parts
                if info.filename.startswith("/") or ".." in parts or len(tops) != 1:
                    raise VerifyError(f"{archive}: entry {info.filename!r} is outside the bundle")
                if info.is_dir():
                    continue
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with z.open(info) as src, open(target, "wb") as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
                except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                    raise VerifyError(f"{archive}: {info.filename} is corrupt ({e})") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise VerifyError(f"{archive}: not a readable zip ({e})") from None
    if not tops:
        raise VerifyError(f"{archive}: an empty zip")
    return into / tops.pop()


def _load(root: Path) -> _Bundle:
    if not (root / MANIFEST).is_file():
        raise VerifyError(f"{root}: no {MANIFEST}")
    try:
        manifest = json.loads((root / MANIFEST).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise VerifyError(f"{MANIFEST}: not valid JSON ({e})") from None
    files = {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in (MANIFEST, SIGNATURE)
    }
    return _Bundle(root, manifest, files)


def _check_signer(b: _Bundle, key: Path | None, fingerprint: str | None) -> str:
    pub = b.root / PUBLIC_KEY
    if not pub.is_file():
        raise VerifyError(f"{PUBLIC_KEY}: missing (an unsigned bundle)")
    fp = fingerprint_of(pub)
    expected = fingerprint_of(key) if key is not None else fingerprint
    if expected is not None and expected.lower() != fp:
        raise VerifyError(f"{PUBLIC_KEY}: signed by {fp}, not by {expected.lower()}")
    if b.manifest.get("signer_fingerprint") != fp:
        raise VerifyError(
            f"{MANIFEST}: names signer {b.manifest.get('signer_fingerprint')}, {PUBLIC_KEY} is {fp}"
        )
    return fp


def _check_manifest_signature(b: _Bundle) -> str:
    sig = b.root / SIGNATURE
    if not sig.is_file():
        raise VerifyError(f"{SIGNATURE}: missing")
    key = serialization.load_pem_public_key((b.root / PUBLIC_KEY).read_bytes())
    assert isinstance(key, Ed25519PublicKey)  # fingerprint_of checked it
    try:
        key.verify(sig.read_bytes(), (b.root / MANIFEST).read_bytes())
    except InvalidSignature:
        raise VerifyError(f"{SIGNATURE}: not a valid signature of {MANIFEST}") from None
    return f"{SIGNATURE}: Ed25519 signature of {MANIFEST} is valid"


def _check_files(b: _Bundle) -> str:
    listed: dict[str, str] = b.manifest.get("files") or {}
    for name in sorted(set(listed) | set(b.files)):
        if name not in b.files:
            raise VerifyError(f"{name}: listed in {MANIFEST} but missing")
        if name not in listed:
            raise VerifyError(f"{name}: not listed in {MANIFEST}")
        got = file_sha256(b.files[name])
        if got != listed[name]:
            raise VerifyError(f"{name}: sha256 {got}, the manifest records {listed[name]}")
    return f"files: {len(listed)} files match their SHA-256 in {MANIFEST}"


def _check_population_hash(b: _Bundle) -> str:
    listed = b.manifest["files"]
    pops = {n: h for n, h in listed.items() if n.startswith("populations/")}
    got = population_hash(pops)
    if got != b.manifest.get("population_hash"):
        raise VerifyError(
            f"{MANIFEST}: population hash {b.manifest.get('population_hash')}, the population "
            f"files give {got}"
        )
    for test_id, p in (b.manifest.get("populations") or {}).items():
        if listed.get(p["file"]) != p["sha256"]:
            raise VerifyError(f"{p['file']}: sha256 differs from test {test_id}'s record")
    return f"population hash {got} follows from {len(pops)} population files"


def _csv(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    # As COPY wrote it (reports/population.py): every cell as text, "" apart from empty.
    return (
        f"read_csv('{quoted}', header = true, all_varchar = true, delim = ',', quote = '\"', "
        "escape = '\"', new_line = '\\n', auto_detect = false, columns = $columns)"
    )


def _header(path: Path) -> list[str]:
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        return next(csv.reader(f), [])


def _check_samples(b: _Bundle) -> str:
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")  # stdout is the checks' lines
    reading = MANIFEST
    try:
        drawn = 0
        for test_id, p in (b.manifest.get("populations") or {}).items():
            s = p["sample"]
            reading = f"{p['file']} or {s['file']}"
            pop_file, sample_file = b.files.get(p["file"]), b.files.get(s["file"])
            if pop_file is None or sample_file is None:
                raise VerifyError(f"test {test_id}: population or sample file missing")
            header = _header(pop_file)
            if _header(sample_file) != header:
                raise VerifyError(f"{s['file']}: its columns differ from {p['file']}'s")
            columns = {c: "VARCHAR" for c in header}
            missing = [k for k in s["key"] if k not in columns]
            if missing:
                raise VerifyError(f"{p['file']}: no key column {missing[0]!r}")
            key_sql = " || '|' || ".join(f"coalesce(\"{k}\", '')" for k in s["key"]) or "''"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE pop AS "
                f"SELECT row_number() OVER () AS _row, * FROM {_csv(pop_file)}",
                {"columns": columns},
            )
            rows = con.execute("SELECT count(*) FROM pop").fetchall()[0][0]
            if rows != p["rows"]:
                raise VerifyError(f"{p['file']}: {rows} rows, the manifest records {p['rows']}")
            drawn_rows = con.execute(
                f"SELECT _row, {key_sql} FROM pop ORDER BY sha256($prefix || {key_sql}), _row "
                "LIMIT $n",
                {"prefix": f"{s['seed']}:{p['sha256']}:", "n": s["size"]},
            ).fetchall()
            chosen = sorted(r[0] for r in drawn_rows)
            keys = [k for _, k in sorted(drawn_rows)]
            if (
                chosen != list(s["rows"])
                or keys != list(s["keys"])
                or s["size"] != min(s["planned"], rows)
            ):
                raise VerifyError(
                    f"{s['file']}: seed {s['seed']} over {p['file']} draws rows "
                    f"{chosen[:10]}, the manifest records {list(s['rows'])[:10]}"
                )
            cols = ", ".join(f'"{c}"' for c in header)
            differ = con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM pop "
                "WHERE _row IN (SELECT unnest(CAST($rows AS BIGINT[]))) "
                f"EXCEPT ALL SELECT {cols} FROM {_csv(sample_file)})",
                {"rows": list(s["rows"]), "columns": columns},
            ).fetchall()[0][0]
            in_file = con.execute(
                f"SELECT count(*) FROM {_csv(sample_file)}", {"columns": columns}
            ).fetchall()[0][0]
            if differ or in_file != len(s["rows"]):
                raise VerifyError(
                    f"{s['file']}: does not hold exactly the drawn rows of {p['file']}"
                )
            drawn += len(chosen)
    except duckdb.Error as e:
        first = str(e).splitlines()[0]
        raise VerifyError(f"{reading}: does not read as its CSV ({first})") from None
    finally:
        con.close()
    return f"samples: {drawn} rows re-drawn from their seeds and population hashes"


def _check_pdf(b: _Bundle, fingerprint: str) -> str:
    from reports.pades import check_pdf_signature

    pdfs = [n for n in b.files if "/" not in n and n.endswith(".pdf")]
    if len(pdfs) != 1:
        raise VerifyError(f"{b.root}: {len(pdfs)} PDF files, one expected")
    check = check_pdf_signature(b.files[pdfs[0]])
    if not check.valid:
        raise VerifyError(f"{pdfs[0]}: PDF signature not valid ({check.problem})")
    if check.signer_fingerprint != fingerprint:
        raise VerifyError(f"{pdfs[0]}: signed by {check.signer_fingerprint}, not {fingerprint}")
    return f"{pdfs[0]}: PAdES signature valid, whole file, same signer"


def _check_store(b: _Bundle, con: duckdb.DuckDBPyConnection) -> str:
    runs = b.manifest.get("sync_runs") or []
    ids = {"ids": [r["run_id"] for r in runs]}
    stored = {
        r[0]: (r[1], r[2])
        for r in con.execute(
            "SELECT run_id, digest, chain_hash FROM sync_runs "
            "WHERE run_id IN (SELECT unnest(CAST($ids AS BIGINT[])))",
            ids,
        ).fetchall()
    }
    # A migration that recomputed the chain (store schema 5 folds each run's rows digest in)
    # keeps the hashes it replaced: a bundle signed before it carries those.
    superseded = {
        (r[0], r[1]): r[2]
        for r in con.execute(
            "SELECT run_id, chain_hash, version FROM superseded_chain_hashes "
            "WHERE run_id IN (SELECT unnest(CAST($ids AS BIGINT[])))",
            ids,
        ).fetchall()
    }
    migrated: set[int] = set()
    for r in runs:
        if r["run_id"] not in stored:
            raise VerifyError(f"{MANIFEST}: sync run {r['run_id']} is not in the store")
        digest, chain = stored[r["run_id"]]
        if digest == r["digest"] and chain == r["chain_hash"]:
            continue
        if digest == r["digest"] and (r["run_id"], r["chain_hash"]) in superseded:
            migrated.add(superseded[(r["run_id"], r["chain_hash"])])
            continue
        raise VerifyError(
            f"{MANIFEST}: sync run {r['run_id']} has digest/chain hash "
            f"{r['digest']}/{r['chain_hash']}, the store {digest}/{chain}"
        )
    line = f"store: {len(runs)} sync runs have the store's digests and chain hashes"
    if migrated:
        versions = ", ".join(str(v) for v in sorted(migrated))
        line += f" (as they stood before the store's schema {versions} recomputed the chain)"
    return line


def verify_bundle(
    path: Path,
    *,
    key: Path | None = None,
    fingerprint: str | None = None,
    store: duckdb.DuckDBPyConnection | None = None,
) -> Iterator[str]:
    """Yield `signer <fingerprint>` and one line per check passed; raise VerifyError at the
    first that fails."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        if path.is_file():
            root = _unzip(path, Path(tmp))
        elif path.is_dir():
            root = path
        else:
            raise VerifyError(f"{path}: no such bundle folder or zip")
        b = _load(root)
        fp = _check_signer(b, key, fingerprint)
        yield f"signer {fp}"
        checks: list[Callable[[], str]] = [
            lambda: _check_manifest_signature(b),
            lambda: _check_files(b),
            lambda: _check_population_hash(b),
            lambda: _check_samples(b),
            lambda: _check_pdf(b, fp),
        ]
        if store is not None:
            checks.append(lambda: _check_store(b, store))
        for check in checks:
            yield "ok " + check()
