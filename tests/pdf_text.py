"""A PDF's text as poppler's pdftotext reads it: the way an auditor's tooling reads a report."""

from __future__ import annotations

import subprocess
from pathlib import Path


def pdftotext(pdf: Path, *, layout: bool = False) -> str:
    """The text of `pdf` (pages separated by form feeds), laid out when `layout`."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pages(pdf: Path) -> list[str]:
    """The text of each page of `pdf`."""
    return pdftotext(pdf).split("\f")
