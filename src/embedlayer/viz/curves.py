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


def plot_learning_curves(
    results: list[dict[str, Any]], path: Path, *, loss: str = "cross-entropy", rmse_scale: float = 1.0
) -> None:
    """Train loss and the dev score per epoch for each run, side by side: dev accuracy, or for a
    regression history (``dev_rmse`` and no ``dev_accuracy``) dev RMSE times ``rmse_scale`` (the
    target's standard deviation gives it in the target's units). ``loss`` names the training loss."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    first: dict[str, Any] = next((h for r in results for h in r["history"]), {})
    key = "dev_rmse" if first.get("dev_accuracy") is None and first.get("dev_rmse") is not None else "dev_accuracy"
    scale = rmse_scale if key == "dev_rmse" else 1.0
    fig, (ax_loss, ax_dev) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for r in results:
        epochs = [h["epoch"] + 1 for h in r["history"]]
        ax_loss.plot(epochs, [h["train_loss"] for h in r["history"]], marker="o", label=r["name"])
        if r["history"] and r["history"][0].get(key) is not None:
            ax_dev.plot(epochs, [h[key] * scale for h in r["history"]], marker="o", label=r["name"])
    ax_loss.set(title="training loss", xlabel="epoch", ylabel=loss)
    if key == "dev_rmse":
        ax_dev.set(title="dev RMSE", xlabel="epoch", ylabel="RMSE" if scale != 1.0 else "RMSE (standardised target)")
    else:
        ax_dev.set(title="dev accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_dev):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
