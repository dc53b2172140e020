"""Bad input to the sparse paths: each a clear error naming the value, where it is, what was expected."""

import numpy as np
import pytest
import torch

from embedlayer.errors import ConfigError, IdOutOfRangeError
from embedlayer.kernels.bag import embedding_bag
from embedlayer.layers import Embedding, EmbeddingBag
from embedlayer.sparse import (
    LazyAdam,
    QuantizedEmbedding,
    SparseSGD,
    gather,
    make_sparse_optimizer,
    open_table,
)
from embedlayer.vectors import Vectors, save_native


@pytest.fixture
def bound_layer():
    layer = Embedding(10, 4, generator=torch.Generator().manual_seed(0))
    LazyAdam(layer, lr=0.1).bind()
    return layer


@pytest.mark.parametrize("bad", [10, 11, -1])
def test_ids_out_of_range_or_negative(bound_layer, bad):
    ids = torch.tensor([[1, 2], [3, bad]])
    for call in (
        lambda: bound_layer(ids),
        lambda: gather(bound_layer.weight.detach(), ids),
        lambda: embedding_bag(bound_layer.weight, ids),
        lambda: QuantizedEmbedding.from_embedding(bound_layer)(ids),
    ):
        with pytest.raises(IdOutOfRangeError, match=rf"id {bad} at position \(1, 1\).*10 rows.*0 <= id < 10"):
            call()


def test_ids_out_of_range_given_to_an_optimizer_directly():
    table = torch.zeros(5, 2)
    opt = SparseSGD(table, lr=0.1)
    with pytest.raises(IdOutOfRangeError, match="id 5 at position 2"):
        opt.apply_gradients(table, torch.tensor([0, 1, 5]), torch.ones(3, 2))
    assert (table == 0).all()  # nothing applied


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bool])
def test_float_or_bool_id_tensor(bound_layer, dtype):
    ids = torch.tensor([1, 2]).to(dtype)
    with pytest.raises(ConfigError, match=f"integers.*{dtype}"):
        bound_layer(ids)
    with pytest.raises(ConfigError, match=f"integers.*{dtype}"):
        gather(bound_layer.weight.detach(), ids)
    with pytest.raises(ConfigError, match="integers"):
        bound_layer.row_sink.optimizer.apply_gradients(bound_layer, ids, torch.ones(2, 4))
    with pytest.raises(ConfigError, match="torch integer tensor"):
        gather(bound_layer.weight.detach(), [1, 2])


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        (torch.tensor([1, 3]), r"offsets\[0\] is 1; expected 0"),
        (torch.tensor([0, 4, 2]), r"offsets\[2\] is 2, smaller than offsets\[1\] = 4"),
        (torch.tensor([0, 9]), r"offsets\[1\] is 9, beyond the 6 ids"),
        (torch.tensor([0.0, 2.0]), "1-D integer tensor"),
        (torch.tensor([[0, 2]]), "1-D integer tensor"),
    ],
)
def test_mismatched_offsets(offsets, message):
    bag = EmbeddingBag(10, 3)
    with pytest.raises(ConfigError, match=message):
        bag(torch.tensor([1, 2, 3, 4, 5, 6]), offsets)


def test_other_bag_shape_mistakes():
    bag = EmbeddingBag(10, 3)
    ids = torch.tensor([1, 2, 3, 4])
    with pytest.raises(ConfigError, match="need offsets"):
        bag(ids)
    with pytest.raises(ConfigError, match=r"per_sample_weights has shape \(3,\); expected the shape of ids \(4,\)"):
        bag(ids, torch.tensor([0, 2]), torch.ones(3))
    with pytest.raises(ConfigError, match="fixed-size bags; expected offsets=None"):
        bag(ids.reshape(2, 2), torch.tensor([0, 1]))
    with pytest.raises(ConfigError, match="last offset is 3 with include_last_offset=True; expected len"):
        embedding_bag(bag.weight, ids, torch.tensor([0, 3]), include_last_offset=True)
    with pytest.raises(ConfigError, match="bag mode must be one of sum, mean, max, got 'median'"):
        embedding_bag(bag.weight, ids, torch.tensor([0]), mode="median")


