"""Column specs: rows reserved for missing/unknown/rare, fastai sizes, bags, hashing, numbers."""

from __future__ import annotations

import numpy as np
import pytest

from embedlayer.errors import DataError
from embedlayer.tabular.columns import FIRST, MISSING, PAD, RARE, UNKNOWN, ColumnSpec, fastai_dim, parse_numbers
from embedlayer.tabular.read import Table


def cells(*values: str | None) -> np.ndarray:
    return np.array(values, dtype=object)


def test_fastai_rule_and_cap():
    assert fastai_dim(2) == round(1.6 * 2**0.56)
    assert fastai_dim(42) == round(1.6 * 42**0.56) == 13
    assert fastai_dim(10**9) == 600
    assert fastai_dim(10**9, cap=50) == 50


def test_categorical_rows_missing_unknown_rare():
    col = ColumnSpec.categorical("c", cells("a", "b", "a", None, "c", "a", "b"), min_count=2)
    assert col.categories == ("a", "b") and col.rare == ("c",)  # most frequent first
    assert col.num_rows == FIRST + 2
    rows, unseen = col.encode(cells("a", "b", "c", None, "zzz"))
    assert rows.tolist() == [FIRST, FIRST + 1, RARE, MISSING, UNKNOWN]
    assert unseen == 1  # only "zzz": a rare value was seen in training
    assert col.embedding_dim == fastai_dim(3)


def test_embedding_dim_override():
    assert ColumnSpec.categorical("c", cells("a", "b"), embedding_dim=8).embedding_dim == 8


def test_hash_buckets_spread_unseen_values_and_stay_stable():
    col = ColumnSpec.categorical("id", cells(*[f"u{i}" for i in range(50)]), hash_buckets=16)
    assert col.num_rows == FIRST + 16
    rows, unseen = col.encode(cells(*[f"new{i}" for i in range(200)]))
    assert unseen == 200
    assert rows.min() >= FIRST and rows.max() < col.num_rows
    assert set(col.row_of().values()) <= set(range(FIRST, FIRST + 16))  # training values share the buckets
    assert len(set(rows.tolist())) > 8  # spread over the buckets, not one unknown row
    again, _ = col.encode(cells(*[f"new{i}" for i in range(200)]))
    assert (rows == again).all()


def test_multi_valued_bags_padded():
    col = ColumnSpec.categorical(
        "genres", cells("Action|Drama", "Drama", None, "Noir|Drama"), multi=True, separator="|"
    )
    assert col.kind == "multi" and col.categories == ("Drama", "Action", "Noir")
    bags, unseen = col.encode(cells("Action|Drama", None, "Western"))
    assert bags.tolist() == [[FIRST + 1, FIRST], [MISSING, PAD], [UNKNOWN, PAD]]
    assert unseen == 1
    spaces = ColumnSpec.categorical("class", cells("Action Adventure", "Comedy"), multi=True)
    assert spaces.encode(cells("Comedy Action"))[0].tolist() == [[spaces.row_of()["Comedy"], spaces.row_of()["Action"]]]


def test_numeric_standardised_median_imputed_with_indicator_and_bins():
    numbers = np.array([1.0, 2.0, np.nan, 3.0, 10.0])
    col = ColumnSpec.numeric("x", numbers, bins=8)
    assert col.median == 2.5 and col.missing_indicator
    out = col.encode_numeric(np.array([np.nan, 1.0]))
    filled = np.array([1.0, 2.0, 2.5, 3.0, 10.0])
    assert out.shape == (2, 2)
    assert out[0, 0] == pytest.approx((2.5 - filled.mean()) / filled.std(), rel=1e-6) and out[:, 1].tolist() == [1, 0]
    assert col.bins == (2.0, 3.0, 10.0)  # few distinct values: one bin each
    assert col.encode_bins(np.array([1.0, 2.0, 2.5, 10.0, 99.0, np.nan])).tolist() == [4, 5, 5, 7, 7, MISSING]
    many = ColumnSpec.numeric("y", np.arange(1000.0), bins=4)
    assert many.bins == (249.75, 499.5, 749.25) and many.num_rows == FIRST + 4


def test_text_in_numeric_column_names_file_line_and_column():
    table = Table({"x": cells("1", "2", "three")}, "data.csv", 2)
    with pytest.raises(DataError, match=r"data\.csv:4: column 'x' is numeric but holds 'three'"):
        parse_numbers(table.columns["x"], table, "x")


def test_json_round_trip():
    col = ColumnSpec.categorical("c", cells("a", "b", "a"), min_count=2, hash_buckets=3)
    assert ColumnSpec.from_dict(col.to_dict()) == col
    num = ColumnSpec.numeric("n", np.array([1.0, np.nan, 5.0]), bins=4)
    assert ColumnSpec.from_dict(num.to_dict()) == num
