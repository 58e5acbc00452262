"""What every chart shares: the palette, the matplotlib settings, rendering a figure to SVG
text, and the helpers that turn data values into chart text, notes, legends and margins.

matplotlib is imported inside the functions that draw, never at import time: the report
modules import the charts, and the CLI and tests that never draw one must not pay for it
(tests/test_report_charts.py checks both).
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cycler import cycler

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "BLACK",
    "BLUE",
    "FONT",
    "GREEN",
    "INK",
    "KIND_COLOURS",
    "MONTHS",
    "MUTED",
    "ORANGE",
    "OTHER_KIND_COLOURS",
    "PURPLE",
    "RULE",
    "SKY",
    "SLOT_IN",
    "TOP",
    "VERMILLION",
    "WIDTH_IN",
    "YELLOW",
    "Rows",
    "add_axes",
    "as_number",
    "counted",
    "data_label",
    "draw_note",
    "empty_chart",
    "fit_bar_labels",
    "foot_legend",
    "hours_text",
    "literal_text",
    "money_text",
    "note_lines",
    "render_svg",
    "slot_count",
    "text_width_in",
    "top_margin",
    "value_grid",
]

Rows = Sequence[Mapping[str, Any]]

TOP = 15  # bars per ranked chart: more would not stay readable at A4 width
WIDTH_IN = 176 / 25.4  # the report's text width: A4 less 17 mm margins
FONT = "DejaVu Sans"

# Okabe & Ito (2008), "Color Universal Design".
ORANGE, SKY, GREEN, YELLOW = "#E69F00", "#56B4E9", "#009E73", "#F0E442"
BLUE, VERMILLION, PURPLE, BLACK = "#0072B2", "#D55E00", "#CC79A7", "#000000"
INK, MUTED, RULE = "#222222", "#555555", "#DDDDDD"
# A fixed colour per finding kind, so a kind looks the same in every report.
KIND_COLOURS = {
    "orphan": VERMILLION,
    "sla": ORANGE,
    "drift": BLUE,
    "creep": PURPLE,
    "sod": GREEN,
    "duplicate": SKY,
    "dormant": YELLOW,
}
OTHER_KIND_COLOURS = ("#999999", "#666666", "#BBBBBB", "#444444")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_MAX_LABEL = 32
# Characters XML 1.0 cannot carry at all, and layout controls that would break a label's line.
_CONTROL = re.compile("[\x00-\x1f\x7f\ufffe\uffff]")


def _rc() -> dict[str, Any]:
    return {
        "svg.hashsalt": "scim-evidence",
        "svg.fonttype": "none",
        "svg.image_inline": True,
        "font.family": [FONT],
        "font.size": 8,
        "text.color": INK,
        "text.usetex": False,
        "axes.labelsize": 8,
        "axes.labelcolor": INK,
        "axes.edgecolor": "#888888",
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=[BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY]),
        "axes.formatter.use_locale": False,
        "axes.unicode_minus": False,
        "xtick.labelsize": 7.5,
        "ytick.labelsize": 7.5,
        "xtick.color": INK,
        "ytick.color": INK,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "legend.fontsize": 7.5,
        "legend.frameon": False,
        "figure.dpi": 72,
        "savefig.dpi": 72,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.transparent": False,
        "path.simplify": True,
    }


def render_svg(draw: Callable[[Figure], None], height_in: float) -> str:
    """SVG text of a figure `draw` fills, with the settings above and nothing per run."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc()):
        # Laid out by hand (see add_axes): a layout engine would cost twice the drawing itself.
        fig = Figure(figsize=(WIDTH_IN, height_in))
        FigureCanvasSVG(fig)
        draw(fig)
        buf = io.StringIO()
        # No Date (it would be the render time) and no Creator (it names matplotlib's version).
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def add_axes(fig: Figure, *, left: float, right: float, top: float, bottom: float) -> Axes:
    """Axes inset by these margins, in inches."""
    w, h = fig.get_size_inches()
    return fig.add_axes((left / w, bottom / h, 1 - (left + right) / w, 1 - (top + bottom) / h))