def test_optimizer_given_a_table_it_was_not_built_for():
    mine, other = Embedding(10, 4), Embedding(10, 4)
    opt = SparseSGD(mine, lr=0.1)
    with pytest.raises(
        ConfigError,
        match=r"built for the table\(s\) Embedding\(10, 4\); got Embedding\(10, 4\), which "
        r"it was not built for",
    ):
        opt.apply_gradients(other, torch.tensor([1]), torch.ones(1, 4))
    with pytest.raises(ConfigError, match="got a tensor of shape"):
        opt.apply_gradients(torch.zeros(10, 4), torch.tensor([1]), torch.ones(1, 4))
    with pytest.raises(ConfigError, match=r"gradient rows have shape \(1, 3\); expected \(1, 4\)"):
        opt.apply_gradients(mine, torch.tensor([1]), torch.ones(1, 3))


def test_table_changed_after_the_optimizer_was_built():
    layer = Embedding(10, 4)
    opt = SparseSGD(layer, lr=0.1)
    layer.half()
    with pytest.raises(ConfigError, match="now torch.float16 .* built for torch.float32"):
        opt.apply_gradients(layer, torch.tensor([1]), torch.ones(1, 4))


def test_bad_tables_and_hyperparameters():
    with pytest.raises(ConfigError, match="dtype torch.int64"):
        SparseSGD(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ConfigError, match="2 dimensions"):
        SparseSGD(torch.zeros(3))
    with pytest.raises(ConfigError, match="not contiguous"):
        SparseSGD(torch.zeros(4, 3).t())
    with pytest.raises(ConfigError, match="given twice"):
        layer = Embedding(3, 2)
        SparseSGD([layer, layer])
    with pytest.raises(
        ConfigError,
        match=r"torch.nn.modules.sparse.Embedding, without the slots of an embedlayer "
        r"table \(row_sink, storage\); expected .* or a 2-D tensor",
    ):
        SparseSGD(torch.nn.Embedding(3, 2))
    with pytest.raises(ConfigError, match="at least one table"):
        SparseSGD([])
    with pytest.raises(ConfigError, match="lr must be a finite number > 0"):
        LazyAdam(torch.zeros(3, 2), lr=0.0)
    with pytest.raises(ConfigError, match=r"betas\[1\] must be a finite number >= 0.0 and < 1.0"):
        LazyAdam(torch.zeros(3, 2), betas=(0.9, 1.0))
    with pytest.raises(ConfigError, match="unknown; expected one of sgd, adagrad, rowwise-adagrad, adam"):
        make_sparse_optimizer("lamb", torch.zeros(3, 2), lr=0.1)
    with pytest.raises(ConfigError, match="state belongs to optimizer 'sgd'; expected 'adam'"):
        LazyAdam(torch.zeros(3, 2)).load_state_dict(SparseSGD(torch.zeros(3, 2)).state_dict())


def test_read_only_memory_mapped_table_cannot_be_trained(tmp_path):
    save_native(Vectors(["a", "b", "c"], np.ones((3, 2), np.float32)), tmp_path / "t")
    table = open_table(tmp_path / "t", writable=False)
    layer = table.embedding()
    assert layer.frozen
    with pytest.raises(ConfigError, match=r"stored read-only in .*vectors.npy; open it with writable=True"):
        LazyAdam(layer)
    matrix = tmp_path / "t" / "vectors.npy"
    matrix.chmod(0o444)
    with pytest.raises(ConfigError, match=r"vectors.npy: the table file is read-only \(permissions -r--r--r--\)"):
        open_table(tmp_path / "t")
    assert np.array_equal(np.load(matrix), np.ones((3, 2)))  # the read-only open changed nothing
