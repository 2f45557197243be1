"""Plots as server-rendered SVG: horizontal bars (funnel, quota fill against target) and columns (per day).

Each chart scales to its container (``viewBox``, width 100%), names itself for screen readers
(``role="img"`` and ``<title>``), and is always shown next to a table of the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
LABEL_W = 190
VALUE_W = 70
BAR_H = 22
GAP = 8
MAX_COLUMN_W = 48
LABEL_CHARS = 24
"""Longer labels are cut with an ellipsis (the full label is the element's tooltip and is in the table beside)."""


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and (optionally) a target drawn as a mark."""

    label: str
    value: float
    target: float | None = None


def _fmt(value: float) -> str:
    return f"{value:g}"


def bars(title: str, items: Sequence[Bar], *, unit: str = "") -> Markup:
    """Horizontal bars, one per item, each labelled with its value (and "of target" when given)."""
    scale_max = max([1.0, *(b.value for b in items), *(b.target or 0 for b in items)])
    plot_w = WIDTH - LABEL_W - VALUE_W
    height = len(items) * (BAR_H + GAP) + GAP
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for n, bar in enumerate(items):
        y = GAP + n * (BAR_H + GAP)
        w = plot_w * bar.value / scale_max
        full = bar.target is not None and bar.value >= bar.target > 0
        short = bar.label if len(bar.label) <= LABEL_CHARS else bar.label[:LABEL_CHARS - 1] + "…"
        parts.append(f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H * 0.7:.1f}" text-anchor="end">'
                     f'<title>{escape(bar.label)}</title>{escape(short)}</text>')
        if bar.target is not None:
            tw = plot_w * bar.target / scale_max
            parts.append(f'<rect class="target" x="{LABEL_W}" y="{y}" width="{tw:.1f}" height="{BAR_H}"/>')
        parts.append(f'<rect class="bar{" full" if full else ""}" x="{LABEL_W}" y="{y}" width="{w:.1f}" '
                     f'height="{BAR_H}"/>')
        text = _fmt(bar.value) + unit + (f" / {_fmt(bar.target)}" if bar.target is not None else "")
        parts.append(f'<text class="value" x="{WIDTH - VALUE_W + 6}" y="{y + BAR_H * 0.7:.1f}">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(title: str, items: Sequence[tuple[str, float]]) -> Markup:
    """Vertical columns (for counts per day), labelled under each column, value above it."""
    height, base, top = 200, 170, 20
    count = max(1, len(items))
    step = (WIDTH - 20) / count
    scale_max = max([1.0, *(value for _label, value in items)])
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
             f'<line class="axis" x1="10" y1="{base}" x2="{WIDTH - 10}" y2="{base}"/>']
    label_every = max(1, count // 12)
    for n, (label, value) in enumerate(items):
        h = (base - top) * value / scale_max
        w = min(step * 0.7, MAX_COLUMN_W)
        x = 10 + n * step + (step - w) / 2
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{h:.1f}">'
                     f'<title>{escape(label)}: {_fmt(value)}</title></rect>')
        parts.append(f'<text class="value" x="{x + w / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle">'
                     f'{_fmt(value)}</text>')
        if n % label_every == 0:
            parts.append(f'<text class="label" x="{x + w / 2:.1f}" y="{base + 16}" text-anchor="middle">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
