"""Training with the embedding tables sharded over the ranks of a `ShardGroup`.

`fit_sharded` is `embedlayer.train.fit` for a model whose sparse tables (embedlayer `Embedding` /
`EmbeddingBag` with ``sparse=True``) are replaced, for the run, by sharded ones
(`shard_tables`: row-wise, or table-wise when `choose_layout` says so). Every rank builds the same
model from the same seed and goes through the same batches (same order, same global batch); each
takes its slice of every batch. The loss of a slice is its sum over the *global* batch size, so
the gradients summed over the ranks are those of the whole batch: the tables' rows reach their
owners through the sharded layers' backward (the fused row-wise optimizer updates them there);
the dense parameters' gradients are summed by one all-reduce (what DDP does, the tables never
through it) and every rank applies the same Adam step to them. Dev metrics are computed on every
rank over the whole dev set (identical, so early stopping agrees). At the end the best weights
are restored and the full tables gathered back into the model's own layers (`unshard_tables`), so
the model saves as a single-process one does.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from embedlayer.errors import ConfigError, DataError, DistributedError
from embedlayer.layers import Embedding, EmbeddingBag
from embedlayer.train import TrainConfig, TrainResult, evaluate, evaluate_regression
from embedlayer.train.events import EpochEvent, ProgressEvent
from embedlayer.train.optim import clip_dense_grads, lr_factor

__all__ = ["ShardedTables", "fit_sharded", "shard_tables", "slice_batch", "unshard_tables"]


def _sharded_tables(model: nn.Module) -> list[tuple[nn.Module, str, Embedding]]:
    """(parent, attribute, layer) of every trainable sparse embedlayer table of ``model``."""
    found = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, Embedding) and child.sparse and child.weight.requires_grad:
                found.append((parent, name, child))
    return found


@dataclass
class ShardedTables:
    """What `shard_tables` did: the sharded modules, the layout, and where each original layer was."""

    modules: list[nn.Module]
    layout: str
    originals: list[tuple[nn.Module, str, Embedding]]  # (parent, attribute, layer), its weight emptied


def shard_tables(model: nn.Module, group: Any, layout: str = "auto") -> ShardedTables:
    """Replace, in place, the sparse tables of ``model`` by sharded copies of them over ``group``
    (collective; every rank passes the same model). The original layers keep everything but their
    rows (their weight is emptied until `unshard_tables` puts the gathered table back)."""
    from embedlayer.distributed.tablewise import choose_layout, place_tables

    found = _sharded_tables(model)
    if not found:
        raise ConfigError(f"--shard-tables: {type(model).__name__} has no trainable sparse table to shard")
    for _, name, layer in found:
        if layer.max_norm is not None:
            raise ConfigError(f"--shard-tables: table {name!r} has max_norm {layer.max_norm}; expected none")
    shapes = [(int(layer.weight.shape[0]), int(layer.weight.shape[1])) for _, _, layer in found]
    chosen = choose_layout(shapes, group.world_size, layout)
    owners: list[int | None] = (
        list(place_tables(shapes, group.world_size)) if chosen == "table" else [None] * len(found)
    )
    modules: list[nn.Module] = []
    for (parent, name, layer), owner in zip(found, owners):
        sharded = _sharded_copy(layer, group, owner)
        layer.weight.data = layer.weight.data.new_empty(0, layer.weight.shape[1])  # this rank keeps its rows only
        setattr(parent, name, sharded)
        modules.append(sharded)
    return ShardedTables(modules, chosen, found)


def _sharded_copy(layer: Embedding, group: Any, owner: int | None) -> nn.Module:
    """``layer`` as a row-wise sharded table (``owner`` None) or held whole by rank ``owner``."""
    from embedlayer.distributed import ShardedEmbedding, ShardedEmbeddingBag
    from embedlayer.distributed.tablewise import whole_table

    weight = layer.weight.detach()
    bag = isinstance(layer, EmbeddingBag)
    extra: dict[str, Any] = {"mode": layer.mode, "include_last_offset": layer.include_last_offset} if bag else {}
    if owner is not None:
        return whole_table(weight, group, owner, padding_idx=layer.padding_idx, bag=bag, **extra)
    cls = ShardedEmbeddingBag if bag else ShardedEmbedding
    return cls.from_full(weight, group, padding_idx=layer.padding_idx, **extra)


def unshard_tables(model: nn.Module, placed: ShardedTables) -> None:
    """Put the original layers back in ``model``, holding the full tables gathered from every rank
    (collective)."""
    for (parent, name, layer), sharded in zip(placed.originals, placed.modules):
        full = sharded.full_weight().detach()  # type: ignore[operator]  # (N, D)
        layer.weight.data = full.to(layer.weight.dtype).contiguous()
        setattr(parent, name, layer)


def slice_batch(batch: Any, rank: int, world_size: int) -> Any:
    """Rank ``rank``'s contiguous part of ``batch`` (sizes differ by at most one): a tabular batch
    (``inputs`` and ``labels``) or a dataclass batch of tensors with the examples first."""
    n = len(batch)
    lo, hi = n * rank // world_size, n * (rank + 1) // world_size
    if hasattr(batch, "inputs"):
        return type(batch)(tuple(x[lo:hi] for x in batch.inputs), None if batch.labels is None else batch.labels[lo:hi])
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        cut = {
            f.name: v[lo:hi] if isinstance(v := getattr(batch, f.name), Tensor) and v.dim() and len(v) == n else v
            for f in dataclasses.fields(batch)
        }
        return dataclasses.replace(batch, **cut)
    raise ConfigError(f"--shard-tables: cannot split a {type(batch).__name__} batch between ranks")


def _loss_sum(logits: Tensor, labels: Tensor) -> Tensor:
    """Summed cross-entropy (int64 labels) or squared error of ``logits[:, 0]`` (float targets), as `fit`'s."""
    if labels.is_floating_point():
        return F.mse_loss(logits[:, 0].float(), labels.float(), reduction="sum")
    return F.cross_entropy(logits.float(), labels, reduction="sum")


