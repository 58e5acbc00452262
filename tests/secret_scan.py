"""Search every place a secret could end up for sentinel values and their obvious encodings.

    scan = Scanner()
    scan.secret("okta token_env", "SENTINEL-okta-...")          # + URL-encoded, base64 forms
    scan.secret("es password_env", pw, basic_user="elastic")    # + base64("elastic:pw")
    scan.text("sync stdout", out)
    scan.store(Path("evidence.duckdb"))                         # every column as text, and bytes
    scan.tree(Path("reports"))                                  # PDFs, zips, any file
    assert not scan.hits, scan.report()

A hit names the place (file and zip entry, PDF stream, table and column, ...), the secret and
the form found, never the text around it.
"""

from __future__ import annotations

import base64
import io
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pikepdf

__all__ = ["Hit", "Scanner", "forms"]


@dataclass(frozen=True)
class Hit:
    where: str
    secret: str  # the secret's label, e.g. "okta token_env"
    form: str  # raw, url, url+, base64, ...


def forms(value: str, *, basic_user: str | None = None) -> dict[str, str]:
    """The value, its URL-encoded forms and its base64 forms; with `basic_user`, also the
    HTTP Basic credential base64("user:value")."""
    out = {
        "raw": value,
        "url": quote(value, safe=""),
        "url+": quote_plus(value),
        "base64": base64.b64encode(value.encode()).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
        "hex": value.encode().hex(),
    }
    if basic_user is not None:
        out["basic"] = base64.b64encode(f"{basic_user}:{value}".encode()).decode().rstrip("=")
    return out


@dataclass
class Scanner:
    needles: dict[tuple[str, str], str] = field(default_factory=dict)  # (label, form) -> text
    hits: list[Hit] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # every place searched, for the report

    def secret(self, label: str, value: str, *, basic_user: str | None = None) -> None:
        """Search for `value` (and its encodings) from now on."""
        assert len(value) >= 12, f"{label}: a sentinel this short would match by chance"
        for form, text in forms(value, basic_user=basic_user).items():
            self.needles[(label, form)] = text

    def literal(self, label: str, value: str) -> None:
        """Search for exactly `value` (key material given as its own text, say)."""
        self.needles[(label, "raw")] = value

    # ------------------------------------------------------------------ places

    def text(self, where: str, text: str) -> None:
        self.places.append(where)
        for (label, form), needle in self.needles.items():
            if needle in text:
                self.hits.append(Hit(where, label, form))

    def data(self, where: str, data: bytes) -> None:
        """Bytes as UTF-8, and as the UTF-16 a PDF text string may hold."""
        self.places.append(where)
        for (label, form), needle in self.needles.items():
            encodings = {"": needle.encode(), " (utf-16be)": needle.encode("utf-16-be")}
            for suffix, raw in encodings.items():
                if raw in data:
                    self.hits.append(Hit(where + suffix, label, form))

    def store(self, path: Path) -> None:
        """Every column of every table and view, cast to text in SQL; then the file's bytes
        (DuckDB compresses, so the bytes alone prove nothing)."""
        con = duckdb.connect(str(path), read_only=True)
        try:
            relations = con.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY ALL"
            ).fetchall()
            assert relations, f"{path}: no tables"
            for schema, name, _ in relations:
                rel = f'"{schema}"."{name}"'
                cols = [r[0] for r in con.execute(f"DESCRIBE {rel}").fetchall()]
                for col in cols:
                    # string_agg keeps it set-based: one text per column.
                    (blob,) = con.execute(
                        f"SELECT coalesce(string_agg(CAST(\"{col}\" AS VARCHAR), chr(10)), '') "
                        f"FROM {rel}"
                    ).fetchone()
                    self.text(f"store {schema}.{name}.{col}", blob)
        finally:
            con.close()
        for p in [path, *path.parent.glob(path.name + ".wal")]:
            self.data(f"{p.name} (bytes)", p.read_bytes())

    def pdf(self, where: str, data: bytes) -> None:
        """The bytes, pdftotext's text, and every stream decompressed (pikepdf)."""
        self.data(where, data)
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
        ).stdout.decode()
        assert text.strip(), f"{where}: pdftotext found no text"
        self.text(f"{where} (pdftotext)", text)
        with pikepdf.open(io.BytesIO(data)) as pdf:
            streams = 0
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Stream):
                    try:
                        raw = obj.read_bytes()
                    except pikepdf.PdfError:
                        raw = obj.read_raw_bytes()  # a filter pikepdf cannot undo (images)
                    streams += 1
                    self.data(f"{where} stream {obj.objgen}", raw)
                elif isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
                    self.data(f"{where} object {obj.objgen}", obj.unparse())
            assert streams, f"{where}: no streams"

    def file(self, where: str, data: bytes) -> None:
        if data[:5] == b"%PDF-":
            self.pdf(where, data)
        elif data[:4] == b"PK\x03\x04":
            self.data(where, data)
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    self.file(f"{where}!{info.filename}", z.read(info))
        else:
            self.data(where, data)

    def tree(self, root: Path, *, skip: set[Path] = frozenset()) -> int:  # type: ignore[assignment]
        """Every file under `root` but `skip`; returns how many were searched."""
        n = 0
        for p in sorted(root.rglob("*")):
            if p.is_file() and p not in skip:
                self.file(str(p.relative_to(root)), p.read_bytes())
                n += 1
        return n

    # ------------------------------------------------------------------ result

    def report(self, limit: int = 40) -> str:
        """The hits, one line each: where, which secret, in which form."""
        lines = [f"{h.secret} ({h.form}) found in {h.where}" for h in self.hits[:limit]]
        more = len(self.hits) - limit
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))
