"""A clean scatter of projected words: readable labels that do not pile up, colours by group, a title.

Labels are placed by ``repel.place_labels`` in display pixels once the axes are laid out (the
layout is fixed first, so the pixels do not move when the figure is saved), then drawn as figure
texts with a thin leader line when a label had to move away from its point. 2-D and 3-D (a fixed
view of matplotlib's 3-D axes) use the same placement.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlayer._io import atomic_path
from embedlayer.errors import ConfigError
from embedlayer.viz.palette import NONE_COLOUR, OTHER_COLOUR, PALETTE, colour
from embedlayer.viz.projection import Projection
from embedlayer.viz.repel import place_labels

__all__ = ["IMAGE_FORMATS", "MAX_PIXELS", "ScatterResult", "check_figure_size", "check_image_path", "plot_scatter"]

IMAGE_FORMATS = ("png", "svg", "pdf")
#: The most pixels a figure may have (width x height at its dpi, for every format: the labels are
#: measured on a raster canvas of that size). Drawing takes about 4 bytes a pixel, so this bounds
#: a plot near 400 MB; 40 x 40 inches at 1000 dpi (1.6 billion pixels) took 6.3 GB.
MAX_PIXELS = 100_000_000


@dataclass(frozen=True)
class ScatterResult:
    """What ``plot_scatter`` drew.

    Attributes:
        path: the file written.
        labelled: the words whose label was drawn, in drawing order.
        skipped: optional labels left out for lack of free space.
        overlaps: required labels that had to overlap another one (0 in a clean plot).
        boxes: (len(labelled), 4) display-pixel boxes (x0, y0, x1, y1) of the drawn labels, as
            matplotlib measured them (for checks); pixels of the saved image, origin bottom-left.
        size_px: (width, height) of the saved image in pixels.
    """

    path: Path
    labelled: tuple[str, ...]
    skipped: tuple[str, ...]
    overlaps: int
    boxes: np.ndarray
    size_px: tuple[int, int]


def check_image_path(path: str | os.PathLike[str]) -> str:
    """The image format of ``path`` from its extension. Raises ConfigError for another extension."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in IMAGE_FORMATS:
        raise ConfigError(
            f"output {os.fspath(path)!r}: extension {('.' + suffix) if suffix else '(none)'} is not "
            f"an image format; expected .png, .svg or .pdf"
        )
    return suffix


def check_figure_size(size: tuple[float, float], dpi: int, *, what: str | None = None) -> None:
    """Raise ConfigError when a figure of ``size`` inches at ``dpi`` has more than ``MAX_PIXELS``
    pixels; ``what`` names the two in the message (default: "a figure of W x H inches at D dpi")."""
    width, height = round(size[0] * dpi), round(size[1] * dpi)
    if width * height > MAX_PIXELS:
        what = what or f"a figure of {size[0]:g} x {size[1]:g} inches at {dpi} dpi"
        raise ConfigError(
            f"{what} is {width:,} x {height:,} = {width * height:,} pixels (about {width * height * 4 / 1e9:.1f} GB "
            f"to draw); expected at most {MAX_PIXELS:,} pixels: a smaller size or dpi"
        )


