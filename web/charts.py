"""Server-side SVG charts (no script: they work without JavaScript and under a strict CSP).

>>> svg = stacked_bars({"2025-01": {"a": 2}, "2025-02": {"a": 1, "b": 3}}, ["a", "b"], {"a": "A", "b": "B"})
>>> svg.count("<rect"), "2025-02" in svg  # three bars, two legend keys
(5, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#2f6f73", "#b5651d", "#5b4b8a", "#7a7a7a", "#3d7a3d", "#a33b3b")


def stacked_bars(series: Mapping[str, Mapping[str, int]], keys: Sequence[str], labels: Mapping[str, str], *,
                 width: int = 640, height: int = 240, title: str = "Open vragen per atelier per maand") -> str:
    """Stacked bars per month (x) and atelier (colour), with a legend and a text alternative."""
    months = list(series)
    top = max((sum(v.values()) for v in series.values()), default=0) or 1
    left, bottom, right, top_pad = 36, 40, 12, 12
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    bar = plot_w / max(1, len(months))
    bar_w = min(bar * 0.7, 56.0)  # one month alone should not fill the chart
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24 * len(keys) // 3 + 24}" '
             f'role="img" aria-labelledby="chart-title chart-desc" class="chart">',
             f'<title id="chart-title">{escape(title)}</title>',
             f'<desc id="chart-desc">{escape(_describe(series, keys, labels))}</desc>']
    for i in range(0, 5):
        value = round(top * i / 4)
        y = top_pad + plot_h - plot_h * value / top
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#444">{value}'
                     "</text>")
    for m, month in enumerate(months):
        y = top_pad + plot_h
        for k, key in enumerate(keys):
            n = series[month].get(key, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(f'<rect x="{left + (m + 0.5) * bar - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(month)}: '
                         f"{n} × {escape(labels.get(key, key))}</title></rect>")
        parts.append(f'<text x="{left + (m + 0.5) * bar:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11" fill="#444">{escape(month)}</text>')
    parts += _legend(keys, labels, left, plot_w, height)
    parts.append("</svg>")
    return "".join(parts)


def _describe(series: Mapping[str, Mapping[str, int]], keys: Sequence[str], labels: Mapping[str, str]) -> str:
    if not series:
        return "Nog geen open vragen."
    return "; ".join(f"{month}: " + ", ".join(f"{labels.get(k, k)} {v.get(k, 0)}" for k in keys if v.get(k))
                     for month, v in series.items())


def grouped_bars(series: Mapping[str, Mapping[str, float]], keys: Sequence[str], labels: Mapping[str, str], *,
                 chart_id: str, title: str, width: int = 640, height: int = 240, empty: str = "Geen gegevens.") -> str:
    """Bars side by side per period (x) and key (colour), for counts that do not add up; ``chart_id`` keeps the
    ids of its title and description unique when a page has several charts.

    >>> svg = grouped_bars({"2026-01": {"a": 2, "b": 1.5}, "2026-02": {"a": 1}}, ["a", "b"], {"a": "A", "b": "B"},
    ...                    chart_id="c1", title="Twee reeksen")
    >>> svg.count("<rect"), 'aria-labelledby="c1-title c1-desc"' in svg, "2026-01: A 2, B 1,5" in svg
    (5, True, True)
    """
    periods = list(series)
    top = max((max(v.values(), default=0) for v in series.values()), default=0) or 1
    left, bottom, right, top_pad = 36, 40, 12, 12
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    slot = plot_w / max(1, len(periods))
    group_w = min(slot * 0.8, 28.0 * len(keys))
    bar_w = group_w / max(1, len(keys))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24 * len(keys) // 3 + 24}" '
             f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(_describe_values(series, keys, labels, empty))}</desc>']
    whole = all(float(n).is_integer() for v in series.values() for n in v.values())  # counts: whole ticks
    for i in range(0, 5):
        value: float = round(top * i / 4) if whole else top * i / 4
        y = top_pad + plot_h - plot_h * value / top
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#444">'
                     f"{_number(value)}</text>")
    for p, period in enumerate(periods):
        x0 = left + (p + 0.5) * slot - group_w / 2
        for k, key in enumerate(keys):
            n = series[period].get(key, 0)
            if not n:
                continue
            h = plot_h * n / top
            parts.append(f'<rect x="{x0 + k * bar_w:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(period)}: '
                         f"{escape(labels.get(key, key))} {_number(n)}</title></rect>")
        parts.append(f'<text x="{left + (p + 0.5) * slot:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11" fill="#444">{escape(period)}</text>')
    parts += _legend(keys, labels, left, plot_w, height)
    parts.append("</svg>")
    return "".join(parts)


def _legend(keys: Sequence[str], labels: Mapping[str, str], left: float, plot_w: float, height: int) -> list[str]:
    """The colour key under a chart, three to a row."""
    out = []
    for k, key in enumerate(keys):
        x, y = left + (k % 3) * (plot_w / 3), height + (k // 3) * 24
        out.append(f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>'
                   f'<text x="{x + 18:.1f}" y="{y}" font-size="12" fill="#222">{escape(labels.get(key, key))}</text>')
    return out


def _number(value: float) -> str:
    """Dutch notation: a decimal comma, no ``.0`` on whole numbers."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def _describe_values(series: Mapping[str, Mapping[str, float]], keys: Sequence[str], labels: Mapping[str, str],
                     empty: str) -> str:
    if not series:
        return empty
    return "; ".join(f"{period}: " + (", ".join(f"{labels.get(k, k)} {_number(v[k])}" for k in keys if v.get(k))
                                      or "niets")
                     for period, v in series.items())
