"""HTML from Jinja2 templates, PDF from WeasyPrint: same context and fonts, same bytes.

The PDF's dates come from the caller (the data cut-off), never the clock, and the fonts are the
DejaVu files Debian ships (fonts-dejavu-core), embedded through @font-face, so the output does
not depend on the host's fontconfig setup.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reports.archive import Deflated
from reports.errors import ReportError

__all__ = ["FONT_DIR", "render_html", "render_pdf"]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Family names of our own, so a face can only come from these files, never a fallback lookup.
_FACES = (
    ("Report Sans", "normal", "DejaVuSans.ttf"),
    ("Report Sans", "bold", "DejaVuSans-Bold.ttf"),
    ("Report Mono", "normal", "DejaVuSansMono.ttf"),
    ("Report Mono", "bold", "DejaVuSansMono-Bold.ttf"),
)
_DASH = "—"


def _instant(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return _DASH
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return value.astimezone(UTC).strftime(fmt)


def _day(value: datetime | None) -> str:
    return _DASH if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def _hours(value: float | None) -> str:
    return _DASH if value is None else f"{value:,.1f}"


def _num(value: int | None) -> str:
    return _DASH if value is None else f"{value:,}"


def _cell(value: Any, kind: str) -> str:
    if kind == "instant":
        return _instant(value)
    if kind == "day":
        return _day(value)
    if kind == "hours":
        return _hours(value)
    if kind == "count":
        return _num(value)
    if value is None:
        return _DASH
    return str(value)


def _pct(value: float | None) -> str:
    return _DASH if value is None else f"{value:.1f} %"


def _money(value: float | None) -> str:
    return _DASH if value is None else f"{value:,.2f}"


def _param(value: Any) -> str:
    from reports.views import param_text

    return param_text(value)


# Column names of the completeness and figure tables, as printed; others are spelt out.
_LABELS = {
    "app": "App",
    "source": "Source",
    "kind": "Kind",
    "role": "Role",
}


def _label(name: str) -> str:
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


def _auto(value: Any) -> str:
    """A cell of a figure table whose column types the catalog does not state."""
    if value is None:
        return _DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, int):
        return _num(value)
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _css_string(value: str) -> Markup:
    # A value placed as a CSS string in the template's <style>: HTML escaping does not apply
    # there, so escape for CSS, including `<` so that no value can close the style element.
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ").replace("\n", " ")
    )
    return Markup(f'"{escaped}"')


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        instant=_instant,
        day=_day,
        hours=_hours,
        num=_num,
        cell=_cell,
        css_string=_css_string,
        pct=_pct,
        money=_money,
        param=_param,
        label=_label,
        auto=_auto,
    )
    return env


def _font_css() -> str:
    missing = [f for _, _, f in _FACES if not (FONT_DIR / f).is_file()]
    if missing:
        raise ReportError(
            f"font {FONT_DIR / missing[0]} not found: install Debian's fonts-dejavu-core"
        )
    return "".join(
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: normal; '
        f'src: url("{(FONT_DIR / name).as_uri()}"); }}\n'
        for family, weight, name in _FACES
    )


def render_html(template: str, context: dict[str, Any]) -> str:
    """The report's HTML, from `reports/templates/<template>`."""
    return _environment().get_template(template).render(**context)


