"""The management summary's charts: rows as the KPI queries return them, in; SVG text, out.

Every chart is a standalone SVG document, byte-identical for the same rows whatever the
process, clock or time zone: matplotlib draws it through its SVG backend on a `Figure` of its
own (no pyplot, no `matplotlib.use`), with the settings in a local `rc_context` so nothing leaks
to other users of matplotlib; `svg.hashsalt` fixes the ids it generates and the metadata
carries no date. Text stays text (`svg.fonttype: none`) in DejaVu Sans, the face the PDF embeds,
so WeasyPrint lays it out with the same metrics matplotlib measured it with.

App names and finding kinds are data: they are drawn as literal text (never mathtext, never
markup; the SVG backend escapes `<`, `&` and quotes) and only shortened when too long to read.
Charts are drawn at the A4 text width (176 mm), so their type prints at its nominal size when
the report shows them at 100% width. Colours are the Okabe-Ito palette, safe for colour-blind
readers; paired series also differ in lightness, so they survive greyscale printing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "TOP",
    "dormant_chart",
    "findings_monthly_chart",
    "latency_chart",
    "orphan_rate_chart",
    "provision_chart",
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
    from cycler import cycler

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


def _render(draw: Callable[[Figure], None], height_in: float) -> str:
    """SVG text of a figure `draw` fills, with the settings above and nothing per run."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc()):
        # Laid out by hand (see _axes): a layout engine would cost twice the drawing itself.
        fig = Figure(figsize=(WIDTH_IN, height_in))
        FigureCanvasSVG(fig)
        draw(fig)
        buf = io.StringIO()
        # No Date (it would be the render time) and no Creator (it names matplotlib's version).
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def _axes(fig: Figure, *, left: float, right: float, top: float, bottom: float) -> Axes:
    """Axes inset by these margins, in inches."""
    w, h = fig.get_size_inches()
    return fig.add_axes((left / w, bottom / h, 1 - (left + right) / w, 1 - (top + bottom) / h))


def _width_in(texts: Sequence[str], size: float) -> float:
    """The widest of `texts` (as _label made them) at `size` points, in inches."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(family=FONT, size=size)
    widths = [
        text_to_path.get_text_width_height_descent(t.replace(r"\$", "$"), prop, ismath=False)[0]
        for t in texts
    ]
    # The path measure runs about 5% narrower than the laid-out text: keep a margin.
    return max(widths, default=0.0) * 1.08 / 72


def _label(value: Any) -> str:
    """A data value as literal chart text: no mathtext, no control characters, not too long."""
    text = "(none)" if value is None else _CONTROL.sub(" ", str(value)).strip() or "(empty)"
    if len(text) > _MAX_LABEL:
        text = text[: _MAX_LABEL - 1].rstrip() + "…"
    return _literal(text)


def _literal(text: str) -> str:
    # An unescaped `$` pair would switch matplotlib to mathtext; `\$` prints a plain `$`.
    return _CONTROL.sub(" ", text).replace("$", r"\$")


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _hours(value: float) -> str:
    return f"{value:,.1f}"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _empty(message: str) -> str:
    """The chart to show when there is nothing to draw: the message, centred."""

    def draw(fig: Figure) -> None:
        fig.text(0.5, 0.5, _literal(message), ha="center", va="center", color=MUTED, size=9)

    return _render(draw, 0.9)


_NOTE_LINE_IN = 0.14  # one line of a note at 7.5 pt
_NOTE_CHARS = 115  # characters of a note line across the chart's width


def _note_lines(parts: Sequence[str]) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(parts), _NOTE_CHARS) if parts else []


def _note(fig: Figure, lines: Sequence[str]) -> None:
    """Lines above the plot saying what the chart leaves out, so nothing is silently dropped."""
    if lines:
        _, h = fig.get_size_inches()
        fig.text(
            0.06 / WIDTH_IN,
            1 - 0.06 / h,
            "\n".join(_literal(line) for line in lines),
            ha="left",
            va="top",
            size=7.5,
            color=MUTED,
            linespacing=1.35,
        )


def _top(lines: Sequence[str]) -> float:
    """The top margin that leaves room for a note of these lines."""
    return 0.14 + len(lines) * _NOTE_LINE_IN


def _room(
    fig: Figure, ax: Axes, values: Sequence[float], labels: Sequence[str], floor: float = 0.0
) -> None:
    """Set the value axis of horizontal bars so that each bar's end label fits beside it."""
    span = ax.get_position().width * fig.get_size_inches()[0]
    need = [
        v * span / max(span - _width_in([label], 6.5) - 0.06, span / 4)
        for v, label in zip(values, labels, strict=True)
    ]
    ax.set_xlim(0, max([*need, floor * 1.05]) or 1.0)


