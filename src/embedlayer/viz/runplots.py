"""Pictures of a training run folder: learning curves, neighbours before / after fine-tuning,
and the learned rows of a table model's columns.

Three kinds of run folder are read:

- ``embedlayer demo``'s folder: ``report.json`` holds every run's history and the neighbour
  lists before and after fine-tuning (drawn by :mod:`embedlayer.viz.curves`);
- ``embedlayer classify train``'s model folder: ``config.json`` (format
  ``embedlayer.text-classifier``) and ``checkpoint/last/checkpoint.json`` with the history. The
  "before" side needs the pretrained vectors the model started from (``vectors``); the "after"
  side is the model's embedding rows, searched among the same frequent training words.
- ``embedlayer tabular train``'s and ``recommend train``'s model folders: ``config.json`` (format
  ``embedlayer.tabular``; ``"task": "recommend"`` for a recommender) and the same checkpoint
  history; each categorical column's learned rows are drawn as a PCA scatter labelled by category.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlayer._io import atomic_path
from embedlayer.errors import DataError, VocabError, where
from embedlayer.vectors import Vectors
from embedlayer.viz.columnplots import ColumnRows, column_file_names, column_rows, plot_column
from embedlayer.viz.curves import neighbours_table, plot_learning_curves

__all__ = [
    "RunFolder",
    "classifier_neighbours",
    "folder_kind",
    "is_run_folder",
    "plot_neighbours",
    "plot_run",
    "read_run",
]

CLASSIFIER_FORMAT = "embedlayer.text-classifier"
TABULAR_FORMAT = "embedlayer.tabular"
TABLE_KINDS = ("tabular", "recommend")
_CHECKPOINT = Path("checkpoint") / "last" / "checkpoint.json"


@dataclass(frozen=True)
class RunFolder:
    """What a run folder holds for pictures.

    Attributes:
        folder: the folder.
        kind: ``"demo"``, ``"classifier"``, ``"tabular"`` or ``"recommend"``.
        runs: ``[{"name": ..., "history": [{"epoch", "train_loss", "dev_accuracy", ...}, ...]}]``.
        neighbours: the demo's ``{word: {"before": [[w, cos], ...], "after": [...]}}``, else None.
    """

    folder: Path
    kind: str
    runs: tuple[dict[str, Any], ...]
    neighbours: dict[str, Any] | None


def folder_kind(path: str | os.PathLike[str]) -> str | None:
    """``"demo"``, ``"classifier"``, ``"tabular"`` or ``"recommend"`` for a run folder of that
    kind, None for anything else (a vectors file, a native vectors directory)."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    if (folder / "report.json").is_file():
        return "demo"
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    if config.get("format") == CLASSIFIER_FORMAT:
        return "classifier"
    if config.get("format") == TABULAR_FORMAT:
        return "recommend" if config.get("task") == "recommend" else "tabular"
    return None