def plot_scatter(
    projection: Projection,
    words: Sequence[str],
    out: str | os.PathLike[str],
    *,
    title: str,
    groups: np.ndarray | None = None,
    group_names: Sequence[str] = (),
    group_title: str = "",
    label: np.ndarray | None = None,
    required: np.ndarray | bool = True,
    size: tuple[float, float] | None = None,
    dpi: int = 150,
) -> ScatterResult:
    """Draw ``projection`` (N points, 2-D or 3-D) with ``words`` and write it to ``out``.

    Args:
        projection: the coordinates (N, 2 or 3).
        words: the N words, in the same order.
        out: a .png, .svg or .pdf path (written atomically).
        title: shown above the plot; say what was projected.
        groups: (N,) int group of each point (-1: none) for colours and the legend.
        group_names: the names of groups 0, 1, ...; group_title heads the legend.
        label: (N,) bool, which points get their word written (default: all), in priority order
            of their row (earlier rows are placed first).
        required: bool or (N,) bools: a required label is always drawn; the others only where
            there is free space.
        size: figure size in inches (default: grows with the number of labels).
        dpi: pixels per inch; with ``size``, at most ``MAX_PIXELS`` pixels.

    Raises:
        ConfigError: a bad output extension, ``words`` / ``groups`` of another length than N, a
            figure of more than ``MAX_PIXELS`` pixels.
    """
    fmt = check_image_path(out)
    n = len(projection.coords)
    if len(words) != n or (groups is not None and len(groups) != n):
        raise ConfigError(
            f"plot_scatter: {n} points but {len(words)} words and "
            f"{'no' if groups is None else len(groups)} groups; expected one each per point"
        )
    label = np.ones(n, bool) if label is None else np.asarray(label, bool)
    need = np.broadcast_to(np.asarray(required, bool), (n,))
    n_labels = int(label.sum())
    size = size or _default_size(n_labels)
    check_figure_size(size, dpi)
    plt = _pyplot()
    fig = plt.figure(figsize=size, dpi=dpi)
    try:
        ax = _axes(fig, projection, legend=groups is not None and len(group_names) > 0)
        colours = _colours(groups, n)
        _scatter(ax, projection, colours, label)
        fig.suptitle(title, fontsize=11, x=0.02, ha="left")
        if groups is not None and len(group_names):
            _legend(fig, ax, groups, group_names, group_title)
        fig.canvas.draw()
        result = _draw_labels(fig, ax, projection, words, label, need, n_labels)
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
        width, height = fig.canvas.get_width_height()
    finally:
        plt.close(fig)
    return ScatterResult(path=Path(out), size_px=(width, height), **result)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("plots need matplotlib: pip install 'embedlayer[viz]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _default_size(n_labels: int) -> tuple[float, float]:
    scale = min(2.0, max(1.0, (n_labels / 80) ** 0.5))
    return (11 * scale, 8 * scale)


def _axes(fig, projection: Projection, *, legend: bool):
    rect = [0.06, 0.07, 0.74 if legend else 0.91, 0.84]
    if projection.dim == 3:
        ax = fig.add_axes(rect, projection="3d")
        ax.view_init(elev=22, azim=-58)
        for axis, name in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), _axis_names(projection)):
            axis(name, fontsize=8)
        ax.tick_params(labelsize=7)
        return ax
    ax = fig.add_axes(rect)
    xname, yname = _axis_names(projection)[:2]
    ax.set_xlabel(xname, fontsize=9)
    ax.set_ylabel(yname, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25, lw=0.5)
    if projection.method != "pca":  # UMAP / t-SNE axes have no meaning
        ax.set_xticklabels([])
        ax.set_yticklabels([])
    return ax


def _axis_names(projection: Projection) -> list[str]:
    if projection.method == "pca" and projection.explained is not None:
        return [f"PC{i + 1} ({v:.0%} of variance)" for i, v in enumerate(projection.explained)]
    name = {"umap": "UMAP", "tsne": "t-SNE"}.get(projection.method, projection.method)
    return [f"{name} {i + 1}" for i in range(projection.dim)]


def _colours(groups: np.ndarray | None, n: int) -> list[str]:
    if groups is None:
        return [PALETTE[0]] * n
    return [colour(int(g)) for g in groups]


def _scatter(ax, projection: Projection, colours: list[str], label: np.ndarray) -> None:
    xyz = projection.coords.astype(np.float64)
    n = len(xyz)
    small = max(2.0, min(14.0, 4000 / max(n, 1)))
    faint = ~label
    big = dict(s=26, edgecolors="white", linewidths=0.6, zorder=3)
    light = dict(s=small, alpha=0.55, linewidths=0, zorder=2)
    for mask, style in ((faint, light), (label, big)):
        if mask.any():
            cols = [c for c, m in zip(colours, mask) if m]
            ax.scatter(*(xyz[mask, j] for j in range(projection.dim)), c=cols, **style)
    if projection.dim == 2:
        lo, hi = xyz.min(axis=0), xyz.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        ax.set_xlim(lo[0] - 0.12 * span[0], hi[0] + 0.12 * span[0])
        ax.set_ylim(lo[1] - 0.08 * span[1], hi[1] + 0.08 * span[1])
        ax.set_autoscale_on(False)


