"""Docs are tested: every command and detection is documented where users look."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.cli.main import app
from evidence.detections.loader import load_detections

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"`evidence {command}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("detection", [d.id for d in load_detections()])
def test_every_detection_is_documented(detection: str) -> None:
    assert f"`{detection}`" in (ROOT / "docs" / "detections.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    head = text[: text.index("## Usage")]
    assert "make demo" in head and "make test" in head


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
