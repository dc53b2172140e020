"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def glove_head(shared_data: Path, tmp_path: Path) -> Callable[[int], Path]:
    """``glove_head(n)``: a GloVe text file with the first ``n`` words of GloVe 6B 50d, named
    ``glove{n // 1000}k.txt`` (a few lines of the shared file: fast)."""

    def make(n: int) -> Path:
        path = tmp_path / f"glove{n // 1000}k.txt"
        with open(shared_data / "vectors" / "glove.6B.50d.top20k.txt", "rb") as fh:
            path.write_bytes(b"".join(next(fh) for _ in range(n)))
        return path

    return make
