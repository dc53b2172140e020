"""Checkpoint folders on disk (issue 13 §1, §5): files follow the umask like the rest of a model
folder, and a folder that is not a checkpoint is never replaced by one."""

from __future__ import annotations

import os
import stat

import pytest

from embedlayer.errors import ConfigError
from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.train import save_checkpoint


def _model():
    return build_classifier(
        ClassifierConfig(num_embeddings=6, embedding_dim=4, num_classes=2, encoder=EncoderConfig(kind="bag")), seed=0
    )


def test_checkpoint_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "ck" / "last", _model(), {"a": 1})
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()}
    assert modes == dict.fromkeys(modes, 0o644) and "model.safetensors" in modes
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_a_folder_that_is_not_a_checkpoint_is_never_replaced_or_removed(tmp_path):
    from embedlayer.train.checkpoint import remove_checkpoint

    folder = tmp_path / "last"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match=f"{folder}.*not a checkpoint"):
        save_checkpoint(folder, _model(), {})
    assert remove_checkpoint(folder) is False and (folder / "notes.txt").read_text() == "x"
    save_checkpoint(tmp_path / "ours", _model(), {})
    save_checkpoint(tmp_path / "ours", _model(), {"again": True})  # its own checkpoint is replaced
    assert remove_checkpoint(tmp_path / "ours") is True and not (tmp_path / "ours").exists()