def _legend(fig, ax, groups: np.ndarray, names: Sequence[str], title: str) -> None:
    from matplotlib.lines import Line2D

    counts = np.bincount(groups[groups >= 0], minlength=len(names)) if (groups >= 0).any() else np.zeros(len(names))
    limit = len(PALETTE)
    shown = list(range(min(len(names), limit if len(names) <= limit else limit - 1)))
    handles = [
        Line2D([], [], ls="", marker="o", color=colour(i), label=f"{names[i]} ({int(counts[i])})") for i in shown
    ]
    if len(names) > len(shown):
        rest = int(counts[len(shown) :].sum())
        handles.append(
            Line2D([], [], ls="", marker="o", color=OTHER_COLOUR, label=f"{len(names) - len(shown)} more ({rest})")
        )
    if (groups < 0).any():
        handles.append(Line2D([], [], ls="", marker="o", color=NONE_COLOUR, label=f"none ({int((groups < 0).sum())})"))
    fig.legend(
        handles=handles,
        title=title or None,
        loc="upper left",
        bbox_to_anchor=(0.82, 0.91),
        fontsize=8,
        title_fontsize=9,
        frameon=False,
    )


def _anchors(ax, projection: Projection) -> np.ndarray:
    """(N, 2) display pixels of the points."""
    xyz = projection.coords.astype(np.float64)
    if projection.dim == 3:
        from mpl_toolkits.mplot3d import proj3d

        xs, ys, _ = proj3d.proj_transform(xyz[:, 0], xyz[:, 1], xyz[:, 2], ax.get_proj())
        return ax.transData.transform(np.column_stack([xs, ys]))
    return ax.transData.transform(xyz[:, :2])


def _draw_labels(fig, ax, projection, words, label, need, n_labels) -> dict:
    """Measure, place and draw the labels; returns the ScatterResult fields about them."""
    from matplotlib.lines import Line2D

    renderer = fig.canvas.get_renderer()
    fontsize = 9 if n_labels <= 60 else 8 if n_labels <= 150 else 7
    order = np.flatnonzero(label)
    anchors = _anchors(ax, projection)
    texts, sizes = [], []
    for i in order:
        t = fig.text(0, 0, words[i], fontsize=fontsize, ha="center", va="center", zorder=5, color="#222222")
        bb = t.get_window_extent(renderer)
        texts.append(t)
        sizes.append((bb.width + 2, bb.height))
    box = ax.bbox
    placement = place_labels(
        anchors[order],
        np.array(sizes).reshape(-1, 2),
        (box.x0, box.y0, box.x1, box.y1),
        obstacles=anchors[~label],
        point_radius=3.0,
        required=need[order],
    )
    fw, fh = fig.bbox.width, fig.bbox.height
    labelled, skipped = [], []
    for k, i in enumerate(order):
        if not placement.placed[k]:
            texts[k].remove()
            skipped.append(words[i])
            continue
        cx, cy = placement.centres[k]
        texts[k].set_position((cx / fw, cy / fh))
        labelled.append(k)
        if placement.ring[k] >= 1:
            end = _edge_point(anchors[i], placement.centres[k], np.array(sizes[k]) / 2)
            fig.add_artist(
                Line2D(
                    [anchors[i][0] / fw, end[0] / fw],
                    [anchors[i][1] / fh, end[1] / fh],
                    lw=0.5,
                    color="#888888",
                    zorder=4,
                )
            )
    fig.canvas.draw()
    boxes = np.array([texts[k].get_window_extent(renderer).extents for k in labelled]).reshape(-1, 4)
    return {
        "labelled": tuple(words[order[k]] for k in labelled),
        "skipped": tuple(skipped),
        "overlaps": placement.overlaps,
        "boxes": boxes,
    }


def _edge_point(anchor: np.ndarray, centre: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Where the segment from ``anchor`` to the box ``centre`` enters the box (half sizes ``half``)."""
    d = centre - anchor
    with np.errstate(divide="ignore"):
        t = np.min(np.where(np.abs(d) > 0, half / np.abs(d), np.inf))
    return centre - d * min(t, 1.0)