_SLOT_IN = 0.21  # the height of one app's bars in a ranked chart


def _slots(shown: Sequence[Any]) -> int:
    # The figure grows with the apps shown, but never below three slots: one app alone would
    # otherwise be drawn as a slab.
    return max(len(shown), 3)


def _value_grid(ax: Axes, axis: str) -> None:
    ax.grid(True, axis=axis, color=RULE, linewidth=0.5)
    ax.set_axisbelow(True)


def _legend(
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


# --------------------------------------------------------------------------- latency


def _p50_p90_chart(
    rows: Rows,
    *,
    what: str,
    nothing: str,
    empty: str,
    sla_hours: float | None,
) -> str:
    measured = [
        r
        for r in rows
        if _num(r.get("p90_hours")) is not None or _num(r.get("p50_hours")) is not None
    ]
    if not measured:
        return _empty(empty)

    def p90(r: Mapping[str, Any]) -> float:
        value = _num(r.get("p90_hours"))
        return value if value is not None else _num(r.get("p50_hours")) or 0.0

    ranked = sorted(measured, key=lambda r: (-p90(r), _label(r.get("app"))))
    shown = ranked[:TOP]
    notes = []
    if len(ranked) > len(shown):
        notes.append(
            f"The {len(shown)} apps with the highest p90 of {len(ranked)}; "
            f"{_count(len(ranked) - len(shown), 'other is', 'others are')} omitted."
        )
    unmeasured = len(rows) - len(measured)
    if unmeasured:
        notes.append(f"{_count(unmeasured, 'app', 'apps')} with no {nothing} not shown.")
    lines = _note_lines(notes)
    names = [_label(r.get("app")) for r in shown]

    def draw(fig: Figure) -> None:
        left = 0.12 + _width_in(names, 7.5)
        ax = _axes(fig, left=left, right=0.12, top=_top(lines), bottom=0.64)
        # A hair of space between a group's two bars, so the p50 label cannot touch the p90 bar.
        height, offset = 0.36, 0.2
        ys = list(range(len(shown)))
        p50s = [_num(r.get("p50_hours")) or 0.0 for r in shown]
        p90s = [p90(r) for r in shown]
        b50 = ax.barh([y - offset for y in ys], p50s, height, color=SKY)
        b90 = ax.barh([y + offset for y in ys], p90s, height, color=BLUE)
        texts = {}
        for bars, values in ((b50, p50s), (b90, p90s)):
            texts[id(bars)] = [_hours(v) for v in values]
            ax.bar_label(bars, texts[id(bars)], padding=2, fontsize=6, color=INK)
        ax.set_yticks(ys, names)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(_slots(shown) - 0.5, -0.5)
        _room(fig, ax, p50s + p90s, texts[id(b50)] + texts[id(b90)], sla_hours or 0.0)
        ax.set_xlabel(f"Hours from {what}")
        _value_grid(ax, "x")
        handles, labels = [b50, b90], ["p50 (median)", "p90"]
        if sla_hours is not None:
            handles.append(ax.axvline(sla_hours, color=VERMILLION, linewidth=1, linestyle="--"))
            labels.append(f"SLA {sla_hours:g} h")
        _legend(fig, handles, labels, x_in=left - 0.1, ncols=len(handles))
        _note(fig, lines)

    return _render(draw, _top(lines) + 0.64 + _SLOT_IN * _slots(shown))


def latency_chart(rows: Rows, *, sla_hours: float | None = None) -> str:
    """Removal latency after termination, p50 and p90 per app (rows: app, p50_hours, p90_hours),
    the TOP apps with the highest p90; `sla_hours` draws the SLA as a line."""
    return _p50_p90_chart(
        rows,
        what="termination to removal",
        nothing="measured removal",
        empty="No account removal after a termination was measured in the period.",
        sla_hours=sla_hours,
    )


def provision_chart(rows: Rows, *, sla_hours: float | None = None) -> str:
    """Time to provision, p50 and p90 per app (rows: app, p50_hours, p90_hours), the TOP apps
    with the highest p90."""
    return _p50_p90_chart(
        rows,
        what="hire to account creation",
        nothing="measured provisioning",
        empty="No account provisioning was measured in the period.",
        sla_hours=sla_hours,
    )


# --------------------------------------------------------------------------- findings


def _month(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _month_labels(months: Sequence[date]) -> list[str]:
    # The year only where it starts or changes, so twelve labels fit without rotating; past
    # two years, every other month is named.
    step = 1 if len(months) <= 24 else 2
    return [
        (MONTHS[m.month - 1] + (f"\n{m.year}" if i == 0 or m.month == 1 else ""))
        if i % step == 0 or m.month == 1
        else ""
        for i, m in enumerate(months)
    ]


def _kind_order(kinds: set[str]) -> list[str]:
    known = [k for k in KIND_COLOURS if k in kinds]
    return known + sorted(kinds - set(KIND_COLOURS))


def findings_monthly_chart(rows: Rows) -> str:
    """Findings per month of the period (rows: month, kind, opened, open_at_month_end,
    resolved): open findings at each month end stacked by kind, with the month's opened and
    resolved totals as lines."""
    if not rows:
        return _empty("No finding was open, raised or resolved in the period.")
    months = sorted({_month(r["month"]) for r in rows})
    kinds = _kind_order({str(r["kind"]) for r in rows})
    at = {m: i for i, m in enumerate(months)}
    open_by = {k: [0.0] * len(months) for k in kinds}
    opened = [0.0] * len(months)
    resolved = [0.0] * len(months)
    for r in rows:
        i = at[_month(r["month"])]
        open_by[str(r["kind"])][i] += float(r.get("open_at_month_end") or 0)
        opened[i] += float(r.get("opened") or 0)
        resolved[i] += float(r.get("resolved") or 0)
    lines = _note_lines(
        [
            "Bars: findings open at each month's end, by kind (accepted risks included). Lines:"
            " findings opened and resolved in the month, all kinds."
        ]
    )
    ncols = 5
    legend_rows = -(-(len(kinds) + 2) // ncols)

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import MaxNLocator

        ax = _axes(fig, left=0.55, right=0.12, top=_top(lines), bottom=0.5 + 0.17 * legend_rows)
        xs = list(range(len(months)))
        base = [0.0] * len(months)
        handles, labels = [], []
        others = iter(OTHER_KIND_COLOURS * (1 + len(kinds) // len(OTHER_KIND_COLOURS)))
        for kind in kinds:
            colour = KIND_COLOURS.get(kind) or next(others)
            bars = ax.bar(
                xs,
                open_by[kind],
                0.62,
                bottom=base,
                color=colour,
                edgecolor="white",
                linewidth=0.4,
            )
            base = [b + v for b, v in zip(base, open_by[kind], strict=True)]
            handles.append(bars)
            labels.append(_label(kind))
        (l_open,) = ax.plot(xs, opened, color=BLACK, linewidth=1, marker="o", markersize=3)
        (l_res,) = ax.plot(
            xs,
            resolved,
            color=BLACK,
            linewidth=1,
            linestyle="--",
            marker="s",
            markersize=3,
            markerfacecolor="white",
        )
        handles += [l_open, l_res]
        labels += ["opened in the month", "resolved in the month"]
        ax.set_xticks(xs, _month_labels(months))
        ax.tick_params(axis="x", length=0)
        ax.set_xlim(-0.6, len(months) - 0.4)
        top = max([*base, *opened, *resolved]) or 1.0
        ax.set_ylim(0, top * 1.08)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("Findings")
        _value_grid(ax, "y")
        _legend(fig, handles, labels, x_in=0.45, ncols=ncols)
        _note(fig, lines)

    return _render(draw, 3.7)


# --------------------------------------------------------------------------- orphan rate


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def orphan_rate_chart(rows: Rows) -> str:
    """Orphaned accounts as a share of active accounts (rows: measured_at, point,
    active_accounts, orphan_accounts, rate), at each month end and at the data cut-off."""
    from datetime import UTC

    points = [r for r in rows if r.get("measured_at") is not None]
    if not points:
        return _empty("No account listing was collected in the period.")
    when = [_instant(r["measured_at"]).astimezone(UTC) for r in points]
    rates = [float(r.get("rate") or 0) for r in points]
    days = [(w - when[0]).total_seconds() / 86400 for w in when]
    labels = []
    for i, (r, w) in enumerate(zip(points, when, strict=True)):
        if r.get("point") == "data cut-off":
            labels.append(f"{w.day} {MONTHS[w.month - 1]}\ncut-off")
        elif i + 1 < len(points) and days[i + 1] - days[i] < 12:
            labels.append("")  # too close to the next point: its label would overlap
        else:
            labels.append(MONTHS[w.month - 1] + (f"\n{w.year}" if i == 0 or w.month == 1 else ""))
    last = points[-1]
    lines = _note_lines(
        [
            "Share of active accounts with an open orphan finding, at each month end and at the"
            f" data cut-off; at the last point, {int(last.get('orphan_accounts') or 0):,} of "
            + _count(int(last.get("active_accounts") or 0), "active account", "active accounts")
            + " are orphaned."
        ]
    )

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import PercentFormatter

        ax = _axes(fig, left=0.62, right=0.2, top=_top(lines) + 0.05, bottom=0.42)
        ax.plot(days, rates, color=VERMILLION, linewidth=1.4, marker="o", markersize=3.5)
        for x, y in zip(days, rates, strict=True):
            ax.annotate(
                _pct(y),
                (x, y),
                textcoords="offset points",
                xytext=(0, 5),
                ha="center",
                fontsize=6.5,
                color=INK,
            )
        ax.set_xticks(days, labels)
        ax.tick_params(axis="x", length=3)
        span = days[-1] or 1.0
        ax.set_xlim(-0.04 * span, span * 1.04)
        ax.set_ylim(0, (max(rates) or 0.01) * 1.25)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
        ax.set_ylabel("Orphaned / active accounts")
        _value_grid(ax, "y")
        _note(fig, lines)

    return _render(draw, 3.0)


# --------------------------------------------------------------------------- dormant


def dormant_chart(rows: Rows) -> str:
    """Reclaimable licence cost per month of dormant accounts, per app (rows: app,
    dormant_accounts, reclaimable_per_month, ...), the TOP apps with the most to reclaim."""
    apps = [r for r in rows if r.get("app") is not None]
    dormant = [r for r in apps if int(r.get("dormant_accounts") or 0) > 0]
    priced = [r for r in dormant if _num(r.get("reclaimable_per_month")) is not None]
    unpriced = [r for r in dormant if _num(r.get("reclaimable_per_month")) is None]
    notes = []
    if unpriced:
        seats = sum(int(r.get("dormant_accounts") or 0) for r in unpriced)
        notes.append(
            f"{_count(seats, 'dormant account', 'dormant accounts')} in "
            f"{_count(len(unpriced), 'app', 'apps')} without a configured licence cost "
            "not shown."
        )
    if not priced:
        return _empty(
            " ".join(["No dormant account with a known licence cost at the data cut-off.", *notes])
        )
    ranked = sorted(priced, key=lambda r: (-float(r["reclaimable_per_month"]), _label(r["app"])))
    shown = ranked[:TOP]
    if len(ranked) > len(shown):
        notes.insert(
            0,
            f"The {len(shown)} apps with the most to reclaim of {len(ranked)}; "
            f"{_count(len(ranked) - len(shown), 'other is', 'others are')} omitted.",
        )
    lines = _note_lines(notes)
    names = [_label(r["app"]) for r in shown]

    def draw(fig: Figure) -> None:
        left = 0.12 + _width_in(names, 7.5)
        ax = _axes(fig, left=left, right=0.12, top=_top(lines), bottom=0.45)
        ys = list(range(len(shown)))
        values = [float(r["reclaimable_per_month"]) for r in shown]
        bars = ax.barh(ys, values, 0.62, color=ORANGE)
        texts = [
            f"{_money(v)} ({_count(int(r['dormant_accounts']), 'seat', 'seats')})"
            for v, r in zip(values, shown, strict=True)
        ]
        ax.bar_label(bars, texts, padding=2, fontsize=6.5, color=INK)
        ax.set_yticks(ys, names)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(_slots(shown) - 0.5, -0.5)
        _room(fig, ax, values, texts)
        ax.set_xlabel("Reclaimable licence cost per month (dormant seats x cost per seat)")
        _value_grid(ax, "x")
        _note(fig, lines)

    return _render(draw, _top(lines) + 0.45 + _SLOT_IN * _slots(shown))
