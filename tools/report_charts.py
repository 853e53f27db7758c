"""The charts of `make report`: matplotlib figures as inline SVG.

Text stays text (`svg.fonttype: none`), so it is sharp at any zoom, searchable and printed by the browser's
own fonts. Colours are the Okabe-Ito palette (distinguishable with colour-blindness), and every series also
has its own hatch or marker and line style, so a black-and-white print still tells them apart. Each SVG is
cleaned for inlining: no XML prologue, metadata or global stylesheet, sizes from its viewBox (the page's
CSS fits it to the width), and its element ids prefixed with the chart's name, since several share a page.
"""
from __future__ import annotations

import io
import re
from datetime import date
from typing import Dict, List, Optional, Sequence

import matplotlib
from matplotlib.figure import Figure

COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
HATCHES = ["", "//", "..", "xx", "\\\\", "++", "--", "oo"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINE_STYLES = ["-", "--", "-.", ":"]
SIZE_INCHES = (8.5, 2.6)
MARGINS = {"left": 0.08, "right": 0.83, "bottom": 0.13, "top": 0.95}  # the same plot area in every chart
MAX_DAY_LABELS = 12
STYLE = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9, "axes.edgecolor": "#444444",
         "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "axes.grid.axis": "y",
         "grid.color": "#dddddd", "legend.frameon": False}


def _day_axis(axes, days: Sequence[date]) -> None:
    step = max(1, -(-len(days) // MAX_DAY_LABELS))
    axes.set_xticks(range(0, len(days), step))
    axes.set_xticklabels([d.strftime("%d %b") for d in days[::step]])
    axes.set_xlim(-0.6, len(days) - 0.4)


def _svg(figure: Figure, name: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": name}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'<style type="text/css">.*?</style>', "", svg, flags=re.S)
    svg = re.sub(r'\s(width|height)="[\d.]+pt"', "", svg, count=2)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r'(xlink:href="#|url\(#)([^")]+)', rf"\g<1>{name}-\2", svg)
    # 'sans-serif' in quotes names a font called "sans-serif"; unquoted it is the browser's sans-serif.
    return svg.replace("'sans-serif'", "sans-serif").replace('"sans-serif"', "sans-serif")


def stacked_bars(name: str, days: Sequence[date], series: Dict[str, List[int]], ylabel: str) -> str:
    """One bar a day, stacked by series (e.g. messages by channel)."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=SIZE_INCHES)
        figure.subplots_adjust(**MARGINS)
        axes = figure.subplots()
        bottom = [0] * len(days)
        for i, (label, values) in enumerate(series.items()):
            axes.bar(range(len(days)), values, bottom=bottom, label=label, color=COLOURS[i % len(COLOURS)],
                     hatch=HATCHES[i % len(HATCHES)], edgecolor="white", linewidth=0.5)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_ylabel(ylabel)
        axes.yaxis.get_major_locator().set_params(integer=True)
        _day_axis(axes, days)
        if series:
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(figure, name)


def lines(name: str, days: Sequence[date], series: Dict[str, List[Optional[float]]], ylabel: str,
          percent: bool = False) -> str:
    """One line per series over the days; a missing value (no data that day) leaves a gap."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=SIZE_INCHES)
        figure.subplots_adjust(**MARGINS)
        axes = figure.subplots()
        for i, (label, values) in enumerate(series.items()):
            shown = [float("nan") if v is None else (100 * v if percent else v) for v in values]
            axes.plot(range(len(days)), shown, label=label, color=COLOURS[i % len(COLOURS)],
                      marker=MARKERS[i % len(MARKERS)], linestyle=LINE_STYLES[i % len(LINE_STYLES)], markersize=4)
        axes.set_ylabel(ylabel)
        if percent:
            axes.set_ylim(0, 100)
        else:
            axes.set_ylim(bottom=0)
        _day_axis(axes, days)
        if series:
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(figure, name)