def render_pdf(
    template: str,
    context: dict[str, Any],
    target: Path,
    *,
    created: datetime,
    modified: datetime,
    attachments: Sequence[tuple[str, bytes | Path, str]] = (),
    deflate_into: Path | None = None,
) -> dict[str, Deflated]:
    """Render `template` with `context` to the PDF `target`, dated `created` / `modified`.

    `attachments` are (file name, bytes or a file, description) embedded as PDF/A-3 associated files
    (relationship Data), dated `created` so that two builds give the same bytes. The attached
    files are raw-deflated into `deflate_into` (a temp folder beside `target` when None, removed
    after) and, when it is given, returned by name for the bundle's zip to reuse.
    """
    from weasyprint import CSS, HTML, Attachment
    from weasyprint.text.fonts import FontConfiguration

    html = render_html(
        template,
        {
            **context,
            "pdf_created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "pdf_modified": modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    css = resources.files("reports").joinpath("templates", "report.css").read_text("utf-8")
    fonts = FontConfiguration()
    sheet = CSS(string=_font_css() + css, font_config=fonts)
    # WeasyPrint writes the dates with a literal Z and no conversion: pass naive UTC.
    stamp = created.astimezone(UTC).replace(tzinfo=None)
    # A file attachment is given to WeasyPrint empty and filled in after (`_embed_files`):
    # WeasyPrint would hold every file in memory at once and deflate it at level 9, which
    # for an enterprise population of half a gigabyte is most of the render.
    files = [
        Attachment(
            file_obj=io.BytesIO(b"" if isinstance(data, Path) else data),
            name=name,
            description=description,
            created=stamp,
            modified=stamp,
            relationship="Data",
        )
        for name, data, description in attachments
    ]
    on_disk = {name: data for name, data, _ in attachments if isinstance(data, Path)}
    with tempfile.TemporaryDirectory(prefix="deflate-", dir=target.parent) as tmp:
        # zlib releases the GIL: the files deflate on the second core while WeasyPrint lays
        # out the pages on the first (at enterprise scale, 4 s of the render).
        with ThreadPoolExecutor(max_workers=1) as pool:
            folder = deflate_into or Path(tmp)
            deflating = pool.submit(_deflate_all, on_disk, folder)
            HTML(string=html).write_pdf(
                target,
                stylesheets=[sheet],
                font_config=fonts,
                attachments=files,
                # The PDF/A-3 variant keeps attachments (the evidence bundle may add some) and
                # stays byte-identical; it is a variant, not a validated conformance claim
                # (DOMAIN §7).
                pdf_variant="pdf/a-3b",
            )
            deflated = deflating.result()
        if deflated:
            _embed_files(target, deflated)
    return {name: d.deflated for name, d in deflated.items()} if deflate_into else {}


@dataclass(frozen=True)
class _Part:
    """A file deflated once for two containers: the raw stream (a zip entry as it stands)
    with the CRC-32 a zip wants and the Adler-32 and MD5 a PDF stream wants."""

    deflated: Deflated
    adler32: int
    md5: bytes


def _deflate(path: Path, out: Path) -> _Part:
    """Raw-deflate the file into `out` (level 1: within 3 % of level 9's size at a fifth of
    its time), in 1 MiB pieces."""
    z = zlib.compressobj(1, zlib.DEFLATED, -15)
    md5 = hashlib.md5(usedforsecurity=False)
    crc, adler, size = 0, 1, 0
    with open(path, "rb") as f, open(out, "wb") as w:
        while chunk := f.read(1 << 20):
            size += len(chunk)
            md5.update(chunk)
            crc = zlib.crc32(chunk, crc)
            adler = zlib.adler32(chunk, adler)
            w.write(z.compress(chunk))
        w.write(z.flush())
    return _Part(Deflated(out, crc, size), adler, md5.digest())


def _deflate_all(files: dict[str, Path], folder: Path) -> dict[str, _Part]:
    """Every file deflated into `folder`, by name."""
    return {
        name: _deflate(path, folder / f"{i}.deflated")
        for i, (name, path) in enumerate(sorted(files.items()))
    }


# The zlib wrapper a PDF FlateDecode stream has around the raw deflate data: the header of
# level 1 (RFC 1950: CM 8, 32 KiB window, FLEVEL 0, FCHECK) and the big-endian Adler-32.
_ZLIB_HEADER = b"\x78\x01"


def _embed_files(target: Path, deflated: dict[str, _Part]) -> None:
    """Fill the named (empty) embedded files of the PDF `target` with the deflated files,
    one at a time; the rewrite is deterministic (same input, same bytes)."""
    import pikepdf

    with pikepdf.open(target, allow_overwriting_input=True) as pdf:
        names = pdf.Root.Names.EmbeddedFiles.Names
        for i in range(0, len(names), 2):
            spec = names[i + 1]
            name = str(spec.get("/UF", spec.get("/F")))
            if name not in deflated:
                continue
            part = deflated[name]
            data = _ZLIB_HEADER + part.deflated.path.read_bytes() + part.adler32.to_bytes(4, "big")
            stream = spec.EF.F
            stream.write(data, filter=pikepdf.Name.FlateDecode)
            stream.Params.Size = part.deflated.size
            stream.Params.CheckSum = pikepdf.String(part.md5)
        pdf.save(
            target,
            deterministic_id=True,
            object_stream_mode=pikepdf.ObjectStreamMode.preserve,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
        )
