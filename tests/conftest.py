"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

# The real data lives beside the repository: /work/shared/data when the repo is /work/main.
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the shared real-data folder (see shared/data/README.md)."""
    assert SHARED.is_dir(), f"shared data folder not found at {SHARED}"
    return SHARED
