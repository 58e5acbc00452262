"""Reclaimable licence cost of dormant accounts, per app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.charts.drawing import (
    INK,
    ORANGE,
    SLOT_IN,
    TOP,
    Rows,
    add_axes,
    as_number,
    counted,
    data_label,
    draw_note,
    empty_chart,
    fit_bar_labels,
    money_text,
    note_lines,
    render_svg,
    slot_count,
    text_width_in,
    top_margin,
    value_grid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["dormant_chart"]


def dormant_chart(rows: Rows) -> str:
    """Reclaimable licence cost per month of dormant accounts, per app (rows: app,
    dormant_accounts, reclaimable_per_month, ...), the TOP apps with the most to reclaim."""
    apps = [r for r in rows if r.get("app") is not None]
    dormant = [r for r in apps if int(r.get("dormant_accounts") or 0) > 0]
    priced = [r for r in dormant if as_number(r.get("reclaimable_per_month")) is not None]
    unpriced = [r for r in dormant if as_number(r.get("reclaimable_per_month")) is None]
    notes = []
    if unpriced:
        seats = sum(int(r.get("dormant_accounts") or 0) for r in unpriced)
        notes.append(
            f"{counted(seats, 'dormant account', 'dormant accounts')} in "
            f"{counted(len(unpriced), 'app', 'apps')} without a configured licence cost "
            "not shown."
        )
    if not priced:
        return empty_chart(
            " ".join(["No dormant account with a known licence cost at the data cut-off.", *notes])
        )
    ranked = sorted(
        priced, key=lambda r: (-float(r["reclaimable_per_month"]), data_label(r["app"]))
    )
    shown = ranked[:TOP]
    if len(ranked) > len(shown):
        notes.insert(
            0,
            f"The {len(shown)} apps with the most to reclaim of {len(ranked)}; "
            f"{counted(len(ranked) - len(shown), 'other is', 'others are')} omitted.",
        )
    lines = note_lines(notes)
    names = [data_label(r["app"]) for r in shown]

    def draw(fig: Figure) -> None:
        left = 0.12 + text_width_in(names, 7.5)
        ax = add_axes(fig, left=left, right=0.12, top=top_margin(lines), bottom=0.45)
        ys = list(range(len(shown)))
        values = [float(r["reclaimable_per_month"]) for r in shown]
        bars = ax.barh(ys, values, 0.62, color=ORANGE)
        texts = [
            f"{money_text(v)} ({counted(int(r['dormant_accounts']), 'seat', 'seats')})"
            for v, r in zip(values, shown, strict=True)
        ]
        ax.bar_label(bars, texts, padding=2, fontsize=6.5, color=INK)
        ax.set_yticks(ys, names)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(slot_count(shown) - 0.5, -0.5)
        fit_bar_labels(fig, ax, values, texts)
        ax.set_xlabel("Reclaimable licence cost per month (dormant seats x cost per seat)")
        value_grid(ax, "x")
        draw_note(fig, lines)

    return render_svg(draw, top_margin(lines) + 0.45 + SLOT_IN * slot_count(shown))
