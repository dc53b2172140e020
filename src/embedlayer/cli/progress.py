"""Progress display: for training, a tqdm bar per epoch when tqdm is installed (lines otherwise);
for other commands, a bar over their named steps."""

from __future__ import annotations

import sys
from typing import Any

from embedlayer.train import EpochEvent, ProgressEvent


class TrainProgress:
    """Callable given to `fit(progress=...)`: one bar per epoch (loss, examples/s, lr), and a line
    with the dev metrics after each epoch. ``prefix`` names the run when several are shown."""

    def __init__(self, *, prefix: str = "", enabled: bool = True) -> None:
        self.prefix = f"{prefix} " if prefix else ""
        self.enabled = enabled
        self._bar: Any = None
        try:
            import tqdm  # noqa: F401

            self._tqdm = True
        except ImportError:
            self._tqdm = False

    def __call__(self, event: ProgressEvent | EpochEvent) -> None:
        if not self.enabled:
            return
        if isinstance(event, ProgressEvent):
            self._step(event)
        elif isinstance(event, EpochEvent):
            self._epoch(event)

    def _step(self, ev: ProgressEvent) -> None:
        if not self._tqdm:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=ev.steps_in_epoch,
                desc=f"{self.prefix}epoch {ev.epoch + 1}",
                unit="batch",
                leave=False,
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
            )
        # tqdm redraws at most every `mininterval` seconds; the postfix rides along with the next redraw.
        self._bar.set_postfix(loss=f"{ev.loss:.4f}", ex_s=f"{ev.examples_per_s:,.0f}", lr=f"{ev.lr:.2e}", refresh=False)
        self._bar.update(ev.step + 1 - self._bar.n)  # ev.step is 0-based

    def _epoch(self, ev: EpochEvent) -> None:
        self.close()
        parts = [f"{self.prefix}epoch {ev.epoch + 1}", f"train loss {ev.train_loss:.4f}"]
        if ev.dev is not None and "accuracy" in ev.dev:
            parts += [f"dev acc {ev.dev['accuracy']:.4f}", f"dev macro-F1 {ev.dev['macro_f1']:.4f}"]
        elif ev.dev is not None:  # a regression run: errors of the (standardised) target
            parts += [f"dev RMSE {ev.dev['rmse']:.4f}", f"dev MAE {ev.dev['mae']:.4f}"]
        parts.append(f"{ev.seconds:.1f}s")
        if ev.is_best:
            parts.append("(best)")
        print("  ".join(parts), file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Steps:
    """A tqdm bar over the named steps of a command, on stderr when it is a terminal."""

    def __init__(self, steps: list[str]) -> None:
        self.bar: Any = None
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self.bar = tqdm(
                    total=len(steps),
                    unit="step",
                    leave=False,
                    file=sys.stderr,
                    bar_format="{desc} {bar} {n_fmt}/{total_fmt} [{elapsed}]",
                )
            except ImportError:
                pass

    def start(self, name: str) -> None:
        """Show that step ``name`` is running (the previous one is counted as done)."""
        if self.bar is not None:
            if self.bar.desc:
                self.bar.update(1)
            self.bar.set_description_str(name)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
