"""Optimizers, learning-rate schedule and gradient clipping for ``fit``.

Embedding tables with sparse gradients go to ``torch.optim.SparseAdam``: it updates only the rows
present in a batch (weights and both Adam moments of every other row stay bit-identical), which is
what makes large vocabularies cheap. With ``TrainConfig.sparse_optimizer`` they go instead to one
of embedlayer.sparse's row-wise optimizers, bound to the tables (``bind()``): their rows are
updated at the end of ``backward()`` (no gradient tensor at all; ``step()`` has nothing left to do
for them), until :func:`unbind_row_optimizers`. Everything else trainable goes to one Adam/AdamW.
Frozen parameters (``requires_grad=False``) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.layers.embedding import Embedding
from embedlayer.train.config import TrainConfig

__all__ = [
    "build_optimizers",
    "clip_dense_grads",
    "embedding_parameters",
    "lr_factor",
    "set_lr",
    "sparse_tables",
    "unbind_row_optimizers",
]

_EMBEDDING_TYPES = (Embedding, nn.Embedding, nn.EmbeddingBag)


def embedding_parameters(model: nn.Module) -> tuple[list[Tensor], list[Tensor]]:
    """(sparse, dense) trainable weights of the embedding tables in ``model``.

    A table counts as sparse when the module has ``sparse=True`` (embedlayer's Embedding,
    ``nn.Embedding``, ``nn.EmbeddingBag``)."""
    sparse: list[Tensor] = []
    dense: list[Tensor] = []
    seen: set[int] = set()
    for module in model.modules():
        if not isinstance(module, _EMBEDDING_TYPES):
            continue
        weight = module.weight
        if not weight.requires_grad or id(weight) in seen:
            continue
        seen.add(id(weight))
        (sparse if getattr(module, "sparse", False) else dense).append(weight)
    return sparse, dense


def sparse_tables(model: nn.Module) -> list[nn.Module]:
    """The trainable embedding modules of ``model`` with ``sparse=True``, each table once."""
    tables: list[nn.Module] = []
    seen: set[int] = set()
    for module in model.modules():
        if isinstance(module, _EMBEDDING_TYPES) and getattr(module, "sparse", False):
            weight = module.weight
            if weight.requires_grad and id(weight) not in seen:
                seen.add(id(weight))
                tables.append(module)
    return tables


def _row_optimizer(model: nn.Module, name: str, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    from embedlayer.sparse.optimizers import make_sparse_optimizer

    tables = sparse_tables(model)
    foreign = [type(t).__name__ for t in tables if not isinstance(t, Embedding)]
    if foreign:
        raise ConfigError(
            f"sparse_optimizer={cfg.sparse_optimizer!r} trains embedlayer.layers.Embedding/EmbeddingBag "
            f"tables; the model has {', '.join(foreign)} (use SparseAdam: sparse_optimizer=None)"
        )
    return make_sparse_optimizer(name, tables, lr=lr, weight_decay=cfg.embedding_weight_decay).bind()


def unbind_row_optimizers(optimizers: Iterable[torch.optim.Optimizer]) -> None:
    """Unbind the row-wise optimizers among ``optimizers`` (``build_optimizers`` bound them): the
    tables go back to plain autograd lookups, and stop holding the optimizers (and their state)."""
    for opt in optimizers:
        unbind = getattr(opt, "unbind", None)
        if unbind is not None:
            unbind()


def build_optimizers(model: nn.Module, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
    """Optimizers for the trainable parameters of ``model``.

    Returns ``[dense]`` or ``[dense, sparse]`` (an entry is left out when it would be empty):
    - dense: Adam/AdamW (``cfg.optimizer``) with ``cfg.lr`` and ``cfg.weight_decay``; dense
      embedding tables form their own group with ``cfg.embedding_lr`` (default ``cfg.lr``);
    - sparse: SparseAdam with ``cfg.embedding_lr`` (default ``cfg.lr``) for sparse tables, or
      the row-wise optimizer ``cfg.sparse_optimizer``, bound to the tables (see above; call
      :func:`unbind_row_optimizers` when done).
    Each param group records its peak rate as ``initial_lr`` for :func:`set_lr`.
    Raises ConfigError when nothing is trainable, or when ``cfg.sparse_optimizer`` is set and the
    trainable tables all have dense gradients (``sparse=False``).
    """
    sparse, dense_emb = embedding_parameters(model)
    emb_ids = {id(p) for p in sparse + dense_emb}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in emb_ids]
    emb_lr = cfg.embedding_lr if cfg.embedding_lr is not None else cfg.lr
    optimizers: list[torch.optim.Optimizer] = []
    groups = [g for g in ({"params": rest, "lr": cfg.lr}, {"params": dense_emb, "lr": emb_lr}) if g["params"]]
    if groups:
        cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        optimizers.append(cls(groups, lr=cfg.lr, weight_decay=cfg.weight_decay))
    if sparse and cfg.sparse_optimizer is not None:
        optimizers.append(_row_optimizer(model, cfg.sparse_optimizer, cfg, emb_lr))
    elif sparse:
        optimizers.append(torch.optim.SparseAdam(sparse, lr=emb_lr))
    elif cfg.sparse_optimizer is not None and dense_emb:
        raise ConfigError(
            f"sparse_optimizer={cfg.sparse_optimizer!r} trains tables with sparse=True, but the trainable "
            f"embedding tables of {type(model).__name__} have dense gradients; build them with sparse=True "
            f"(the CLI's default, without --dense-grad)"
        )
    if not optimizers:
        raise ConfigError(f"build_optimizers: {type(model).__name__} has no trainable parameters (all frozen?)")
    for opt in optimizers:
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
    return optimizers


def lr_factor(step: int, total_steps: int, schedule: str, warmup_steps: int = 0) -> float:
    """Multiplier of the peak rate for optimizer step ``step`` (0-based) of ``total_steps``.

    Warmup rises linearly: (step + 1) / warmup_steps. After it, with progress
    p = (step - warmup) / (total - warmup) in [0, 1): "constant" 1, "linear" 1 - p,
    "cosine" (1 + cos(pi p)) / 2 -- so the last step still has a small positive rate.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ConfigError(f"lr schedule: expected 'constant', 'linear' or 'cosine', got {schedule!r}")


def set_lr(optimizers: Sequence[torch.optim.Optimizer], factor: float) -> None:
    """Set every group's ``lr`` to ``initial_lr * factor``."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * factor


def clip_dense_grads(params: Iterable[nn.Parameter], max_norm: float) -> float:
    """Clip the global L2 norm of the dense gradients among ``params`` to ``max_norm``; returns the
    norm before clipping. Sparse gradients are skipped: ``clip_grad_norm_`` raises
    NotImplementedError on them (no ``linalg_vector_norm`` for the sparse backend, torch 2.13)."""
    dense = [p for p in params if p.grad is not None and not p.grad.is_sparse]
    if not dense:
        return 0.0
    return float(torch.nn.utils.clip_grad_norm_(dense, max_norm))