def _all_reduce(group: Any, tensor: Tensor) -> Tensor:
    """Sum of ``tensor`` over the ranks, in place (one process: unchanged)."""
    if group.world_size > 1:
        import torch.distributed as dist

        moved = tensor.to(group.device)  # NCCL: through the GPU and back
        try:
            dist.all_reduce(moved, group=group.process_group)
            tensor.copy_(moved)
        except RuntimeError as exc:
            raise DistributedError(
                f"rank {group.rank} of {group.world_size}: all_reduce of the dense gradients failed: "
                f"{str(exc).strip()[:300]}; expected every rank to reach the same step (another rank died, "
                f"left or timed out)"
            ) from exc
    return tensor


def _sum_dense_grads(group: Any, params: Sequence[Tensor], loss: Tensor) -> float:
    """Sum the dense gradients and the slice losses over the ranks (one flat all-reduce);
    returns the global batch loss."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([loss.detach().reshape(1).float(), *(g.reshape(-1).float() for g in grads)])
    _all_reduce(group, flat)
    offset = 1
    for p in params:
        part = flat[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
        if p.grad is None:
            p.grad = part.to(p.dtype).clone()
        else:
            p.grad.copy_(part)
    return float(flat[0])


def _dev_metrics(model: nn.Module, dev_batches: Iterable[Any]) -> dict[str, float]:
    first = next(iter(dev_batches), None)
    regression = first is not None and first.labels is not None and first.labels.is_floating_point()
    return (evaluate_regression if regression else evaluate)(model, dev_batches).metrics()


def _snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit_sharded(
    model: nn.Module,
    train_batches: Callable[[int], Sequence[Any]],
    dev_batches: Sequence[Any] | None,
    cfg: TrainConfig,
    *,
    group: Any,
    layout: str = "auto",
    progress: Callable[[Any], None] | None = None,
) -> TrainResult:
    """Train ``model`` with its sparse tables sharded over ``group`` (see the module docstring).

    ``train_batches(epoch)`` must give every rank the same global batches (seeded by epoch).
    The LR schedule, clipping of the dense gradients, early stopping on ``dev_batches`` and the
    best weights follow ``embedlayer.train.fit``; checkpoints and resume are not supported.
    The model leaves with plain, full tables on every rank. Collective."""
    from embedlayer.distributed import dense_parameters, make_sharded_optimizer

    if cfg.class_weights is not None:
        raise ConfigError("--shard-tables with class weights: not supported yet; expected unweighted classes")
    train_batches = _batch_norm_safe(model, train_batches, cfg, group.world_size)
    placed = shard_tables(model, group, layout)
    modules = placed.modules
    rows = None
    try:
        dense = [p for p in dense_parameters(model) if p.requires_grad]
        emb_lr = cfg.embedding_lr if cfg.embedding_lr is not None else cfg.lr
        rows = make_sharded_optimizer(
            cfg.sparse_optimizer or "adam", modules, lr=emb_lr, weight_decay=cfg.embedding_weight_decay
        )
        opts: list[Any] = [rows]
        if dense:
            cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
            opts.insert(0, cls(dense, lr=cfg.lr, weight_decay=cfg.weight_decay))
        for opt in opts:
            for g in opt.param_groups:
                g["initial_lr"] = g["lr"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed + group.rank)
            result = _run(model, opts, dense, train_batches, dev_batches, cfg, group, progress)
    finally:
        if rows is not None:
            rows.unbind()
    unshard_tables(model, placed)  # not after a failure: the other ranks may be gone
    return result


def _batch_norm_safe(model: nn.Module, train_batches: Callable[[int], Sequence[Any]], cfg: TrainConfig, world: int):
    """``train_batches`` whose every batch gives each of ``world`` ranks at least 2 rows when the
    model has batch norm (a last batch too small joins the one before; a slice of one row cannot
    train batch norm, and an empty one would make its running statistics NaN)."""
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return train_batches
    if cfg.batch_size < 2 * world:
        raise ConfigError(
            f"--batch-size {cfg.batch_size} with --shard-tables over {world} processes: batch norm needs at least "
            f"2 rows of every batch on each process; expected a batch size >= {2 * world}"
        )

    def merged(epoch: int) -> Sequence[Any]:
        batches = list(train_batches(epoch))
        if len(batches) > 1 and len(batches[-1]) < 2 * world and hasattr(batches[-1], "inputs"):
            a, b = batches[-2], batches.pop()
            inputs = tuple(torch.cat([x, y]) for x, y in zip(a.inputs, b.inputs))
            batches[-1] = type(a)(inputs, None if a.labels is None else torch.cat([a.labels, b.labels]))
        return batches

    return merged


def _run(model, opts, dense, train_batches, dev_batches, cfg, group, progress) -> TrainResult:
    total = cfg.epochs * len(train_batches(0))
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Tensor]] | None = None
    bad, step, stopped = 0, 0, False
    for epoch in range(cfg.epochs):
        started = time.perf_counter()
        model.train()
        batches = train_batches(epoch)
        if len(batches) == 0:
            raise DataError(f"train_batches({epoch}) gave no batches; expected at least one")
        loss_sum, seen, lr = 0.0, 0, 0.0
        for i, batch in enumerate(batches):
            factor = lr_factor(step, total, cfg.schedule, cfg.warmup_steps)
            for opt in opts:
                for g in opt.param_groups:
                    g["lr"] = g["initial_lr"] * factor
                opt.zero_grad()
            lr = opts[0].param_groups[0]["lr"]
            part = slice_batch(batch, group.rank, group.world_size)
            logits = model(*part.inputs) if hasattr(part, "inputs") else model(part.ids, part.lengths, part.mask)
            loss = _loss_sum(logits, part.labels) / len(batch)
            loss.backward()
            batch_loss = _sum_dense_grads(group, dense, loss)
            if cfg.clip_norm is not None:
                clip_dense_grads(dense, cfg.clip_norm)
            for opt in opts:
                opt.step()
            step += 1
            loss_sum += batch_loss * len(batch)
            seen += len(batch)
            if progress is not None:
                rate = seen / max(time.perf_counter() - started, 1e-9)
                progress(ProgressEvent(epoch, i, len(batches), step, loss_sum / seen, rate, lr))
        record: dict[str, Any] = {"epoch": epoch, "train_loss": loss_sum / seen, "lr": lr}
        dev, is_best = None, False
        if dev_batches is not None:
            dev = _dev_metrics(model, dev_batches)
            record.update({f"dev_{k}": v for k, v in dev.items()})
            score = dev["accuracy"] if "accuracy" in dev else -dev["rmse"]
            is_best = best is None or score > best[0]
            if is_best:
                best, bad = (score, epoch, _snapshot(model)), 0
            else:
                bad += 1
        history.append(record)
        if progress is not None:
            progress(
                EpochEvent(
                    epoch,
                    loss_sum / seen,
                    dev,
                    lr,
                    is_best,
                    best and best[1],
                    best and best[0],
                    time.perf_counter() - started,
                )
            )
        if cfg.patience is not None and dev is not None and bad >= cfg.patience:
            stopped = True
            break
    if best is not None:
        model.load_state_dict(best[2])
    return TrainResult(
        history=tuple(history),
        best_epoch=None if best is None else best[1],
        best_accuracy=None if best is None else best[0],
        epochs_run=len(history),
        stopped_early=stopped,
        global_step=step,
    )
