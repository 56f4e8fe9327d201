"""Charts as SVG, drawn on the server (ADR 1201).

Every chart is readable without colour: each series has its own dash pattern and marker
shape, lines are labelled at their end, bars and heatmap cells carry their value as text, and
the ``<svg>`` has a title and a description that state the figures for screen readers. The same
numbers go into a table beside the chart (:func:`table_rows`) and into CSV downloads.

The functions return ``SafeString``: every label is escaped here, so a campaign called
``<script>`` draws as text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; the dash patterns
# and markers below carry the distinction on their own anyway.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "12 4", "1 2", "4 4 1 4")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "circle-open", "square-open")

_ids = count(1)


@dataclass(frozen=True)
class Series:
    """One line (or one set of bars): a label and a value per x label; ``None`` is a gap."""

    label: str
    values: Sequence[float | None]


def day_label(day: dt.date) -> str:
    """A day on a chart's axis, as the reports and the dashboards write it: "05/11"."""
    return day.strftime("%d/%m")


def fmt(value: float | None, decimals: int | None = None) -> str:
    """A number as the active language writes it: ``1 234,5`` in French, ``1,234.5`` in English."""
    if value is None:
        return "–"
    if decimals is None:
        decimals = 0 if float(value).is_integer() or abs(value) >= 100 else 1
    return str(number_format(round(value, decimals), decimal_pos=decimals, force_grouping=True))


def nice_ticks(low: float, high: float, wanted: int = 5) -> list[float]:
    """Round tick values that cover ``low``..``high`` (1, 2, 2.5 or 5 times a power of ten)."""
    if high < low:
        low, high = high, low
    if math.isclose(low, high):
        high = low + 1.0
    raw = (high - low) / max(wanted - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    s = 3.5
    open_ = shape.endswith("-open")
    fill = "#fff" if open_ else colour
    shape = shape.removesuffix("-open")
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s}" fill="{fill}" stroke="{colour}"/>'
    if shape == "square":
        return (
            f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s}" height="{2 * s}" '
            f'fill="{fill}" stroke="{colour}"/>'
        )
    if shape == "triangle":
        points = (
            f"{x:.1f},{y - s - 1:.1f} {x - s - 0.5:.1f},{y + s:.1f} {x + s + 0.5:.1f},{y + s:.1f}"
        )
        return f'<polygon points="{points}" fill="{fill}" stroke="{colour}"/>'
    if shape == "diamond":
        points = (
            f"{x:.1f},{y - s - 1:.1f} {x + s + 1:.1f},{y:.1f} "
            f"{x:.1f},{y + s + 1:.1f} {x - s - 1:.1f},{y:.1f}"
        )
        return f'<polygon points="{points}" fill="{fill}" stroke="{colour}"/>'
    return (
        f'<path d="M{x - s:.1f},{y - s:.1f}L{x + s:.1f},{y + s:.1f}M{x - s:.1f},{y + s:.1f}'
        f'L{x + s:.1f},{y - s:.1f}" stroke="{colour}" stroke-width="1.6"/>'
    )


def _open(width: int, height: int, title: str, description: str) -> tuple[str, list[str]]:
    uid = f"pvchart{next(_ids)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pv-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{uid}-t {uid}-d" font-family="DejaVu Sans, Liberation Sans, Arial, '
        f'sans-serif" font-size="11">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(description)}</desc>',
    ]
    return uid, parts


def _summary(series: Sequence[Series], unit: str) -> str:
    bits = []
    for s in series:
        known = [v for v in s.values if v is not None]
        if not known:
            bits.append(_("%(label)s: no data") % {"label": s.label})
            continue
        bits.append(
            _("%(label)s: from %(first)s to %(last)s, lowest %(low)s, highest %(high)s%(unit)s")
            % {
                "label": s.label,
                "first": fmt(known[0]),
                "last": fmt(known[-1]),
                "low": fmt(min(known)),
                "high": fmt(max(known)),
                "unit": f" {unit}" if unit else "",
            }
        )
    return "; ".join(bits) + "."


def _x_labels_shown(count: int, at_most: int) -> set[int]:
    """Which of ``count`` x labels to write: about ``at_most``, evenly spread, the last one
    always, and the one before it dropped when it is closer to it than the others are to each
    other (30 days: "04/12/2026" two bars before "06/12/2026" ran into it)."""
    every = max(1, math.ceil(count / at_most))
    last = count - 1
    shown = {i for i in range(count) if i % every == 0 and (i == last or last - i >= every)}
    shown.add(last)
    return shown


#: The width of a character of the charts' 11-pixel sans-serif, on average (DejaVu Sans, a
#: wide font: 0.62 em): an estimate that keeps labels apart and inside the chart.
CHAR_WIDTH = 11 * 0.62


