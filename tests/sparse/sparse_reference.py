"""Straightforward reference implementations of the row-wise optimizers (float64, dict of rows).

Deliberately naive: sum the gradients of each id in a Python dict, then apply the textbook formula
row by row. The compiled drivers must agree with these to 1e-6.
"""

from __future__ import annotations

import numpy as np


class Reference:
    """One optimizer's semantics over a float64 copy of a (V, D) table."""

    def __init__(
        self,
        kind: str,
        table: np.ndarray,
        *,
        lr: float,
        weight_decay: float = 0.0,
        eps: float | None = None,
        betas=(0.9, 0.999),
        decoupled: bool = False,
        bias_correction: str = "row",
        padding_idx=None,
        initial_accumulator_value: float = 0.0,
    ) -> None:
        self.kind, self.lr, self.wd, self.betas = kind, lr, weight_decay, betas
        self.eps = eps if eps is not None else (1e-8 if kind == "adam" else 1e-10)
        self.decoupled, self.bias_correction, self.padding_idx = decoupled, bias_correction, padding_idx
        self.w = np.array(table, dtype=np.float64)
        V, D = self.w.shape
        self.m, self.v = np.zeros((V, D)), np.zeros((V, D))
        self.sum = np.full((V, D), initial_accumulator_value)
        self.row_sum = np.full(V, initial_accumulator_value)
        self.row_step = np.zeros(V, dtype=np.int64)
        self.step_count = 0

    def step(self, ids, grads) -> None:
        self.step_count += 1
        rows: dict[int, np.ndarray] = {}
        for i, r in enumerate(np.asarray(ids).reshape(-1).tolist()):
            if r == self.padding_idx:
                continue
            rows[r] = rows.get(r, 0.0) + np.asarray(grads[i], dtype=np.float64)
        for r, g in rows.items():
            getattr(self, "_" + self.kind.replace("-", "_"))(r, g)

    def _sgd(self, r, g):
        self.w[r] -= self.lr * (g + self.wd * self.w[r])

    def _adagrad(self, r, g):
        g = g + self.wd * self.w[r]
        self.sum[r] += g * g
        self.w[r] -= self.lr * g / (np.sqrt(self.sum[r]) + self.eps)

    def _rowwise_adagrad(self, r, g):
        g = g + self.wd * self.w[r]
        self.row_sum[r] += np.mean(g * g)
        self.w[r] -= self.lr * g / (np.sqrt(self.row_sum[r]) + self.eps)

    def _adam(self, r, g):
        b1, b2 = self.betas
        if self.bias_correction == "row":
            self.row_step[r] += 1
            t = self.row_step[r]
        else:
            t = self.step_count
        if self.decoupled:
            self.w[r] *= 1 - self.lr * self.wd
        else:
            g = g + self.wd * self.w[r]
        self.m[r] = b1 * self.m[r] + (1 - b1) * g
        self.v[r] = b2 * self.v[r] + (1 - b2) * g * g
        m_hat = self.m[r] / (1 - b1**t)
        self.w[r] -= self.lr * m_hat / (np.sqrt(self.v[r]) / np.sqrt(1 - b2**t) + self.eps)


def batches(V: int, steps: int, n: int, D: int, seed: int = 0, *, low: int = 0):
    """``steps`` (ids (n,), grads (n, D)) pairs with many repeated ids (ids drawn from a small range)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        ids = rng.integers(low, V, size=n)
        ids[: n // 3] = ids[0]  # a heavily repeated id in every batch
        out.append((ids, rng.standard_normal((n, D)).astype(np.float32)))
    return out
