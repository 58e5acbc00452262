"""Time-to-act charts: removal after termination and provisioning after hire, p50 and
p90 per app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports.charts.drawing import (
    BLUE,
    INK,
    SKY,
    SLOT_IN,
    TOP,
    VERMILLION,
    Rows,
    add_axes,
    as_number,
    counted,
    data_label,
    draw_note,
    empty_chart,
    fit_bar_labels,
    foot_legend,
    hours_text,
    note_lines,
    render_svg,
    slot_count,
    text_width_in,
    top_margin,
    value_grid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["latency_chart", "provision_chart"]


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
        if as_number(r.get("p90_hours")) is not None or as_number(r.get("p50_hours")) is not None
    ]
    if not measured:
        return empty_chart(empty)

    def p90(r: Mapping[str, Any]) -> float:
        value = as_number(r.get("p90_hours"))
        return value if value is not None else as_number(r.get("p50_hours")) or 0.0

    ranked = sorted(measured, key=lambda r: (-p90(r), data_label(r.get("app"))))
    shown = ranked[:TOP]
    notes = []
    if len(ranked) > len(shown):
        notes.append(
            f"The {len(shown)} apps with the highest p90 of {len(ranked)}; "
            f"{counted(len(ranked) - len(shown), 'other is', 'others are')} omitted."
        )
    unmeasured = len(rows) - len(measured)
    if unmeasured:
        notes.append(f"{counted(unmeasured, 'app', 'apps')} with no {nothing} not shown.")
    lines = note_lines(notes)
    names = [data_label(r.get("app")) for r in shown]

    def draw(fig: Figure) -> None:
        left = 0.12 + text_width_in(names, 7.5)
        ax = add_axes(fig, left=left, right=0.12, top=top_margin(lines), bottom=0.64)
        # A hair of space between a group's two bars, so the p50 label cannot touch the p90 bar.
        height, offset = 0.36, 0.2
        ys = list(range(len(shown)))
        p50s = [as_number(r.get("p50_hours")) or 0.0 for r in shown]
        p90s = [p90(r) for r in shown]
        b50 = ax.barh([y - offset for y in ys], p50s, height, color=SKY)
        b90 = ax.barh([y + offset for y in ys], p90s, height, color=BLUE)
        texts = {}
        for bars, values in ((b50, p50s), (b90, p90s)):
            texts[id(bars)] = [hours_text(v) for v in values]
            ax.bar_label(bars, texts[id(bars)], padding=2, fontsize=6, color=INK)
        ax.set_yticks(ys, names)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(slot_count(shown) - 0.5, -0.5)
        fit_bar_labels(fig, ax, p50s + p90s, texts[id(b50)] + texts[id(b90)], sla_hours or 0.0)
        ax.set_xlabel(f"Hours from {what}")
        value_grid(ax, "x")
        handles, labels = [b50, b90], ["p50 (median)", "p90"]
        if sla_hours is not None:
            handles.append(ax.axvline(sla_hours, color=VERMILLION, linewidth=1, linestyle="--"))
            labels.append(f"SLA {sla_hours:g} h")
        foot_legend(fig, handles, labels, x_in=left - 0.1, ncols=len(handles))
        draw_note(fig, lines)

    return render_svg(draw, top_margin(lines) + 0.64 + SLOT_IN * slot_count(shown))


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