def _text_width(text: str, size: float = 11) -> float:
    """About how wide ``text`` is drawn at ``size`` px."""
    return len(text) * CHAR_WIDTH * size / 11


def _x_label_places(
    xs: Sequence[float], labels: Sequence[str], shown: set[int], *, right_edge: float
) -> list[tuple[float, str, str]]:
    """(x, anchor, label) of the x labels to write: each centred under its point, except the
    last, which ends at the plot's right edge (centred, it ran into the lines' end labels);
    a label that would touch the next one written is left out (never the last)."""
    places: list[tuple[float, str, str]] = []
    gap = 8.0
    limit = right_edge
    for i in sorted(shown, reverse=True):
        half = _text_width(labels[i]) / 2
        if i == len(labels) - 1:
            centre = min(xs[i], right_edge - half)
            anchor, x = ("end", right_edge) if xs[i] + half > right_edge else ("middle", xs[i])
        else:
            centre = xs[i]
            anchor, x = "middle", xs[i]
            if centre + half > limit - gap:
                continue
        places.append((x, anchor, labels[i]))
        limit = centre - half
    return places[::-1]


def _shorten(text: str, room: float) -> str:
    """``text`` cut with "…" to fit ``room`` pixels (estimated), whole when it fits."""
    if _text_width(text) <= room + 0.5:  # the margin is rounded to whole pixels
        return text
    keep = max(1, int(room // CHAR_WIDTH) - 1)
    return text[:keep].rstrip() + "…"


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 260,
    zero_based: bool = True,
) -> SafeString:
    """Lines over ``x_labels``; each series dashed and marked its own way, labelled at its end."""
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(x_labels)}")
    _uid, parts = _open(width, height, title, _summary(series, unit))
    known = [v for s in series for v in s.values if v is not None]
    if not known:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            f'fill="#555">{escape(_("No data for this period."))}</text></svg>'
        )
        return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
    low = min([*known, 0.0]) if zero_based else min(known)
    ticks = nice_ticks(low, max(known))
    y0, y1 = ticks[0], ticks[-1]
    # The right margin holds the lines' end labels ("Rosée Paris (18 400)", "Messages négatifs
    # (30)"), as wide as the longest up to 40 % of the chart; a longer name is shortened there
    # (the table says it whole). A fixed 110 px cut them at the chart's edge.
    end_texts = [
        f"{s.label} ({fmt(next(v for v in reversed(s.values) if v is not None))})"
        for s in series
        if any(v is not None for v in s.values)
    ]
    right = math.ceil(
        min(width * 0.4, max(110.0, max((_text_width(t) for t in end_texts), default=0) + 12))
    )
    left, top, bottom = 56, (26 if unit else 14), 34
    plot_w, plot_h = width - left - right, height - top - bottom

    def y_of(v: float) -> float:
        return top + plot_h - (v - y0) / (y1 - y0) * plot_h

    def x_of(i: int) -> float:
        return left + (plot_w * i / (len(x_labels) - 1) if len(x_labels) > 1 else plot_w / 2)

    for t in ticks:
        y = y_of(t)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333">'
            f"{escape(fmt(t))}</text>"
        )
    if unit:
        # The y axis's title, above the axis from the chart's left edge (ending at the axis,
        # a title longer than the margin ran off the chart: "…par heure").
        parts.append(f'<text x="2" y="12" text-anchor="start" fill="#333">{escape(unit)}</text>')
    # As many x labels as fit side by side (at most eight), evenly spread.
    widest = max((_text_width(label) for label in x_labels), default=0.0)
    fit = max(2, min(8, math.floor(plot_w / (widest + 12)))) if widest else 8
    for x, anchor, label in _x_label_places(
        [x_of(i) for i in range(len(x_labels))],
        x_labels,
        _x_labels_shown(len(x_labels), fit),
        right_edge=left + plot_w,
    ):
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" '
            f'fill="#333">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#333"/>'
    )
    end_labels: list[tuple[float, str, str]] = []
    for n, s in enumerate(series):
        colour, dash, shape = (
            PALETTE[n % len(PALETTE)],
            DASHES[n % len(DASHES)],
            MARKERS[n % len(MARKERS)],
        )
        segments: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                segments.append([])
            else:
                segments[-1].append((x_of(i), y_of(v)))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        for seg in segments:
            if len(seg) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{dash_attr}/>'
                )
        points_all = [p for seg in segments for p in seg]
        # Markers on every point when they fit, else about twelve of them.
        step = max(1, math.ceil(len(points_all) / 12))
        for i, (x, y) in enumerate(points_all):
            if i % step == 0 or i == len(points_all) - 1:
                parts.append(_marker(shape, x, y, colour))
        if points_all:
            last_value = next(v for v in reversed(s.values) if v is not None)
            value_text = f" ({fmt(last_value)})"
            label = _shorten(s.label, right - 12 - _text_width(value_text))
            end_labels.append((points_all[-1][1], label + value_text, colour))
    # End labels, pushed apart so that they never overlap.
    end_labels.sort()
    placed: list[float] = []
    for y, text, colour in end_labels:
        y = max(y, (placed[-1] + 13) if placed else top + 4)
        placed.append(y)
        parts.append(
            f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" fill="{colour}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    bar_height: int = 18,
) -> SafeString:
    """Horizontal bars, each with its label on the left and its value written at its end."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    height = 16 + len(labels) * (bar_height + 8) + 8
    description = "; ".join(
        f"{lab}: {fmt(v)}{' ' + unit if unit else ''}"
        for lab, v in zip(labels, values, strict=True)
    )
    _uid, parts = _open(width, max(height, 40), title, description + ".")
    left = min(220, max([60] + [len(lab) * 7 for lab in labels]))
    top = 12
    high = max([0.0, *values]) or 1.0
    plot_w = width - left - 90
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * (bar_height + 8)
        w = max(0.0, value) / high * plot_w
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" fill="#333">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_height}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}" fill="#111">'
            f"{escape(fmt(value))}{escape(' ' + unit) if unit else ''}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    unit: str = "",
    cell: int = 22,
) -> SafeString:
    """A grid (weekdays × hours, say): darker is more, and each cell says its value in its title.

    Values are also written in the cells when they fit, so the chart reads in black and white.
    """
    if len(values) != len(rows) or any(len(r) != len(columns) for r in values):
        raise ValueError("one row of values per row label, one value per column")
    known = [v for r in values for v in r if v is not None]
    high = max(known) if known else 0.0
    best = max(
        (
            (v, rows[i], columns[j])
            for i, r in enumerate(values)
            for j, v in enumerate(r)
            if v is not None
        ),
        default=None,
    )
    description = (
        _("Highest: %(value)s on %(row)s at %(column)s.")
        % {"value": fmt(best[0]), "row": best[1], "column": best[2]}
        if best
        else _("No data for this period.")
    )
    left, top = 44, 22
    width = left + len(columns) * cell + 8
    height = top + len(rows) * cell + 8
    _uid, parts = _open(width, height, title, description)
    for j, column in enumerate(columns):
        if len(columns) <= 12 or j % 3 == 0:
            parts.append(
                f'<text x="{left + j * cell + cell / 2:.1f}" y="{top - 6}" text-anchor="middle" '
                f'fill="#333" font-size="9">{escape(column)}</text>'
            )
    for i, row in enumerate(rows):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell * 0.65:.1f}" text-anchor="end" fill="#333">'
            f"{escape(row)}</text>"
        )
        for j, value in enumerate(values[i]):
            x = left + j * cell
            if value is None:
                shade, ink = "#fff", "#999"
            else:
                level = value / high if high else 0.0
                # From a pale to a deep blue; text turns white on the dark half.
                light = round(96 - level * 66)
                shade = f"hsl(205, 70%, {light}%)"
                ink = "#fff" if light < 55 else "#111"
            label = f"{row} {columns[j]}: {fmt(value)}{' ' + unit if unit else ''}"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{shade}" '
                f'stroke="#e5e5e5"><title>{escape(label)}</title></rect>'
            )
            if value is not None and cell >= 20:
                parts.append(
                    f'<text x="{x + cell / 2 - 0.5:.1f}" y="{y + cell * 0.65:.1f}" '
                    f'text-anchor="middle" font-size="8" fill="{ink}">'
                    f"{escape(fmt(value, 0))}</text>"
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


#: Fills of stacked segments, one per series besides its colour: solid, hatched, dotted,
#: cross-hatched, so that the stack reads in black and white.
FILLS = ("solid", "hatch", "dots", "cross", "hatch-back", "solid")


def _fill_defs(uid: str, n: int, colour: str, fill: str) -> str:
    """The ``<pattern>`` of series ``n`` (nothing for a solid fill)."""
    pid = f"{uid}-f{n}"
    if fill == "solid":
        return ""
    lines = {
        "hatch": '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/>',
        "hatch-back": '<line x1="3" y1="0" x2="3" y2="6" stroke="#fff" stroke-width="1.5"/>',
        "dots": '<circle cx="3" cy="3" r="1.3" fill="#fff"/>',
        "cross": '<path d="M0,3H6M3,0V6" stroke="#fff" stroke-width="1.2"/>',
    }[fill]
    turn = {"hatch": 45, "hatch-back": -45, "dots": 0, "cross": 45}[fill]
    return (
        f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate({turn})"><rect width="6" height="6" fill="{colour}"/>'
        f"{lines}</pattern>"
    )


def stacked_bar_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Vertical bars, one per x label, stacked from the first series (at the bottom) up.

    Each series has its own fill pattern besides its colour and a legend entry; a bar's total
    is written above it when there is room, and every segment says its value in its title."""
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(x_labels)}")
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(x_labels))]
    known = any(v is not None for s in series for v in s.values)
    sums = "; ".join(
        f"{s.label}: {fmt(sum(v or 0 for v in s.values))}{' ' + unit if unit else ''}"
        for s in series
    )
    peak = max(range(len(totals)), key=lambda i: totals[i], default=None)
    description = _("Stacked bars, from the bottom: %(series)s. Totals: %(sums)s.") % {
        "series": ", ".join(s.label for s in series),
        "sums": sums,
    }
    if peak is not None and known:
        description += " " + _("Highest: %(value)s (%(label)s).") % {
            "value": fmt(totals[peak]),
            "label": x_labels[peak],
        }
    legend_h = 18 * math.ceil(len(series) / 3)
    uid, parts = _open(width, height + legend_h, title, description)
    if not known or not x_labels:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            f'fill="#555">{escape(_("No data for this period."))}</text></svg>'
        )
        return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
    ticks = nice_ticks(0.0, max(totals) or 1.0)
    y1 = ticks[-1] or 1.0
    left, right, top, bottom = 48, 10, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    colours = [PALETTE[n % len(PALETTE)] for n in range(len(series))]
    fills = [FILLS[n % len(FILLS)] for n in range(len(series))]
    parts.append(
        "<defs>"
        + "".join(_fill_defs(uid, n, colours[n], fills[n]) for n in range(len(series)))
        + "</defs>"
    )

    def paint(n: int) -> str:
        return colours[n] if fills[n] == "solid" else f"url(#{uid}-f{n})"

    for t in ticks:
        y = top + plot_h - t / y1 * plot_h
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333">'
            f"{escape(fmt(t))}</text>"
        )
    step = plot_w / len(x_labels)
    bar = max(1.0, step * 0.72)
    shown = _x_labels_shown(len(x_labels), 10)
    for i, label in enumerate(x_labels):
        x = left + i * step + (step - bar) / 2
        y = float(top + plot_h)
        for n, s in enumerate(series):
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = value / y1 * plot_h
            y -= h
            tip = f"{label}, {s.label}: {fmt(value)}{' ' + unit if unit else ''}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{paint(n)}" stroke="#fff" stroke-width="0.5">'
                f"<title>{escape(tip)}</title></rect>"
            )
        if totals[i] and bar >= 14:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'font-size="9" fill="#111">{escape(fmt(totals[i]))}</text>'
            )
        if i in shown:
            text = label[:18]
            # Centred under its bar, unless that would run past the chart's right edge (about
            # 5.5 px a character at this size): then it ends at the edge.
            centre = x + bar / 2
            anchor, at = "middle", centre
            if centre + len(text) * 2.75 > width - 2:
                anchor, at = "end", width - 2
            parts.append(
                f'<text x="{at:.1f}" y="{top + plot_h + 14}" text-anchor="{anchor}" '
                f'font-size="9" fill="#333">{escape(text)}</text>'
            )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#333"/>'
    )
    for n, s in enumerate(series):
        lx = left + (n % 3) * (plot_w / 3)
        ly = height + 4 + (n // 3) * 18
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="14" height="11" fill="{paint(n)}" '
            f'stroke="{colours[n]}"/><text x="{lx + 19:.1f}" y="{ly + 10}" fill="#333">'
            f"{escape(s.label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def table_rows(x_labels: Sequence[str], series: Sequence[Series]) -> list[list[str]]:
    """The chart's numbers as rows (``x label``, then one formatted value per series)."""
    return [[label, *(fmt(s.values[i]) for s in series)] for i, label in enumerate(x_labels)]


def to_csv(x_header: str, x_labels: Sequence[str], series: Sequence[Series]) -> str:
    """The chart's numbers as CSV (raw values, a dot as decimal mark, empty for no data)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([x_header, *(s.label for s in series)])
    for i, label in enumerate(x_labels):
        writer.writerow([label, *("" if s.values[i] is None else s.values[i] for s in series)])
    return out.getvalue()


def figure(
    x_header: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    caption: str = "",
    width: int = 640,
    height: int = 260,
) -> dict[str, object]:
    """The context of ``reports/_line_chart.html``: the chart, its caption and its table."""
    return {
        "svg": line_chart(x_labels, series, title=title, unit=unit, width=width, height=height),
        "caption": caption,
        "x_header": x_header,
        "series": series,
        "rows": table_rows(x_labels, series),
    }
