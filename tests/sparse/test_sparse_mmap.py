"""Memory-mapped tables: trained in place, written back, resumable, and bigger than the memory allowed."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sparse_reference import Reference

from embedlayer.errors import ConfigError
from embedlayer.sparse import LazyAdam, RowwiseAdagrad, open_table
from embedlayer.vectors import Vectors, load_vectors, save_native


def small_table(path: Path, rows: int = 50, dim: int = 6) -> np.ndarray:
    matrix = np.random.default_rng(0).standard_normal((rows, dim)).astype(np.float32)
    save_native(Vectors([f"w{i}" for i in range(rows)], matrix), path)
    return matrix


def half_square_steps(layer, steps):
    """loss = 0.5 * sum(rows^2): the gradient of each looked-up row is its value."""
    for ids in steps:
        layer(torch.as_tensor(ids)).square().sum().mul(0.5).backward()


def reference_run(kind, matrix, steps, **kw):
    ref = Reference(kind, matrix, **kw)
    for ids in steps:
        ref.step(ids, ref.w[np.asarray(ids)].copy())
    return ref


def test_training_writes_the_touched_rows_back_to_the_file(tmp_path):
    matrix = small_table(tmp_path / "t")
    steps = [np.array([1, 4, 4, 9]), np.array([4, 2, 1])]
    with open_table(tmp_path / "t") as table:
        assert table.shape == (50, 6) and table.words[:2] == ("w0", "w1")
        layer = table.embedding(padding_idx=9)
        RowwiseAdagrad(layer, lr=0.1).bind()
        half_square_steps(layer, steps)
    ref = reference_run("rowwise-adagrad", matrix, steps, lr=0.1, padding_idx=9)
    on_disk = np.load(tmp_path / "t" / "vectors.npy")
    np.testing.assert_allclose(on_disk, ref.w, atol=1e-6, rtol=0)
    assert np.array_equal(on_disk[9], matrix[9]) and np.array_equal(on_disk[10:], matrix[10:])
    assert np.array_equal(load_vectors(tmp_path / "t")["w4"], on_disk[4])  # a normal reader sees it


def test_state_files_let_a_later_run_resume_exactly(tmp_path):
    matrix = small_table(tmp_path / "t")
    steps = [np.array([3, 3, 5]), np.array([5, 7]), np.array([3, 7, 7]), np.array([1, 5])]
    for part in (steps[:2], steps[2:]):  # two runs, separate processes' worth of objects
        table = open_table(tmp_path / "t", state_dir=tmp_path / "state")
        layer = table.embedding()
        LazyAdam(layer, lr=0.05).bind()
        half_square_steps(layer, part)
        table.close()
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["exp_avg.npy", "exp_avg_sq.npy", "row_step.npy"]
    ref = reference_run("adam", matrix, steps, lr=0.05)
    np.testing.assert_allclose(np.load(tmp_path / "t" / "vectors.npy"), ref.w, atol=1e-6, rtol=0)
    np.save(tmp_path / "state" / "row_step.npy", np.zeros(7, dtype=np.int64))
    table = open_table(tmp_path / "t", state_dir=tmp_path / "state")
    layer = table.embedding()
    LazyAdam(layer).bind()
    with pytest.raises(
        ConfigError,
        match=r"row_step.npy: optimizer state 'row_step' holds int64 \(7,\); expected "
        r"int64 \(50,\)",
    ):
        layer(torch.tensor([1])).sum().backward()


def test_read_only_open_is_copy_on_write_and_bags_work(tmp_path):
    matrix = small_table(tmp_path / "t")
    table = open_table(tmp_path / "t", writable=False)
    with torch.no_grad():
        table.weight[0] += 100  # private pages: never reaches the file
    assert np.array_equal(np.load(tmp_path / "t" / "vectors.npy"), matrix)
    bag = open_table(tmp_path / "t").bag(mode="sum")
    out = bag(torch.tensor([1, 2, 3]), torch.tensor([0, 1]))
    assert torch.allclose(out, torch.from_numpy(np.stack([matrix[1], matrix[2] + matrix[3]])))


_CHILD = r"""
import json, resource, sys
import numpy as np, torch
from embedlayer.layers import Embedding
from embedlayer.sparse import LazyAdam, open_table

def status(key):
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith(key)).split()[1])

path, state_dir, ids_file, headroom_mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
torch.set_num_threads(1)
warm = Embedding(8, 4)  # load the compiled kernels and start the threads before the limit
LazyAdam(warm).bind()
warm(torch.tensor([1, 2, 2])).sum().backward()
base = status("VmData")
limit = (base + headroom_mb * 1024) * 1024
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
table = open_table(path, state_dir=state_dir)
layer = table.embedding()
LazyAdam(layer, lr=0.01).bind()
for ids in np.load(ids_file):
    layer(torch.from_numpy(ids)).square().sum().mul(0.5).backward()
table.flush()
try:
    copy = np.array(table.weight.numpy())  # the whole table in memory: must not fit
    fitted = True
except MemoryError:
    fitted = False
print(json.dumps({"base_kb": base, "limit_kb": limit // 1024, "data_kb": status("VmData"), "copy_fitted": fitted}))
"""


def write_big_native(path: Path, rows: int, dim: int) -> None:
    """A native vectors directory written chunk by chunk (the format of embedlayer.vectors.native)."""
    path.mkdir()
    matrix = np.lib.format.open_memmap(path / "vectors.npy", mode="w+", dtype=np.float32, shape=(rows, dim))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 65536):
        matrix[start : start + 65536] = rng.standard_normal((min(65536, rows - start), dim), dtype=np.float32)
    matrix.flush()
    del matrix
    (path / "words.txt").write_text("".join(f"w{i}\n" for i in range(rows)), encoding="utf-8")
    meta = {
        "format": "embedlayer.vectors",
        "version": 1,
        "count": rows,
        "dim": dim,
        "dtype": "float32",
        "matrix": "vectors.npy",
        "words": "words.txt",
    }
    (path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA and /proc are Linux's")
def test_trains_a_table_bigger_than_the_memory_limit(tmp_path):
    rows, dim, headroom_mb = 1 << 19, 128, 64  # a 256 MiB table; 64 MiB more data memory allowed
    write_big_native(tmp_path / "big", rows, dim)
    rng = np.random.default_rng(1)
    steps = rng.integers(0, rows, size=(4, 4096))
    steps[:, :100] = steps[0, 0]  # a repeated id in every step
    np.save(tmp_path / "ids.npy", steps)
    touched = np.unique(steps)
    original = np.load(tmp_path / "big" / "vectors.npy", mmap_mode="r")
    before = np.array(original[touched])
    probe = rng.choice(np.setdiff1d(np.arange(rows), touched), 1000, replace=False)
    probe_before = np.array(original[probe])
    del original
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(tmp_path / "big"),
            str(tmp_path / "state"),
            str(tmp_path / "ids.npy"),
            str(headroom_mb),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert rows * dim * 4 >= 4 * headroom_mb * 2**20  # the table is 4x what the process may still allocate
    assert not report["copy_fitted"], report  # the limit bites: an in-memory copy of the table fails
    assert report["data_kb"] <= report["limit_kb"]
    compact = {int(r): k for k, r in enumerate(touched)}
    ref = reference_run("adam", before, [np.array([compact[int(r)] for r in ids]) for ids in steps], lr=0.01)
    after = np.load(tmp_path / "big" / "vectors.npy", mmap_mode="r")
    np.testing.assert_allclose(after[touched], ref.w, atol=1e-6, rtol=0)
    assert np.array_equal(after[probe], probe_before)  # untouched rows bit-identical
