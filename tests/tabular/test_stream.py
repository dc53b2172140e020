"""Streamed tables (`TableFile`, `iter_table`): a file cut into many small blocks gives exactly the
spec, the encoded arrays and the predictions of the same file read whole, and errors in a later
block name the line of the whole file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import DataError
from embedlayer.tabular import (
    SpecOptions,
    TableFile,
    TableSpec,
    TabularPipeline,
    iter_table,
    read_table,
)
from embedlayer.tabular.pipeline import ModelSettings
from embedlayer.train import TrainConfig


def synthetic(path: Path, n: int = 600, bad: tuple[int, str] | None = None) -> Path:
    """Every kind of column: categorical with missing cells, numeric with missing cells, a small
    integer column (detected categorical), a bag, a column that is numeric until its last rows
    (detected categorical), and a regression target. ``bad``: (row, cell) put in column ``num``."""
    rng = np.random.default_rng(0)
    lines = ["cat,num,small,tags,late,y"]
    for i in range(n):
        cat = "" if i % 17 == 0 else "abcdefg"[rng.integers(7)] * int(rng.integers(1, 4))
        num = "?" if i % 13 == 0 else f"{rng.normal(3, 2):.6g}"
        if bad is not None and i == bad[0]:
            num = bad[1]
        tags = " ".join(rng.choice(["red", "green", "blue", "tiny"], size=int(rng.integers(0, 4)), replace=False))
        late = f"{rng.uniform(0, 100):.3f}" if i < n - 5 else "text"
        lines.append(f"{cat},{num},{rng.integers(5)},{tags},{late},{rng.normal(10, 4):.5f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


OPTIONS = SpecOptions(target="y", multi={"tags": None}, bins=16)


def assert_same_encoding(a, b) -> None:
    assert np.array_equal(a.categorical, b.categorical) and np.array_equal(a.numeric, b.numeric)
    assert len(a.bags) == len(b.bags) and all(np.array_equal(x, y) for x, y in zip(a.bags, b.bags))
    assert np.array_equal(a.target, b.target) and a.unseen == b.unseen


def test_chunks_continue_the_line_numbers(tmp_path):
    path = synthetic(tmp_path / "t.csv")
    chunks = list(iter_table(path, block_size=2000))
    assert len(chunks) >= 5
    assert [c.first_line for c in chunks] == list(np.cumsum([2] + [len(c) for c in chunks[:-1]]))
    whole = read_table(path)
    for name in whole.names:
        assert np.concatenate([c.columns[name] for c in chunks]).tolist() == whole.columns[name].tolist()


@pytest.mark.parametrize("block_size", [1500, 4000, 1 << 20])
def test_streamed_spec_encoding_and_predictions_equal_whole(tmp_path, block_size):
    path = synthetic(tmp_path / "t.csv")
    whole, stream = read_table(path), TableFile(str(path), block_size=block_size)
    spec = TableSpec.build(whole, OPTIONS)
    # exact, not close: counts, mean, std, median and quantile bins equal bit for bit
    assert TableSpec.build(stream, OPTIONS) == spec
    assert spec.task == "regression" and spec.column("late").kind == "categorical"
    assert spec.column("small").kind == "categorical" and spec.column("num").missing_indicator
    assert spec.column("num").bins and spec.column("tags").kind == "multi"
    encoded = spec.encode_chunks(stream)
    assert encoded.categorical.dtype == np.int32 and encoded.numeric.dtype == np.float32
    assert_same_encoding(encoded, spec.encode(whole))
    config = TrainConfig(epochs=2, batch_size=64, seed=3)
    a = TabularPipeline.build(whole, OPTIONS, ModelSettings(hidden=(16,), seed=1))
    b = TabularPipeline.build(stream, OPTIONS, ModelSettings(hidden=(16,), seed=1))
    a.fit(whole, None, config)
    b.fit(stream, None, config)
    assert np.array_equal(a.predict(whole, batch_size=100), b.predict(stream, batch_size=100))
    assert a.evaluate(whole) == b.evaluate(stream)


def test_adult_streamed_spec_equals_whole(adult_small, tmp_path):
    train, _ = adult_small
    path = tmp_path / "adult.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(train.names) + "\n")
        for i in range(len(train)):
            fh.write(",".join("?" if train.columns[n][i] is None else train.columns[n][i] for n in train.names) + "\n")
    options = SpecOptions(target="income")
    stream = TableFile(str(path), block_size=30_000)
    assert len(list(stream)) >= 8
    spec = TableSpec.build(read_table(path), options)
    assert TableSpec.build(stream, options) == spec
    assert_same_encoding(spec.encode_chunks(stream), spec.encode(read_table(path)))


def test_bad_value_in_block_three_names_its_line(tmp_path):
    good = synthetic(tmp_path / "good.csv")
    third = list(iter_table(good, block_size=2000))[2]
    row = third.first_line - 2 + 4  # the fifth row of the third block (same-length cell: same blocks)
    path = synthetic(tmp_path / "bad.csv", bad=(row, "oops"))
    chunks = list(iter_table(path, block_size=2000))
    assert chunks[2].first_line <= row + 2 < chunks[3].first_line
    numeric = SpecOptions(target="y", numeric=("num",), multi={"tags": None})
    with pytest.raises(DataError, match=rf"bad.csv:{row + 2}: column 'num' is numeric but holds 'oops'"):
        TableSpec.build(TableFile(str(path), block_size=2000), numeric)
    spec = TableSpec.build(TableFile(str(good), block_size=2000), numeric)
    with pytest.raises(DataError, match=rf"bad.csv:{row + 2}: column 'num'"):
        spec.encode_chunks(TableFile(str(path), block_size=2000))
    pipeline = TabularPipeline.build(TableFile(str(good)), numeric)
    with pytest.raises(DataError, match=rf"bad.csv:{row + 2}: column 'num'"):
        pipeline.predict(TableFile(str(path), block_size=2000))


def test_parquet_streams_in_row_batches(tmp_path, monkeypatch):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from embedlayer.tabular import read

    path = synthetic(tmp_path / "t.csv", bad=(250, "oops"))
    pq.write_table(
        pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False)), tmp_path / "t.parquet"
    )
    monkeypatch.setattr(read, "PARQUET_ROWS", 100)
    chunks = list(iter_table(tmp_path / "t.parquet"))
    assert [len(c) for c in chunks] == [100] * 6 and chunks[2].first_row == 200
    numeric = SpecOptions(target="y", numeric=("num",), multi={"tags": None})
    with pytest.raises(DataError, match=r"t.parquet row 251: column 'num' is numeric but holds 'oops'"):
        TableSpec.build(TableFile(str(tmp_path / "t.parquet")), numeric)


def test_streamed_file_errors(tmp_path):
    with pytest.raises(DataError, match="nope.csv: no such file"):
        list(iter_table(tmp_path / "nope.csv"))
    header = tmp_path / "header.csv"
    header.write_text("a,y\n")
    with pytest.raises(DataError, match="header.csv: no data rows"):
        list(iter_table(header))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n" + "x,1,p\n" * 200 + "y,2\n")
    with pytest.raises(DataError, match="ragged.csv: not a readable CSV table .*Expected 3 columns, got 2"):
        list(iter_table(ragged, block_size=100))
