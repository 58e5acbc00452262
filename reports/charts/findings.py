"""Findings per month: open at each month end stacked by kind, opened and resolved as
lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from reports.charts.drawing import (
    BLACK,
    KIND_COLOURS,
    MONTHS,
    OTHER_KIND_COLOURS,
    Rows,
    add_axes,
    data_label,
    draw_note,
    empty_chart,
    foot_legend,
    note_lines,
    render_svg,
    top_margin,
    value_grid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["findings_monthly_chart"]


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
        return empty_chart("No finding was open, raised or resolved in the period.")
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
    lines = note_lines(
        [
            "Bars: findings open at each month's end, by kind (accepted risks included). Lines:"
            " findings opened and resolved in the month, all kinds."
        ]
    )
    ncols = 5
    legend_rows = -(-(len(kinds) + 2) // ncols)

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import MaxNLocator

        ax = add_axes(
            fig, left=0.55, right=0.12, top=top_margin(lines), bottom=0.5 + 0.17 * legend_rows
        )
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
            labels.append(data_label(kind))
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
        value_grid(ax, "y")
        foot_legend(fig, handles, labels, x_in=0.45, ncols=ncols)
        draw_note(fig, lines)

    return render_svg(draw, 3.7)
