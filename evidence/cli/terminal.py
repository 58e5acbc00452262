"""The terminal is an output, not an interpreter: what we print there is text, never markup.

Rich would read `[red]`, `[/]`, `[link=…]` and `:x:` in a user name as markup and emoji, and a
terminal would obey the ANSI escape sequences, bidi controls and newlines an app's data can
hold. Every console here is built with markup, emoji and highlighting off, and every value
from data goes through `visible`, which shows control characters as escapes: `\\n`, `\\x1b`,
`\\u202e`. A backslash is left as it is, so `DOMAIN\\user` reads as itself.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import IO, Any

from rich.console import Console
from rich.text import Text

__all__ = ["console", "visible", "cell", "log_to_stderr"]

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text:
# the bidi embeddings, overrides and isolates, zero-width spaces and joiners, the line and
# paragraph separators, the Arabic letter mark and the BOM.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    n = ord(ch)
    return _NAMED.get(ch) or (f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}")


def visible(text: str) -> str:
    """`text` with its control and invisible formatting characters shown as escapes."""
    return _INVISIBLE.sub(_escape, text)


def cell(value: Any) -> Text:
    """A table cell: the value's text, visible, and never parsed as markup."""
    return Text("" if value is None else visible(str(value)))


def console(*, stderr: bool = False, file: IO[str] | None = None, **kw: Any) -> Console:
    """A console that prints text as it is: no markup, no emoji codes, no highlighting."""
    return Console(stderr=stderr, file=file, markup=False, emoji=False, highlight=False, **kw)


class _VisibleFormatter(logging.Formatter):
    """Log lines as one line of text: a server's message or a URL in a record cannot move the
    cursor, recolour the terminal or start a new line that looks like ours."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


class _StderrHandler(logging.StreamHandler):
    # Looks sys.stderr up at each record, so a test runner's capture (or a redirect made after
    # the handler was installed) receives the line.
    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def log_to_stderr(level: int = logging.WARNING) -> None:
    """Send the package's warnings to stderr through `visible`, once per process."""
    logger = logging.getLogger("scim_evidence")
    if any(isinstance(h, _StderrHandler) for h in logger.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(_VisibleFormatter("warning: %(message)s"))
    # The level is the handler's, not the logger's: an embedding program (or a test's caplog)
    # keeps every record the package logs below it.
    handler.setLevel(level)
    logger.addHandler(handler)
