"""Learning curves and neighbour lists of training runs (used by ``embedlayer plot`` and the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from embedlayer._io import atomic_path
from embedlayer.vectors import Vectors
from embedlayer.viz.plot import _pyplot

__all__ = ["neighbours_table", "plot_learning_curves"]


def neighbours_table(words: list[str], before: Vectors, after: Vectors, topn: int = 5) -> dict[str, Any]:
    """``{word: {"before": [[neighbour, cosine], ...], "after": [...]}}`` for each word."""
    return {
        w: {
            "before": [[n, round(s, 3)] for n, s in before.most_similar(w, topn=topn)],
            "after": [[n, round(s, 3)] for n, s in after.most_similar(w, topn=topn)],
        }
        for w in words
    }


def plot_learning_curves(results: list[dict[str, Any]], path: Path) -> None:
    """Train loss and dev accuracy per epoch for each run, side by side."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for r in results:
        epochs = [h["epoch"] + 1 for h in r["history"]]
        ax_loss.plot(epochs, [h["train_loss"] for h in r["history"]], marker="o", label=r["name"])
        if r["history"] and r["history"][0].get("dev_accuracy") is not None:
            ax_acc.plot(epochs, [h["dev_accuracy"] for h in r["history"]], marker="o", label=r["name"])
    ax_loss.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    ax_acc.set(title="dev accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
