"""The orphaned share of active accounts, at each month end and at the data cut-off."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reports.charts.drawing import (
    INK,
    MONTHS,
    VERMILLION,
    Rows,
    add_axes,
    counted,
    draw_note,
    empty_chart,
    note_lines,
    render_svg,
    top_margin,
    value_grid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["orphan_rate_chart"]


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def orphan_rate_chart(rows: Rows) -> str:
    """Orphaned accounts as a share of active accounts (rows: measured_at, point,
    active_accounts, orphan_accounts, rate), at each month end and at the data cut-off."""
    points = [r for r in rows if r.get("measured_at") is not None]
    if not points:
        return empty_chart("No account listing was collected in the period.")
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
    lines = note_lines(
        [
            "Share of active accounts with an open orphan finding, at each month end and at the"
            f" data cut-off; at the last point, {int(last.get('orphan_accounts') or 0):,} of "
            + counted(int(last.get("active_accounts") or 0), "active account", "active accounts")
            + " are orphaned."
        ]
    )

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import PercentFormatter

        ax = add_axes(fig, left=0.62, right=0.2, top=top_margin(lines) + 0.05, bottom=0.42)
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
        value_grid(ax, "y")
        draw_note(fig, lines)

    return render_svg(draw, 3.0)
