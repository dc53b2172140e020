from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from embedlayer.batching import Batch, BucketBatchSampler, pad_batch, to_bags
from embedlayer.errors import ConfigError


def test_pad_batch_values() -> None:
    b = pad_batch([[5, 6, 7], [8], []], pad_id=0, labels=[1, 0, 2])
    assert b.ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert b.lengths.tolist() == [3, 1, 0]
    assert b.mask.tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    assert b.labels is not None and b.labels.tolist() == [1, 0, 2]
    assert b.ids.dtype == b.lengths.dtype == b.labels.dtype == torch.int64 and b.mask.dtype == torch.bool
    assert len(b) == 3


def test_pad_batch_truncate_end_and_start() -> None:
    seqs = [list(range(1, 8)), [9, 9]]
    end = pad_batch(seqs, pad_id=-1, max_len=3)
    assert end.ids.tolist() == [[1, 2, 3], [9, 9, -1]]
    start = pad_batch(seqs, pad_id=-1, max_len=3, truncate="start")
    assert start.ids.tolist() == [[5, 6, 7], [9, 9, -1]]
    assert end.lengths.tolist() == start.lengths.tolist() == [3, 2]


def test_all_empty_batch_has_one_column() -> None:
    b = pad_batch([[], []], pad_id=3)
    assert b.ids.tolist() == [[3], [3]] and b.lengths.tolist() == [0, 0] and not b.mask.any()


def test_mask_matches_lengths_random() -> None:
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 50, size=rng.integers(0, 30)).tolist() for _ in range(40)]
    b = pad_batch(seqs, max_len=20, truncate="start")
    assert torch.equal(b.mask.sum(1), b.lengths)
    for row, seq, n in zip(b.ids.tolist(), seqs, b.lengths.tolist()):
        kept = seq[-20:] if len(seq) > 20 else seq
        assert n == len(kept) and row[:n] == kept and all(x == 0 for x in row[n:])


def test_accepts_tensors_and_arrays() -> None:
    b = pad_batch([torch.tensor([1, 2]), np.array([3])])
    assert b.ids.tolist() == [[1, 2], [3, 0]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_len": 0}, "max_len"),
        ({"truncate": "middle"}, "truncate"),
        ({"labels": [1]}, "1 labels for 2"),
        ({"labels": [0.5, 1.0]}, "labels must be integers"),
        ({"pad_id": 1.0}, "pad_id"),
    ],
)
def test_pad_batch_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        pad_batch([[1], [2, 3]], **kwargs)


def test_pad_batch_rejects_float_ids_and_empty() -> None:
    with pytest.raises(ConfigError, match="token ids must be integers"):
        pad_batch([[1.5, 2.0]])
    with pytest.raises(ConfigError, match="empty batch"):
        pad_batch([])


def test_batch_to_device_and_shape_check() -> None:
    b = pad_batch([[1, 2]], labels=[0]).to("cpu")
    assert isinstance(b, Batch) and b.ids.device.type == "cpu"
    with pytest.raises(ConfigError, match="shapes disagree"):
        Batch(
            torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.bool)
        )


def test_to_bags_matches_embedding_bag_mean() -> None:
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(20, 4, generator=g)
    seqs = [[1, 2, 3], [], [4], [5, 5, 19, 0]]
    ids, offsets = to_bags(seqs)
    assert ids.tolist() == [1, 2, 3, 4, 5, 5, 19, 0] and offsets.tolist() == [0, 3, 3, 4]
    got = F.embedding_bag(ids, weight, offsets, mode="mean")  # (B, D)
    for b, seq in enumerate(seqs):
        expected = weight[seq].mean(0) if seq else torch.zeros(4)
        assert torch.allclose(got[b], expected, atol=1e-6)


def test_to_bags_all_empty() -> None:
    ids, offsets = to_bags([[], []])
    assert ids.shape == (0,) and ids.dtype == torch.int64 and offsets.tolist() == [0, 0]


def _flat(batches: list[list[int]]) -> list[int]:
    return sorted(i for b in batches for i in b)


def test_bucket_sampler_covers_each_index_once() -> None:
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 100, size=1003).tolist()
    s = BucketBatchSampler(lengths, 16, seed=3, bucket_size_multiplier=10)
    batches = list(s)
    assert len(batches) == len(s) == 63
    assert _flat(batches) == list(range(1003))
    assert sum(len(b) < 16 for b in batches) == 1
    s_drop = BucketBatchSampler(lengths, 16, seed=3, bucket_size_multiplier=10, drop_last=True)
    kept = list(s_drop)
    assert len(kept) == len(s_drop) == 62 and all(len(b) == 16 for b in kept)


def test_bucket_sampler_groups_similar_lengths() -> None:
    rng = np.random.default_rng(2)
    lengths = np.array(rng.integers(1, 200, size=2000))
    batches = list(BucketBatchSampler(lengths.tolist(), 32, seed=0, bucket_size_multiplier=50))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    random_batches = np.array_split(rng.permutation(2000), len(batches))
    padded_random = sum(len(b) * lengths[b].max() for b in random_batches)
    assert padded < 0.7 * padded_random  # bucketing removes most of the padding
    # each batch spans a small slice of the length range
    assert np.mean([np.ptp(lengths[b]) for b in batches]) < 20


def test_bucket_sampler_deterministic_per_epoch() -> None:
    lengths = list(range(100)) * 3
    a = BucketBatchSampler(lengths, 8, seed=7, bucket_size_multiplier=4)
    b = BucketBatchSampler(lengths, 8, seed=7, bucket_size_multiplier=4)
    assert list(a) == list(b) and list(a) == list(a)
    epoch0 = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b) != epoch0
    assert _flat(list(a)) == list(range(300))
    assert list(BucketBatchSampler(lengths, 8, seed=8, bucket_size_multiplier=4)) != epoch0


def test_bucket_sampler_no_shuffle_sorts() -> None:
    lengths = [5, 1, 4, 1, 3]
    s = BucketBatchSampler(lengths, 2, shuffle=False)
    assert list(s) == [[1, 3], [4, 2], [0]]
    s.set_epoch(5)
    assert list(s) == [[1, 3], [4, 2], [0]]


def test_bucket_sampler_with_dataloader() -> None:
    data = [[1] * n for n in [3, 1, 2, 5, 4]]
    loader = torch.utils.data.DataLoader(
        data, batch_sampler=BucketBatchSampler([len(x) for x in data], 2, seed=0), collate_fn=lambda xs: pad_batch(xs)
    )
    assert sum(int(b.lengths.sum()) for b in loader) == 15


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1, 2], 0), {}, "batch_size"),
        (([1, -2], 2), {}, "lengths"),
        (([1, 2], 2), {"bucket_size_multiplier": 0}, "multiplier"),
        (([1.5], 2), {}, "lengths"),
        (([1], 2), {"seed": -1}, "seed"),
    ],
)
def test_bucket_sampler_errors(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BucketBatchSampler(*args, **kwargs)
    with pytest.raises(ConfigError, match="epoch"):
        BucketBatchSampler([1], 1).set_epoch(-1)
