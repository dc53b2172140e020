"""Fixtures shared by the vectors tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def questions_subset(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 32nd question of each section of the Google analogies (with its header): fast, still
    all 14 sections, and one line that is not four words (skipped, as gensim skips it)."""
    lines = (shared_data / "wordsim" / "questions-words.txt").read_text().splitlines()
    keep, count = [], 0
    for line in lines:
        if line.startswith(": "):
            keep.append(line)
            count = 0
        else:
            count += 1
            if count % 32 == 1:
                keep.append(line)
    keep.insert(3, "not four words")
    path = tmp_path_factory.mktemp("analogies") / "questions-subset.txt"
    path.write_text("\n".join(keep) + "\n")
    return path
