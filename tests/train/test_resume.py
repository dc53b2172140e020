"""An interrupted run resumed from its checkpoint ends exactly where the uninterrupted run ends."""

import pytest
import torch

from embedlayer.errors import ConfigError
from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.train import EpochEvent, TrainConfig, fit


class Interrupt(Exception):
    pass


def model():
    cfg = ClassifierConfig(
        num_embeddings=24,
        embedding_dim=8,
        num_classes=2,
        dropout=0.3,
        sparse_embedding=True,
        encoder=EncoderConfig(kind="cnn", cnn_widths=(2,), cnn_channels=8),
    )
    return build_classifier(cfg, seed=3)


def stop_after(n_epochs):
    def progress(event):
        if isinstance(event, EpochEvent) and event.epoch == n_epochs - 1:
            raise Interrupt

    return progress


CFG = TrainConfig(epochs=4, lr=0.02, schedule="cosine", warmup_steps=3, patience=None, seed=11)


@pytest.fixture
def data(task):
    return task.loader(task.examples(128, seed=8), 32), task.batches(task.examples(64, seed=9), 32)


def test_resume_after_two_of_four_epochs_matches_uninterrupted(tmp_path, data):
    train, dev = data
    full = model()
    full_result = fit(full, train, dev, CFG, checkpoint_dir=tmp_path / "full")

    part = model()
    with pytest.raises(Interrupt):
        fit(part, train, dev, CFG, checkpoint_dir=tmp_path / "part", progress=stop_after(2))
    resumed = model()  # a new process would start from fresh weights
    torch.manual_seed(12345)  # and an unrelated global RNG state
    result = fit(resumed, train, dev, CFG, checkpoint_dir=tmp_path / "part", resume=True)

    assert result == full_result
    assert len(result.history) == 4 and result.global_step == full_result.global_step == 16
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_resume_of_a_finished_run_only_restores(tmp_path, data):
    train, dev = data
    first = model()
    done = fit(first, train, dev, CFG, checkpoint_dir=tmp_path)
    calls = []
    again = model()
    result = fit(again, lambda e: calls.append(e) or train(e), dev, CFG, checkpoint_dir=tmp_path, resume=True)
    assert result == done and calls == [0]  # only the up-front count of epoch 0; no training
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))


def test_resume_without_checkpoint_starts_fresh_and_changed_settings_are_refused(tmp_path, data):
    train, dev = data
    short = TrainConfig(epochs=1, lr=0.02, patience=None)
    result = fit(model(), train, dev, short, checkpoint_dir=tmp_path, resume=True)
    assert result.epochs_run == 1
    with pytest.raises(ConfigError, match=r"TrainConfig.lr is 0.05 but the checkpoint was trained with 0.02"):
        fit(model(), train, dev, TrainConfig(epochs=2, lr=0.05, patience=None), checkpoint_dir=tmp_path, resume=True)
    longer = fit(
        model(), train, dev, TrainConfig(epochs=2, lr=0.02, patience=None), checkpoint_dir=tmp_path, resume=True
    )
    assert longer.epochs_run == 2 and longer.history[0] == result.history[0]
