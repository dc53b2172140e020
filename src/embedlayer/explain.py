"""What an embedding layer is, measured: the library side of ``embedlayer explain``.

Three pure functions, each returning a JSON-able dict (the CLI prints them):

* ``onehot_equivalence``: a lookup equals ``one_hot(ids, V) @ W``: same outputs, same weight
  gradient;
* ``cost_comparison``: what the one-hot form would cost: time of forward+backward, bytes of the
  one-hot input and of a dense versus a sparse weight gradient;
* ``sparse_step_rows``: one SGD step with sparse gradients moves exactly the rows in the batch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from embedlayer.errors import ConfigError
from embedlayer.layers.embedding import Embedding

__all__ = ["onehot_equivalence", "cost_comparison", "sparse_step_rows", "MAX_ONEHOT_ELEMENTS"]

#: The largest one-hot input ``cost_comparison`` builds: 2**26 float32 values = 256 MiB. A bigger
#: (batch x V) product would take gigabytes and seconds per repeat (100k x 4096 is 1.6 GB), so the
#: batch is reduced for that vocabulary size and the row says so (``batch_reduced``).
MAX_ONEHOT_ELEMENTS = 1 << 26


def onehot_equivalence(V: int, D: int, n_ids: int, seed: int = 0) -> dict[str, Any]:
    """Compare ``F.embedding(ids, W)`` with ``one_hot(ids, V).float() @ W`` for random W (V, D),
    ids (n_ids,) and upstream gradient (n_ids, D), all drawn from ``seed``.

    Returns:
        ``{"V", "D", "n_ids", "seed", "max_abs_diff_output", "max_abs_diff_grad",
        "lookup_multiply_adds": 0, "onehot_multiply_adds": n_ids*V*D}``.

    Raises:
        ConfigError: a size that is not a positive int, or a non-int seed.
    """
    _check_sizes(V=V, D=D, n_ids=n_ids)
    generator = _generator(seed)
    weight = torch.randn(V, D, generator=generator)  # (V, D)
    ids = torch.randint(V, (n_ids,), generator=generator)  # (n,)
    upstream = torch.randn(n_ids, D, generator=generator)  # (n, D)

    w_lookup = weight.clone().requires_grad_(True)
    out_lookup = F.embedding(ids, w_lookup)  # (n, D)
    out_lookup.backward(upstream)

    w_dense = weight.clone().requires_grad_(True)
    out_dense = F.one_hot(ids, V).float() @ w_dense  # (n, V) @ (V, D) -> (n, D)
    out_dense.backward(upstream)

    return {
        "V": V,
        "D": D,
        "n_ids": n_ids,
        "seed": seed,
        "max_abs_diff_output": float((out_lookup - out_dense).detach().abs().max()),
        "max_abs_diff_grad": float((_grad(w_lookup) - _grad(w_dense)).abs().max()),
        "lookup_multiply_adds": 0,
        "onehot_multiply_adds": n_ids * V * D,
    }


def cost_comparison(
    vocab_sizes: Sequence[int] = (1_000, 10_000, 100_000),
    D: int = 128,
    batch: int = 4096,
    seed: int = 0,
    *,
    repeats: int = 3,
    max_onehot_elements: int = MAX_ONEHOT_ELEMENTS,
) -> list[dict[str, Any]]:
    """Forward+backward cost of a lookup versus the one-hot matmul, per vocabulary size.

    Times are the median of ``repeats`` runs (after one warm-up) measured with
    ``time.perf_counter``; the one-hot time includes building the one-hot matrix. Byte counts
    are ``element_size() * nelement()`` of the tensors actually built. When ``batch * V`` exceeds
    ``max_onehot_elements`` the batch for that size is reduced to fit (``batch_reduced`` True,
    ``onehot_input_bytes_requested`` gives the full-batch size analytically). The default call
    runs in a few seconds on 2 CPU cores.

    Returns:
        one dict per V: ``vocab_size, embedding_dim, batch_requested, batch, batch_reduced,
        lookup_seconds, lookup_sparse_seconds, onehot_seconds, speedup, onehot_input_bytes,
        onehot_input_bytes_requested, dense_grad_bytes, sparse_grad_bytes, output_bytes,
        onehot_multiply_adds, repeats``.

    Raises:
        ConfigError: a size or count that is not a positive int.
    """
    _check_sizes(D=D, batch=batch, repeats=repeats, max_onehot_elements=max_onehot_elements)
    if not vocab_sizes:
        raise ConfigError("vocab_sizes is empty; expected at least one vocabulary size")
    for V in vocab_sizes:
        _check_sizes(vocab_size=V)
    generator = _generator(seed)
    return [_cost_row(V, D, batch, repeats, max_onehot_elements, generator) for V in vocab_sizes]


def _cost_row(
    V: int, D: int, batch: int, repeats: int, max_elements: int, generator: torch.Generator
) -> dict[str, Any]:
    used = min(batch, max(1, max_elements // V))
    weight = torch.randn(V, D, generator=generator).requires_grad_(True)  # (V, D)
    ids = torch.randint(V, (used,), generator=generator)  # (B,)
    upstream = torch.randn(used, D, generator=generator)  # (B, D)
    sizes: dict[str, int] = {}

    def lookup(sparse: bool) -> None:
        weight.grad = None
        F.embedding(ids, weight, sparse=sparse).backward(upstream)  # (B, D)
        grad = _grad(weight)
        if sparse:
            sizes["sparse_grad"] = _nbytes(grad._indices()) + _nbytes(grad._values())
        else:
            sizes["dense_grad"] = _nbytes(grad)

    def onehot() -> None:
        weight.grad = None
        x = F.one_hot(ids, V).float()  # (B, V)
        out = x @ weight  # (B, D)
        out.backward(upstream)
        sizes["onehot"], sizes["output"] = _nbytes(x), _nbytes(out)
        del x, out

    t_lookup = _median_time(lambda: lookup(False), repeats)
    t_sparse = _median_time(lambda: lookup(True), repeats)
    t_onehot = _median_time(onehot, repeats)
    return {
        "vocab_size": V,
        "embedding_dim": D,
        "batch_requested": batch,
        "batch": used,
        "batch_reduced": used < batch,
        "lookup_seconds": t_lookup,
        "lookup_sparse_seconds": t_sparse,
        "onehot_seconds": t_onehot,
        "speedup": t_onehot / t_lookup if t_lookup > 0 else float("inf"),
        "onehot_input_bytes": sizes["onehot"],
        "onehot_input_bytes_requested": batch * V * torch.finfo(torch.float32).bits // 8,
        "dense_grad_bytes": sizes["dense_grad"],
        "sparse_grad_bytes": sizes["sparse_grad"],
        "output_bytes": sizes["output"],
        "onehot_multiply_adds": 2 * used * V * D,  # forward x @ W plus backward x.T @ upstream
        "repeats": repeats,
    }


def sparse_step_rows(V: int, D: int, ids: Sequence[int] | Tensor, lr: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """One SGD step on an ``Embedding(V, D, sparse=True)`` (no padding row) with a random
    upstream gradient; which rows of the weight changed?

    Returns:
        ``{"V", "D", "ids", "rows_in_batch", "rows_changed", "equal", "grad_rows_stored"}``:
        sorted unique ids of the batch, sorted rows whose value changed (bit-exact comparison),
        whether the two are the same, and the number of rows the sparse gradient stores
        (one per id occurrence, before coalescing).

    Raises:
        ConfigError: bad sizes, ``lr`` not positive, or ``ids`` empty/not integers.
        IdOutOfRangeError: an id outside [0, V).
    """
    _check_sizes(V=V, D=D)
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0):
        raise ConfigError(f"lr must be a positive number, got {lr!r}")
    id_tensor = ids if isinstance(ids, Tensor) else _as_id_tensor(ids)
    if id_tensor.numel() == 0:
        raise ConfigError("ids is empty; expected at least one id")
    generator = _generator(seed)
    layer = Embedding(V, D, padding_idx=None, sparse=True, generator=generator)
    before = layer.weight.detach().clone()  # (V, D)
    out = layer(id_tensor)  # (..., D)
    out.backward(torch.randn(out.shape, generator=generator))
    grad_rows = int(_grad(layer.weight)._values().shape[0])
    torch.optim.SGD(layer.parameters(), lr=lr).step()
    changed = torch.nonzero((layer.weight.detach() != before).any(dim=1)).flatten().tolist()
    in_batch = sorted(set(id_tensor.flatten().tolist()))
    return {
        "V": V,
        "D": D,
        "ids": id_tensor.flatten().tolist(),
        "rows_in_batch": in_batch,
        "rows_changed": changed,
        "equal": changed == in_batch,
        "grad_rows_stored": grad_rows,
    }


def _as_id_tensor(ids: Sequence[int]) -> Tensor:
    values = list(ids)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in values):
        raise ConfigError(f"ids must be ints, got {values[:10]!r}")
    return torch.tensor(values, dtype=torch.long)


def _median_time(fn: Callable[[], None], repeats: int) -> float:
    fn()  # warm-up: allocator, kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _grad(t: Tensor) -> Tensor:
    """``t.grad`` after a backward pass that reached ``t`` (always set there: an internal invariant)."""
    assert t.grad is not None
    return t.grad


def _nbytes(t: Tensor) -> int:
    return t.element_size() * t.nelement()


def _generator(seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    return torch.Generator().manual_seed(seed)


def _check_sizes(**sizes: object) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive int, got {value!r}")