def is_run_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a demo run folder or a classifier, tabular or recommender model folder
    (not a vectors file or a native vectors directory)."""
    return folder_kind(path) is not None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{where(path)}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{where(path)}: not valid JSON ({exc})") from None


def read_run(path: str | os.PathLike[str]) -> RunFolder:
    """Read the histories (and the demo's neighbour lists) of a run folder.

    Raises:
        DataError: not a run folder, or its JSON lacks the histories (naming the file).
    """
    folder = Path(path)
    kind = folder_kind(folder)
    if kind is None:
        raise DataError(
            f"{where(folder)}: not a run folder; expected `embedlayer demo`'s folder (report.json) "
            f"or a `classify train`, `tabular train` or `recommend train` model folder (config.json)"
        )
    if kind == "demo":
        report = _read_json(folder / "report.json")
        results = report.get("results") if isinstance(report, dict) else None
        if not isinstance(results, list) or not all(isinstance(r, dict) and "history" in r for r in results):
            raise DataError(
                f"{where(folder / 'report.json')}: no 'results' with histories; expected the report "
                f"written by `embedlayer demo`"
            )
        runs = tuple(
            {"name": str(r.get("name", f"run {i + 1}")), "history": r["history"]} for i, r in enumerate(results)
        )
        return RunFolder(folder, "demo", runs, report.get("neighbours") or None)
    command = {"classifier": "classify train", "tabular": "tabular train", "recommend": "recommend train"}[kind]
    ckpt = folder / _CHECKPOINT
    if not ckpt.is_file():
        raise DataError(
            f"{where(ckpt)}: no such file; the model folder has no training history "
            f"(expected the checkpoint `{command}` writes)"
        )
    meta = _read_json(ckpt)
    try:
        history = meta["extra"]["state"]["history"]
    except (KeyError, TypeError):
        raise DataError(f"{where(ckpt)}: no extra.state.history; expected a `{command}` checkpoint") from None
    if not isinstance(history, list) or not all(
        isinstance(h, dict) and "epoch" in h and "train_loss" in h for h in history
    ):
        raise DataError(
            f"{where(ckpt)}: extra.state.history is not a list of epochs; expected a `{command}` checkpoint"
        )
    return RunFolder(folder, kind, ({"name": folder.name, "history": history},), None)


def classifier_neighbours(
    folder: str | os.PathLike[str],
    vectors: Vectors,
    *,
    words: Sequence[str] | None = None,
    topn: int = 5,
    min_count: int = 5,
    pick: int = 8,
) -> dict[str, Any]:
    """Neighbours of words before (``vectors``) and after fine-tuning (the model's embedding rows).

    Both sides search the same candidates: training words seen at least ``min_count`` times that
    ``vectors`` knows (cosine in the full space). Without ``words``, the ``pick`` frequent words
    (among the 2,000 most frequent candidates) whose rows moved most (lowest cosine between
    before and after) are shown: what training changed.

    Raises:
        ModelError: the model folder cannot be loaded.
        DataError: ``vectors`` of another dimension than the model's embedding (not the vectors it
            started from); no candidate word (too few shared words, or ``min_count`` too high).
        VocabError: a requested word is not a candidate (naming it).
    """
    from embedlayer.tasks import TextClassificationPipeline

    pipeline = TextClassificationPipeline.load(folder)
    dim = pipeline.model.embedding.weight.shape[1]
    if vectors.vector_size != dim:
        raise DataError(
            f"{where(folder)}: the model's embedding has dimension {dim} but the vectors given have "
            f"{vectors.vector_size}; expected the pretrained vectors the model started from"
        )
    vocab = pipeline.vocab
    specials = set(vocab.specials)
    candidates = [
        t
        for t, c in zip(vocab.itos, vocab.counts)
        if c >= min_count and t not in specials and t.isalpha() and t in vectors
    ]
    if len(candidates) <= topn:
        raise DataError(
            f"{where(folder)}: only {len(candidates)} training words seen >= {min_count} times are in "
            f"the vectors; expected more than {topn} to compare neighbours"
        )
    rows = [vocab.stoi[t] for t in candidates]
    after = Vectors(candidates, pipeline.model.embedding.weight.detach().numpy()[rows])
    before = Vectors(candidates, np.stack([vectors[t] for t in candidates]))
    if words is None:
        head = min(len(candidates), 2000)
        moved = (before.normed_matrix()[:head] * after.normed_matrix()[:head]).sum(axis=1)  # (head,) cosines
        words = [candidates[i] for i in np.argsort(moved, kind="stable")[:pick]]
    else:
        lacking = [w for w in words if w not in before]
        if lacking:
            raise VocabError(
                f"word(s) {', '.join(map(repr, lacking[:10]))} are not training words seen >= "
                f"{min_count} times that the vectors know; expected words of both"
            )
    return neighbours_table(list(words), before, after, topn=topn)


def plot_neighbours(neighbours: dict[str, Any], path: str | os.PathLike[str], *, title: str, dpi: int = 130) -> Path:
    """One row per word, neighbours before (left) and after (right) fine-tuning as cosine bars;
    a neighbour that is new after fine-tuning is orange, one that stayed is blue."""
    from embedlayer.viz.plot import _pyplot, check_image_path

    fmt = check_image_path(path)
    if not neighbours:
        raise DataError("no neighbour lists to draw; expected at least one word")
    plt = _pyplot()
    words = list(neighbours)
    rows = len(words)
    fig, axes = plt.subplots(
        rows, 2, figsize=(10, 1.25 + 1.05 * rows), dpi=dpi, squeeze=False, sharex=True, constrained_layout=True
    )
    try:
        for r, word in enumerate(words):
            before = {n for n, _ in neighbours[word]["before"]}
            for c, side in enumerate(("before", "after")):
                ax = axes[r][c]
                items = neighbours[word][side]
                names = [n for n, _ in items][::-1]
                scores = [s for _, s in items][::-1]
                colours = ["#4e79a7" if side == "before" or n in before else "#f28e2b" for n in names]
                bars = ax.barh(range(len(names)), scores, color=colours, height=0.7)
                ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
                ax.set_yticks(range(len(names)), names, fontsize=8)
                ax.set_xlim(0, 1)
                ax.tick_params(axis="x", labelsize=7)
                ax.grid(axis="x", alpha=0.3)
                ax.set_title(f"{word!s} — {side} fine-tuning", fontsize=9, loc="left")
        axes[-1][0].set_xlabel("cosine similarity", fontsize=8)
        axes[-1][1].set_xlabel("cosine similarity (orange: new neighbour)", fontsize=8)
        fig.suptitle(title, fontsize=11)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
    finally:
        plt.close(fig)
    return Path(path)


def plot_run(
    folder: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    vectors: Vectors | None = None,
    words: Sequence[str] | None = None,
    topn: int = 5,
    columns: Sequence[str] | None = None,
    max_labels: int = 100,
    size: tuple[float, float] | None = None,
    dpi: int = 150,
    log: Any = None,
) -> list[Path]:
    """Write ``learning_curves.png`` and, when neighbour lists are available (the demo's, or a
    classifier folder with its starting ``vectors``), ``neighbours.png`` into ``out_dir``; for a
    table model folder, ``<column>.png`` for each column `column_rows` picks (``columns``, labels
    of at most ``max_labels`` categories, figure ``size`` and ``dpi``). ``log`` gets a line for
    each column left out.

    Returns the paths written. Everything is read and projected before anything is written.
    Raises what ``read_run``, ``classifier_neighbours`` and ``column_rows`` raise.
    """
    from embedlayer.viz.projection import project

    run = read_run(folder)
    if not any(r["history"] for r in run.runs):
        raise DataError(f"{where(run.folder)}: the run has no finished epoch to draw")
    neighbours = run.neighbours  # found (and checked) before anything is written
    if run.kind == "classifier" and vectors is not None:
        neighbours = classifier_neighbours(run.folder, vectors, words=words, topn=topn)
    elif neighbours is not None and words is not None:
        lacking = [w for w in words if w not in neighbours]
        if lacking:
            raise VocabError(
                f"{where(run.folder / 'report.json')}: no neighbour lists for {lacking[:10]}; "
                f"the report has {sorted(neighbours)}"
            )
        neighbours = {w: neighbours[w] for w in words}
    tables: list[tuple[ColumnRows, Any]] = []
    curve_options: dict[str, Any] = {}
    if run.kind in TABLE_KINDS:
        picked, skipped = column_rows(run.folder, columns)
        for line in skipped:
            if log is not None:
                log(f"{run.folder.name}: left out {line}")
        for rows in picked:
            source = f"{run.folder.name}: column {rows.column}"
            tables.append((rows, project(rows.matrix, 2, "pca", source=source)))
        spec = _read_json(run.folder / "spec.json")
        if isinstance(spec, dict) and spec.get("task") == "regression":
            std = spec.get("target_std", 1.0)
            curve_options = {"loss": "squared error (standardised target)"}
            if isinstance(std, (int, float)) and std > 0:
                curve_options["rmse_scale"] = float(std)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "learning_curves.png"]
    plot_learning_curves(list(run.runs), written[0], **curve_options)
    if neighbours:
        written.append(out / "neighbours.png")
        plot_neighbours(
            neighbours, written[-1], title=f"Nearest neighbours before and after fine-tuning ({run.folder.name})"
        )
    for (rows, projection), name in zip(tables, column_file_names([r.column for r, _ in tables])):
        written.append(out / name)
        plot_column(rows, projection, written[-1], source=run.folder.name, max_labels=max_labels, size=size, dpi=dpi)
    return written
