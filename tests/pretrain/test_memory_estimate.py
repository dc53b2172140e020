"""Pretraining refuses, before allocating, tables that cannot fit in memory (issue 13 §4)."""

from __future__ import annotations

import pytest

from embedlayer.errors import ConfigError
from embedlayer.kernels.memory import memory_limit
from embedlayer.pretrain import PretrainConfig, trainer


def test_memory_limit_is_a_positive_number_of_bytes() -> None:
    limit = memory_limit()
    assert limit is None or limit > 1 << 20


def test_check_fits_names_the_estimate(monkeypatch) -> None:
    monkeypatch.setattr(trainer, "memory_limit", lambda: 100_000)
    trainer.check_fits(PretrainConfig(dim=8), 100)  # 2 x 100 rows of 16 floats: 12.8 kB, and as much to fill
    with pytest.raises(ConfigError, match=r"^PretrainConfig.dim: .*\(1,000 word input rows \+ 1,000 output rows\)"):
        trainer.check_fits(PretrainConfig(dim=8), 1000)
    with pytest.raises(ConfigError, match=r"\(2,000,000 n-gram input rows\) x \d+ floats .* got 8$"):
        trainer.check_fits(PretrainConfig(dim=8, subwords=(3, 6)), 0)
    monkeypatch.setattr(trainer, "memory_limit", lambda: None)  # nothing known: nothing refused
    trainer.check_fits(PretrainConfig(dim=10**8), 10**6)
