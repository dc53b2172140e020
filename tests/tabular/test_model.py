"""TabularModel: shapes of the three heads, MF's formula, and training-time unseen values."""

from __future__ import annotations

import pytest
import torch

from embedlayer.errors import ConfigError
from embedlayer.tabular.columns import FIRST, UNKNOWN
from embedlayer.tabular.model import TabularModel, TabularModelConfig


def inputs(b: int = 5) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    cat = torch.stack([torch.randint(FIRST, 10, (b,), generator=g), torch.randint(FIRST, 7, (b,), generator=g)], 1)
    return cat, torch.randn(b, 3, generator=g), torch.randint(0, 6, (b, 4), generator=g)


@pytest.mark.parametrize("kind", ["mlp", "mf", "fm"])
def test_heads_shapes(kind):
    config = TabularModelConfig(
        kind=kind, tables=((10, 4), (7, 3)), bag_tables=((6, 2),), num_numeric=3, num_outputs=1, factors=5
    )
    model = TabularModel(config, generator=torch.Generator().manual_seed(0)).eval()
    assert model(*inputs()).shape == (5, 1)
    assert model.column_vectors(0).shape == (10, 4 if kind == "mlp" else 5)


def test_mf_is_biased_dot_product():
    model = TabularModel(TabularModelConfig(kind="mf", tables=((10, 1), (7, 1)), factors=3)).eval()
    cat, num, _ = inputs()
    u, i = model.tables[0].weight[cat[:, 0]], model.tables[1].weight[cat[:, 1]]
    want = model.bias + (u[:, :3] * i[:, :3]).sum(1) + u[:, 3] + i[:, 3]
    assert torch.allclose(model(cat, num)[:, 0], want)


def test_unknown_rate_replaces_values_in_training_only():
    config = TabularModelConfig(tables=((10, 4), (7, 3)), unknown_rate=0.5, unseen_rows=(0, -1))
    model = TabularModel(config)
    cat = torch.full((1000, 2), FIRST)
    torch.manual_seed(0)
    out = model._as_unseen(cat)
    assert 400 < int((out[:, 0] == UNKNOWN).sum()) < 600
    assert torch.equal(out[:, 1], cat[:, 1])  # -1: never replaced (numeric bins)
    hashed = TabularModel(TabularModelConfig(tables=((8, 2),), unknown_rate=0.5, unseen_rows=(4,)))._as_unseen(
        cat[:, :1]
    )
    assert int(hashed.min()) >= FIRST and int(hashed.max()) < FIRST + 4
    with pytest.raises(ConfigError, match="unknown_rate 1.5"):
        TabularModelConfig(unknown_rate=1.5)
