"""Compact storage: row-wise int8 quantisation and float16/bfloat16 tables, and what they cost."""

from itertools import islice

import numpy as np
import pytest
import torch

from embedlayer.errors import ConfigError
from embedlayer.layers import Embedding
from embedlayer.sparse import QuantizedEmbedding, dequantize_rows, quantize_rows
from embedlayer.sparse.quant import neighbour_recall
from embedlayer.text import read_examples
from embedlayer.vectors import load_vectors


def test_error_is_at_most_half_a_step_of_each_row_and_constant_rows_are_exact():
    weight = torch.randn(300, 40, generator=torch.Generator().manual_seed(0)) * torch.linspace(0.01, 10, 300)[:, None]
    weight[0] = 0
    weight[1] = 2.5
    codes, scale, offset = quantize_rows(weight)
    assert codes.dtype == torch.uint8 and scale.shape == offset.shape == (300,)
    assert torch.allclose(offset, weight.min(dim=1).values)
    assert torch.allclose(scale, (weight.max(dim=1).values - weight.min(dim=1).values) / 255)
    error = (dequantize_rows(codes, scale, offset) - weight).abs().max(dim=1).values
    assert bool((error <= scale / 2 + 1e-6 * weight.abs().max(dim=1).values).all())
    assert (codes.amin(dim=1)[2:] == 0).all() and (codes.amax(dim=1)[2:] == 255).all()  # full range used
    q = QuantizedEmbedding(codes, scale, offset, padding_idx=0)
    assert torch.equal(q(torch.tensor([0, 1])), torch.stack([torch.zeros(40), torch.full((40,), 2.5)]))
    assert torch.equal(q(torch.tensor([[5, 7]])), dequantize_rows(codes, scale, offset)[[5, 7]].unsqueeze(0))
    assert q.nbytes == 300 * 40 + 300 * 8


def test_quantised_layer_round_trips_through_state_dict_and_refuses_nan():
    layer = QuantizedEmbedding.from_embedding(Embedding(20, 4, generator=torch.Generator().manual_seed(1)))
    again = QuantizedEmbedding(torch.zeros(20, 4, dtype=torch.uint8), torch.zeros(20), torch.zeros(20))
    again.load_state_dict(layer.state_dict())
    assert torch.equal(again.dequantize(), layer.dequantize())
    bad = torch.zeros(3, 2)
    bad[1, 0] = float("nan")
    with pytest.raises(ConfigError, match="row 1 has a NaN"):
        quantize_rows(bad)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_storage_layer_returns_float32_rows_rounded_from_the_float32_draw(dtype):
    full = Embedding(50, 8, generator=torch.Generator().manual_seed(3))
    half = Embedding(50, 8, dtype=dtype, generator=torch.Generator().manual_seed(3))
    assert half.weight.dtype == dtype and half.weight.element_size() == 2
    assert torch.equal(half.weight, full.weight.detach().to(dtype))
    rows = half(torch.tensor([1, 2]))
    assert rows.dtype == torch.float32 and torch.equal(rows, full.weight.detach()[[1, 2]].to(dtype).float())
    assert "dtype=" in repr(half)
    with pytest.raises(ConfigError, match="dtype must be"):
        Embedding(5, 2, dtype=torch.int8)


def test_neighbour_recall_on_glove_rows(shared_data):
    vectors = load_vectors(shared_data / "vectors" / "glove.6B.50d.top20k.txt", limit=3000)
    exact = torch.from_numpy(np.array(vectors.matrix))
    queries = torch.arange(0, 3000, 15)
    int8 = QuantizedEmbedding.from_weight(exact).dequantize()
    assert neighbour_recall(exact, exact.clone(), queries) == 1.0
    assert neighbour_recall(exact, int8, queries) >= 0.97  # measured 0.989 on 5,000 rows
    assert neighbour_recall(exact, exact.half().float(), queries) >= 0.995
    assert neighbour_recall(exact, exact.bfloat16().float(), queries) >= 0.98
    assert neighbour_recall(exact, torch.randn_like(exact), queries) < 0.05  # the measure can fail


@pytest.mark.slow
def test_trained_classifier_keeps_its_accuracy_with_int8_rows(shared_data):
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
    from embedlayer.train import TrainConfig

    folder = shared_data / "classification"
    train = list(islice(read_examples(folder / "sst2_train.tsv", text_col="sentence", label_col="label"), 8000))
    test = list(read_examples(folder / "sst2_test.tsv", text_col="sentence", label_col="label"))
    pipeline = TextClassificationPipeline.build(
        train,
        PipelineConfig(
            tokenizer="whitespace", embedding_dim=32, encoder=EncoderConfig(kind="bag"), dropout=0.0, seed=0
        ),
    )
    pipeline.fit(
        train,
        None,
        TrainConfig(
            epochs=3,
            batch_size=64,
            lr=3e-3,
            embedding_lr=3e-2,
            sparse_optimizer="adam",
            schedule="constant",
            patience=None,
        ),
    )
    full = pipeline.evaluate(test).accuracy
    pipeline.model.embedding = QuantizedEmbedding.from_embedding(pipeline.model.embedding)
    quantised = pipeline.evaluate(test).accuracy
    assert full > 0.66  # a real classifier, not chance
    assert abs(full - quantised) <= 0.01


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_table_bound_to_an_optimizer_trains_through_forward_and_backward(dtype):
    from embedlayer.layers import EmbeddingBag
    from embedlayer.sparse import SparseSGD

    layer = Embedding(30, 4, dtype=dtype, padding_idx=0, generator=torch.Generator().manual_seed(0))
    before = layer.weight.detach().float().clone()
    SparseSGD(layer, lr=0.25).bind()
    rows = layer(torch.tensor([3, 3, 0, 7]))
    assert rows.dtype == torch.float32
    rows.sum().backward()
    expected = before.clone()
    expected[3] -= 0.5
    expected[7] -= 0.25
    assert torch.equal(layer.weight.detach(), expected.to(dtype))  # float32 update, one rounding
    bag = EmbeddingBag(30, 4, mode="mean", dtype=dtype, generator=torch.Generator().manual_seed(0))
    start = bag.weight.detach().float().clone()
    SparseSGD(bag, lr=1.0).bind()
    bag(torch.tensor([[5, 6]])).sum().backward()
    assert torch.equal(bag.weight.detach()[[5, 6]], (start[[5, 6]] - 0.5).to(dtype))


def test_from_weight_shares_memory_and_neighbour_recall_checks_its_input():
    weight = torch.randn(10, 3)
    layer = Embedding.from_weight(weight, padding_idx=2)
    with torch.no_grad():
        layer.weight[1] = 7.0
    assert (weight[1] == 7.0).all() and layer.padding_idx == 2 and not (weight[2] == 0).all()
    with pytest.raises(ConfigError, match="one shape"):
        neighbour_recall(weight, weight[:5], torch.tensor([0]))
    with pytest.raises(ConfigError, match=r"k must be in \[1, 9\]"):
        neighbour_recall(weight, weight, torch.tensor([0]), k=10)
