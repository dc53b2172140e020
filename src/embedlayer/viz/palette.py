"""The categorical colours shared by the PNG plots and the web explorer (same label, same colour)."""

from __future__ import annotations

__all__ = ["NONE_COLOUR", "OTHER_COLOUR", "PALETTE", "colour"]

# Tableau 10, then the lighter Tableau 20 partners: distinct on white and on a dark background.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
NONE_COLOUR = "#c8c8c8"  # a point without a label
OTHER_COLOUR = "#8a8a8a"  # labels past the palette share one colour


def colour(index: int) -> str:
    """The colour of group ``index`` (-1: no group; past the palette: the shared "other" colour)."""
    if index < 0:
        return NONE_COLOUR
    return PALETTE[index] if index < len(PALETTE) else OTHER_COLOUR
