"""Tables for the tabular tests: slices of the real Adult data (see shared/data/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from embedlayer.tabular import Table, read_table


@pytest.fixture(scope="session")
def adult(shared_data: Path) -> tuple[Table, Table]:
    """(train, test) of Adult, whole."""
    folder = shared_data / "tabular"
    return read_table(folder / "adult_train.csv"), read_table(folder / "adult_test.csv")


@pytest.fixture(scope="session")
def adult_small(adult: tuple[Table, Table]) -> tuple[Table, Table]:
    """The first 3,000 train and 1,000 test rows (a test trains on it in about a second)."""
    train, test = adult
    return train.select(np.arange(3000)), test.select(np.arange(1000))


@pytest.fixture(scope="module")
def one_thread():
    """Small matrices train faster on one torch thread on a busy machine; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