def text_width_in(texts: Sequence[str], size: float) -> float:
    """The widest of `texts` (as data_label made them) at `size` points, in inches."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(family=FONT, size=size)
    widths = [
        text_to_path.get_text_width_height_descent(t.replace(r"\$", "$"), prop, ismath=False)[0]
        for t in texts
    ]
    # The path measure runs about 5% narrower than the laid-out text: keep a margin.
    return max(widths, default=0.0) * 1.08 / 72


def data_label(value: Any) -> str:
    """A data value as literal chart text: no mathtext, no control characters, not too long."""
    text = "(none)" if value is None else _CONTROL.sub(" ", str(value)).strip() or "(empty)"
    if len(text) > _MAX_LABEL:
        text = text[: _MAX_LABEL - 1].rstrip() + "…"
    return literal_text(text)


def literal_text(text: str) -> str:
    """`text` as matplotlib prints it literally."""
    # An unescaped `$` pair would switch matplotlib to mathtext; `\$` prints a plain `$`.
    return _CONTROL.sub(" ", text).replace("$", r"\$")


def as_number(value: Any) -> float | None:
    """A figure as a float, None staying None."""
    return None if value is None else float(value)


def hours_text(value: float) -> str:
    """Hours as a bar label prints them."""
    return f"{value:,.1f}"


def money_text(value: float) -> str:
    """An amount as a bar label prints it."""
    return f"{value:,.2f}"


def counted(n: int, one: str, many: str) -> str:
    """`n` with the noun in the right number."""
    return f"{n:,} {one if n == 1 else many}"


def empty_chart(message: str) -> str:
    """The chart to show when there is nothing to draw: the message, centred."""

    def draw(fig: Figure) -> None:
        fig.text(0.5, 0.5, literal_text(message), ha="center", va="center", color=MUTED, size=9)

    return render_svg(draw, 0.9)


_NOTE_LINE_IN = 0.14  # one line of a note at 7.5 pt
_NOTE_CHARS = 115  # characters of a note line across the chart's width


def note_lines(parts: Sequence[str]) -> list[str]:
    """A note's text in lines that fit across the chart."""
    return textwrap.wrap(" ".join(parts), _NOTE_CHARS) if parts else []


def draw_note(fig: Figure, lines: Sequence[str]) -> None:
    """Lines above the plot saying what the chart leaves out, so nothing is silently dropped."""
    if lines:
        _, h = fig.get_size_inches()
        fig.text(
            0.06 / WIDTH_IN,
            1 - 0.06 / h,
            "\n".join(literal_text(line) for line in lines),
            ha="left",
            va="top",
            size=7.5,
            color=MUTED,
            linespacing=1.35,
        )


def top_margin(lines: Sequence[str]) -> float:
    """The top margin that leaves room for a note of these lines."""
    return 0.14 + len(lines) * _NOTE_LINE_IN


def fit_bar_labels(
    fig: Figure, ax: Axes, values: Sequence[float], labels: Sequence[str], floor: float = 0.0
) -> None:
    """Set the value axis of horizontal bars so that each bar's end label fits beside it."""
    span = ax.get_position().width * fig.get_size_inches()[0]
    need = [
        v * span / max(span - text_width_in([label], 6.5) - 0.06, span / 4)
        for v, label in zip(values, labels, strict=True)
    ]
    ax.set_xlim(0, max([*need, floor * 1.05]) or 1.0)


SLOT_IN = 0.21  # the height of one app's bars in a ranked chart


def slot_count(shown: Sequence[Any]) -> int:
    """How many bar slots a ranked chart of `shown` is drawn with."""
    # The figure grows with the apps shown, but never below three slots: one app alone would
    # otherwise be drawn as a slab.
    return max(len(shown), 3)


def value_grid(ax: Axes, axis: str) -> None:
    """Light grid lines along the value axis, behind the data."""
    ax.grid(True, axis=axis, color=RULE, linewidth=0.5)
    ax.set_axisbelow(True)


def foot_legend(
    fig: Figure, handles: Sequence[Any], labels: Sequence[str], *, x_in: float, ncols: int
) -> None:
    """A legend in rows at the foot of the figure, starting `x_in` from the left."""
    legend = fig.legend(
        handles,
        [f"s{i}" for i in range(len(handles))],
        loc="lower left",
        bbox_to_anchor=(x_in / WIDTH_IN, 0.0),
        ncols=ncols,
        borderaxespad=0.4,
        handlelength=1.8,
        columnspacing=1.6,
    )
    # Labels are set after the legend exists: a legend skips a label starting with `_`.
    for text, label in zip(legend.get_texts(), labels, strict=True):
        text.set_text(label)
