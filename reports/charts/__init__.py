"""The management summary's charts: rows as the KPI queries return them, in; SVG text, out.

One module per chart kind (`latency`, `findings`, `orphan_rate`, `dormant`); `drawing` holds
the settings, palette and helpers they share, and imports matplotlib only when a chart is drawn,
so importing a chart module costs nothing until a report renders one.

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
