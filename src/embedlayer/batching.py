"""Batching: pad id sequences into tensors, flatten them into bags, group similar lengths.

- ``pad_batch``: ``(B, T)`` ids padded with ``pad_id``, true ``lengths`` and a boolean ``mask``.
- ``to_bags``: flat ids + offsets, the input of ``nn.EmbeddingBag`` / ``F.embedding_bag``.
- ``BucketBatchSampler``: index batches of similar lengths (less padding), reshuffled per epoch
  from an explicit seed; usable as a ``DataLoader(batch_sampler=...)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Sampler

from embedlayer.errors import ConfigError

__all__ = ["Batch", "pad_batch", "to_bags", "BucketBatchSampler"]


@dataclass(frozen=True)
class Batch:
    """A padded batch of id sequences.

    ids:     (B, T) int64, padded with the pad id after each sequence
    lengths: (B,) int64, true lengths after truncation; 0 for an empty sequence (its row is all
             padding and its mask all False: encoders must handle it, e.g. a mean over zero tokens)
    mask:    (B, T) bool, True on real tokens; ``mask.sum(1) == lengths``
    labels:  (B,) int64 or None
    """

    ids: Tensor
    lengths: Tensor
    mask: Tensor
    labels: Tensor | None = None

    def __post_init__(self) -> None:
        if self.ids.dim() != 2:
            raise ConfigError(f"Batch.ids must be (B, T), got shape {tuple(self.ids.shape)}")
        b = self.ids.shape[0]
        if tuple(self.lengths.shape) != (b,) or self.mask.shape != self.ids.shape:
            raise ConfigError(
                f"Batch shapes disagree: ids {tuple(self.ids.shape)}, lengths "
                f"{tuple(self.lengths.shape)}, mask {tuple(self.mask.shape)} (expected (B, T), (B,), (B, T))"
            )
        if self.labels is not None and tuple(self.labels.shape) != (b,):
            raise ConfigError(f"Batch.labels must be (B,) = ({b},), got {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        """Batch size B."""
        return self.ids.shape[0]

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> Batch:
        """The same batch with every tensor on ``device``."""
        labels = None if self.labels is None else self.labels.to(device, non_blocking=non_blocking)
        return Batch(
            self.ids.to(device, non_blocking=non_blocking),
            self.lengths.to(device, non_blocking=non_blocking),
            self.mask.to(device, non_blocking=non_blocking),
            labels,
        )


def _as_list(seq: Sequence[int] | Tensor | np.ndarray) -> list[int]:
    return seq.tolist() if hasattr(seq, "tolist") else list(seq)


def _int_tensor(rows: list[list[int]] | list[int], what: str) -> Tensor:
    """Build an int64 tensor, refusing floats and bools (which ``torch.tensor`` would accept)."""
    try:
        t = torch.tensor(rows)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"{what} must be integers, could not make a tensor: {exc}") from None
    if t.dtype in (torch.bool,) or t.is_floating_point() or t.is_complex():
        raise ConfigError(f"{what} must be integers, got {t.dtype}")
    return t.to(torch.int64)


def pad_batch(
    seqs: Sequence[Sequence[int]],
    *,
    pad_id: int = 0,
    max_len: int | None = None,
    labels: Sequence[int] | None = None,
    truncate: Literal["end", "start"] = "end",
) -> Batch:
    """Pad (and truncate) id sequences into a ``Batch``.

    ``max_len`` truncates longer sequences: ``truncate="end"`` keeps the first ``max_len`` ids,
    ``"start"`` keeps the last ``max_len``. T is the longest length after truncation, at least 1
    (a batch of empty sequences is one column of padding with an all-False mask).

    Raises ``ConfigError`` on an empty batch, ``max_len < 1``, an unknown ``truncate``,
    non-integer ids or labels, or ``len(labels) != len(seqs)``.
    """
    if len(seqs) == 0:
        raise ConfigError("pad_batch needs at least one sequence, got an empty batch")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise ConfigError(f"max_len must be None or an integer >= 1, got {max_len!r}")
    if truncate not in ("end", "start"):
        raise ConfigError(f"truncate must be 'end' or 'start', got {truncate!r}")
    if isinstance(pad_id, bool) or not isinstance(pad_id, int):
        raise ConfigError(f"pad_id must be an integer, got {pad_id!r}")
    rows = [_as_list(s) for s in seqs]
    if max_len is not None:
        if truncate == "end":
            rows = [r[:max_len] if len(r) > max_len else r for r in rows]
        else:
            rows = [r[-max_len:] if len(r) > max_len else r for r in rows]
    lens = [len(r) for r in rows]
    width = max(1, max(lens))
    padded = [r + [pad_id] * (width - n) if n < width else r for r, n in zip(rows, lens)]
    ids = _int_tensor(padded, "token ids")  # (B, T)
    lengths = torch.tensor(lens, dtype=torch.int64)  # (B,)
    mask = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
    label_t = None
    if labels is not None:
        if len(labels) != len(seqs):
            raise ConfigError(f"got {len(labels)} labels for {len(seqs)} sequences (expected one label each)")
        label_t = _int_tensor(_as_list(labels), "labels")  # (B,)
    return Batch(ids, lengths, mask, label_t)


def to_bags(seqs: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    """Flatten sequences for ``F.embedding_bag(ids, weight, offsets)``.

    Returns ``ids`` (N,) int64, all sequences concatenated, and ``offsets`` (B,) int64, where
    bag b is ``ids[offsets[b]:offsets[b+1]]``. An empty sequence is an empty bag (embedding_bag
    gives it a zero vector). Raises ``ConfigError`` on non-integer ids.
    """
    rows = [_as_list(s) for s in seqs]
    offsets = [0] * len(rows)
    total = 0
    for b, r in enumerate(rows):
        offsets[b] = total
        total += len(r)
    flat = [i for r in rows for i in r]
    ids = _int_tensor(flat, "token ids") if flat else torch.zeros(0, dtype=torch.int64)  # (N,)
    return ids, torch.tensor(offsets, dtype=torch.int64)  # (B,)


def _check_pos_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices whose lengths are similar, to cut padding.

    Per epoch (``shuffle=True``): permute all indices with a generator seeded by
    ``(seed, epoch)``, cut the permutation into pools of ``batch_size * bucket_size_multiplier``,
    sort each pool by length, split it into batches, then shuffle the order of the batches.
    Every index appears exactly once per epoch; only the last batch can be smaller (dropped with
    ``drop_last``). ``shuffle=False`` sorts all indices by length (stable) and yields the batches
    in that order, the same every epoch (for evaluation).

    Call ``set_epoch(e)`` before each epoch to get a different, reproducible order.
    Raises ``ConfigError`` on negative lengths or a batch size / multiplier below 1.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size_multiplier: int = 50,
        drop_last: bool = False,
    ) -> None:
        _check_pos_int("batch_size", batch_size)
        _check_pos_int("bucket_size_multiplier", bucket_size_multiplier)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
        lens = np.asarray(lengths if not hasattr(lengths, "tolist") else lengths.tolist())
        if lens.ndim != 1 or (lens.size and (lens.dtype.kind not in "iu" or lens.min() < 0)):
            raise ConfigError(f"lengths must be a sequence of integers >= 0, got {lengths!r:.80}")
        self.lengths = lens.astype(np.int64)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.bucket_size_multiplier = bucket_size_multiplier
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order ``__iter__`` yields (seeded by ``(seed, epoch)``)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ConfigError(f"epoch must be an integer >= 0, got {epoch!r}")
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _batches(self) -> list[np.ndarray]:
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[i : i + bs] for i in range(0, n, bs)]
        rng = np.random.default_rng([self.seed, self.epoch])
        perm = rng.permutation(n)
        pool = bs * self.bucket_size_multiplier  # a multiple of bs: only the last batch can be short
        batches: list[np.ndarray] = []
        for start in range(0, n, pool):
            chunk = perm[start : start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + bs] for i in range(0, len(chunk), bs))
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._batches():
            if self.drop_last and len(batch) < self.batch_size:
                continue
            yield batch.tolist()
