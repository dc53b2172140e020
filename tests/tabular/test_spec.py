"""TableSpec on Adult and on constructed tables: detection, overrides, targets, bad input."""

from __future__ import annotations

import pytest

from embedlayer.errors import ConfigError, DataError
from embedlayer.tabular import SpecOptions, Table, TableSpec, read_table

ADULT_CATEGORICAL = {
    "workclass",
    "education",
    "educational-num",  # 16 distinct integers: few, so categorical
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "gender",
    "native-country",
}


def test_adult_detection(adult):
    train, _ = adult
    spec = TableSpec.build(train, SpecOptions(target="income"))
    kinds = {c.name: c.kind for c in spec.columns}
    assert {n for n, k in kinds.items() if k == "categorical"} == ADULT_CATEGORICAL
    assert {n for n, k in kinds.items() if k == "numeric"} == {
        "age",
        "fnlwgt",
        "capital-gain",
        "capital-loss",
        "hours-per-week",
    }
    assert spec.task == "binary" and spec.labels == ("<=50K", ">50K")
    country = spec.column("native-country")
    assert len(country.categories) == 41  # '?' is the missing row, not a category
    assert country.embedding_dim == round(1.6 * 42**0.56)
    assert "?" not in spec.column("occupation").categories


def test_overrides_and_unseen_counted(adult):
    train, test = adult
    options = SpecOptions(
        target="income",
        categorical=("age",),
        numeric=("educational-num",),
        ignore=("fnlwgt",),
        embedding_dims={"age": 3},
    )
    spec = TableSpec.build(train, options)
    assert spec.column("age").kind == "categorical" and spec.column("age").embedding_dim == 3
    assert spec.column("educational-num").kind == "numeric"
    with pytest.raises(ConfigError, match="'fnlwgt' is not an input"):
        spec.column("fnlwgt")
    encoded = spec.encode(test)
    assert encoded.categorical.shape[0] == len(test) == 16281
    assert encoded.unseen["age"] > 0  # test ages training never had go to the unknown row
    assert encoded.unseen["workclass"] == 0


def table(**columns: list[str | None]) -> Table:
    names = list(columns)
    return Table.from_rows(names, list(zip(*columns.values())), "t.csv")


def test_regression_and_multiclass_detection():
    spec = TableSpec.build(table(a=["x", "y", "x", "z"], y=["1.5", "2.25", "7.1", "0.3"]), SpecOptions(target="y"))
    assert spec.task == "regression" and spec.target_std > 0
    spec = TableSpec.build(table(a=["x", "y", "x", "z"], y=["r", "g", "b", "g"]), SpecOptions(target="y"))
    assert spec.task == "multiclass" and spec.labels == ("b", "g", "r")
    assert spec.column("a").kind == "categorical"
    flags = TableSpec.build(table(a=["true", "false", "true"], y=["1", "0", "1"]), SpecOptions(target="y"))
    assert flags.column("a").kind == "categorical"


def test_bad_input_errors():
    good = table(a=["x", "y"], n=["1", "2"], y=["p", "q"])
    with pytest.raises(DataError, match="no target column 'income'; the columns are a, n, y"):
        TableSpec.build(good, SpecOptions(target="income"))
    with pytest.raises(DataError, match="has one class \\('p'\\)"):
        TableSpec.build(table(a=["x", "y"], y=["p", "p"]), SpecOptions(target="y"))
    with pytest.raises(ConfigError, match="--categorical nope: t.csv has no column 'nope'"):
        TableSpec.build(good, SpecOptions(target="y", categorical=("nope",)))
    with pytest.raises(DataError, match="row 2: column 'n' is numeric but holds 'two'"):
        TableSpec.build(table(a=["x", "y"], n=["1.5", "two"], y=["p", "q"]), SpecOptions(target="y", numeric=("n",)))
    spec = TableSpec.build(good, SpecOptions(target="y"))
    with pytest.raises(DataError, match="target 'r' was not seen in training"):
        spec.encode(table(a=["x"], n=["1"], y=["r"]))


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        read_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(DataError, match="no data rows"):
        read_table(header)


def test_json_round_trip(adult_small):
    train, _ = adult_small
    spec = TableSpec.build(train, SpecOptions(target="income", multi={"occupation": "-"}, hash_buckets={"race": 4}))
    assert spec.column("occupation").kind == "multi"
    assert TableSpec.from_dict(spec.to_dict()) == spec


def test_parquet_and_arrow_tables(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from embedlayer.tabular import from_arrow

    arrow = pa.table({"a": ["x", None, "?"], "n": [1.5, None, 3.0], "y": [True, False, True]})
    table = from_arrow(arrow)
    assert table.columns["a"].tolist() == ["x", None, None]  # "?" is a missing marker
    assert table.columns["n"].tolist() == ["1.5", None, "3"]
    pq.write_table(arrow, tmp_path / "t.parquet")
    again = read_table(tmp_path / "t.parquet")
    assert {k: v.tolist() for k, v in again.columns.items()} == {k: v.tolist() for k, v in table.columns.items()}
    spec = TableSpec.build(again, SpecOptions(target="y"))
    assert spec.task == "binary" and spec.column("n").kind == "numeric" and spec.column("a").kind == "categorical"


def test_missing_file_and_ragged_rows(tmp_path):
    with pytest.raises(DataError, match="nope.csv: no such file"):
        read_table(tmp_path / "nope.csv")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\nx,1,p\ny,2\n")
    with pytest.raises(DataError, match="ragged.csv: not a readable CSV table .*Expected 3 columns, got 2"):
        read_table(ragged)
