"""The dashboard's charts: server-rendered SVG (pygal) with no script in it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pygal
from pygal.style import Style

from ..money import decimals

_STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1b1f24",
    foreground_strong="#1b1f24", foreground_subtle="#4a5561",
    colors=("#0b5d4b", "#b3470b", "#1a4fd6", "#6b3fa0", "#8a6d00", "#4a5561"),
    font_family="system-ui, sans-serif", label_font_size=12, major_label_font_size=12,
    value_font_size=12, title_font_size=14, legend_font_size=12, opacity="1",
    opacity_hover="1", transition="0s",
)


def svg_chart(kind: str, title: str, labels: list[str], series: dict[str, list[int]],
              *, rtl: bool = False) -> bytes:
    """A server-rendered SVG with no script in it: pygal's tooltip script and
    its config <script> are removed from the tree before serialising."""
    wide = kind != "hbar"
    config = dict(js=[], style=_STYLE, width=900 if wide else 480,
                  height=320 if wide else max(200, 60 + 34 * len(labels)),
                  show_legend=len(series) > 1,
                  legend_at_bottom=True, title=title, x_label_rotation=30 if len(labels) > 8
                  else 0, show_minor_x_labels=False, truncate_label=18,
                  print_values=False, margin=12, no_data_text="—")
    chart = (pygal.HorizontalBar if kind == "hbar" else pygal.Bar)(**config)
    if kind != "hbar" and len(labels) > 12:
        chart.x_labels_major = labels[:: max(1, len(labels) // 8)]
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    svg = ET.tostring(tree, encoding="unicode") if not hasattr(tree, "getroottree") \
        else _lxml_tostring(tree)
    svg = re.sub(r"<script\b.*?</script>", "", svg, flags=re.S | re.I)
    return svg.encode()


def _lxml_tostring(tree):  # pragma: no cover - pygal uses lxml when it is installed
    from lxml import etree

    return etree.tostring(tree, encoding="unicode")


def major_units(minor: int, currency: str) -> int:
    """Whole major units for a chart axis (display only; money stays minor)."""
    return minor // 10 ** decimals(currency)
