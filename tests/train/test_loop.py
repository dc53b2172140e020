"""fit / evaluate: golden evaluation, reproducibility, resume, early stopping, events, errors."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from embedlayer.batching import pad_batch
from embedlayer.errors import ConfigError, DataError
from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.train import EpochEvent, ProgressEvent, TrainConfig, evaluate, fit


class FixedLogits(nn.Module):
    """Logits looked up by the first id of each text: a model whose outputs we know exactly."""

    def __init__(self, table):
        super().__init__()
        self.table = nn.Parameter(torch.tensor(table))

    def forward(self, ids, lengths, mask):
        return self.table[ids[:, 0]]


def small_model(kind="cnn", seed=0, sparse=False, dropout=0.3):
    enc = {
        "cnn": EncoderConfig(kind="cnn", cnn_widths=(2, 3), cnn_channels=8),
        "bag": EncoderConfig(kind="bag", pooling="max"),
    }[kind]
    cfg = ClassifierConfig(
        num_embeddings=24, embedding_dim=8, num_classes=2, encoder=enc, dropout=dropout, sparse_embedding=sparse
    )
    return build_classifier(cfg, seed=seed)


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_golden_values():
    table = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]]
    model = FixedLogits(table)
    # texts starting with id 0/1/2 predict class 0/1/2
    b1 = pad_batch([[0], [1, 5], [2]], labels=[0, 1, 1])
    b2 = pad_batch([[2, 1], [0]], labels=[2, 1])
    result = evaluate(model, [b1, b2])
    np.testing.assert_array_equal(result.y_pred, [0, 1, 2, 2, 0])
    np.testing.assert_array_equal(result.y_true, [0, 1, 1, 2, 1])
    assert result.accuracy == 3 / 5
    np.testing.assert_array_equal(result.confusion, [[1, 0, 0], [1, 1, 1], [0, 0, 1]])
    # F1: class 0 2/(2+1+0), class 1 2/(2+0+2), class 2 2/(2+1+0)
    assert result.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)

    def nll(row, label):
        return math.log(sum(math.exp(v) for v in table[row])) - table[row][label]

    expected = (nll(0, 0) + nll(1, 1) + nll(2, 1) + nll(2, 2) + nll(0, 1)) / 5
    assert result.loss == pytest.approx(expected)
    np.testing.assert_allclose(result.probs[0], np.exp(table[0]) / np.exp(table[0]).sum(), rtol=1e-6)
    assert result.metrics() == {"loss": result.loss, "accuracy": 0.6, "macro_f1": result.macro_f1}
    assert json.loads(json.dumps(result.to_dict())) == {
        **result.metrics(),
        "examples": 5,
        "confusion": [[1, 0, 0], [1, 1, 1], [0, 0, 1]],
    }


def test_evaluate_restores_training_mode_and_rejects_unlabelled():
    model = small_model().train()
    evaluate(model, [pad_batch([[1, 2]], labels=[0])])
    assert model.training
    with pytest.raises(DataError, match="batch 0 has no labels"):
        evaluate(model, [pad_batch([[1, 2]])])
    with pytest.raises(DataError, match="at least one batch"):
        evaluate(model, [])


def test_same_seed_runs_are_bit_identical_and_global_rng_untouched(task):
    train, dev = task.examples(192, seed=1), task.batches(task.examples(64, seed=2), 32)
    cfg = TrainConfig(epochs=3, lr=0.01, patience=None, seed=4)
    rng_before = torch.get_rng_state()
    runs = []
    for _ in range(2):
        model = small_model(sparse=True)
        result = fit(model, task.loader(train, 32), dev, cfg)
        runs.append((state(model), result))
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert same(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    other = small_model(sparse=True)
    fit(other, task.loader(train, 32), dev, TrainConfig(epochs=3, lr=0.01, patience=None, seed=5))
    assert not same(runs[0][0], state(other))  # the seed matters (dropout)


def test_history_events_and_best_weights(task):
    train, dev = task.examples(160, seed=3), task.batches(task.examples(64, seed=4), 32)
    events, snapshots = [], {}
    model = small_model(sparse=True)

    def progress(event):
        events.append(event)
        if isinstance(event, EpochEvent):
            snapshots[event.epoch] = state(model)

    cfg = TrainConfig(epochs=3, lr=0.02, schedule="linear", warmup_steps=2, patience=None)
    result = fit(model, task.loader(train, 32), dev, cfg, progress=progress)
    steps = [e for e in events if isinstance(e, ProgressEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(steps) == 15 and [e.epoch for e in epochs] == [0, 1, 2]
    assert [(e.epoch, e.step, e.steps_in_epoch, e.global_step) for e in steps[:6]] == [
        (0, 0, 5, 1),
        (0, 1, 5, 2),
        (0, 2, 5, 3),
        (0, 3, 5, 4),
        (0, 4, 5, 5),
        (1, 0, 5, 6),
    ]
    # warmup 2 steps then linear decay over the remaining 13 steps of 15
    expected_lr = [0.01, 0.02] + [0.02 * (1 - k / 13) for k in range(13)]
    assert [e.lr for e in steps] == pytest.approx(expected_lr)
    assert all(e.examples_per_s > 0 and e.loss > 0 for e in steps)
    assert [h["epoch"] for h in result.history] == [0, 1, 2]
    assert set(result.history[0]) == {"epoch", "train_loss", "lr", "dev_loss", "dev_accuracy", "dev_macro_f1"}
    assert [h["train_loss"] for h in result.history] == [e.train_loss for e in epochs]
    assert [e.is_best for e in epochs][0] and sum(e.is_best for e in epochs) >= 1
    assert [e.best_epoch for e in epochs][-1] == result.best_epoch
    accs = [h["dev_accuracy"] for h in result.history]
    best = int(np.argmax(accs))  # first maximum: ties keep the earliest
    assert result.best_epoch == best and result.best_accuracy == accs[best]
    assert same(state(model), snapshots[best])
    assert evaluate(model, dev).accuracy == accs[best]
    assert result.global_step == 15 and result.epochs_run == 3 and not result.stopped_early


def test_early_stopping_when_dev_accuracy_stalls(task):
    train, dev = task.examples(64, seed=5), task.batches(task.examples(32, seed=6), 32)
    model = small_model()
    snapshots = {}

    def progress(event):
        if isinstance(event, EpochEvent):
            snapshots[event.epoch] = state(model)

    # steps of ~1e-6 move the weights but cannot flip a prediction: no new best after epoch 0
    result = fit(model, task.loader(train, 32), dev, TrainConfig(epochs=10, lr=1e-6, patience=2), progress=progress)
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 0
    assert len({h["dev_accuracy"] for h in result.history}) == 1
    assert sorted(snapshots) == [0, 1, 2] and not same(snapshots[0], snapshots[2])
    assert same(state(model), snapshots[0])  # the weights of the best epoch, not the last


def test_without_dev_batches_the_last_weights_stay(task):
    train = task.examples(64, seed=7)
    events = []
    result = fit(small_model(), task.loader(train, 32), None, TrainConfig(epochs=2, patience=1), progress=events.append)
    assert result.best_epoch is None and result.epochs_run == 2 and not result.stopped_early
    assert set(result.history[0]) == {"epoch", "train_loss", "lr"}
    assert [e.dev for e in events if isinstance(e, EpochEvent)] == [None, None]


def test_class_weights_enter_the_loss():
    model = FixedLogits([[1.0, 0.0], [0.0, 2.0]])
    batch = pad_batch([[0], [1], [1]], labels=[1, 1, 0])
    cfg = TrainConfig(epochs=1, lr=1e-12, class_weights=(3.0, 1.0), clip_norm=None)
    result = fit(model, lambda epoch: [batch], None, cfg)
    with torch.no_grad():
        logits = model(batch.ids, batch.lengths, batch.mask)
    expected = torch.nn.functional.cross_entropy(logits, batch.labels, weight=torch.tensor([3.0, 1.0]))
    assert result.history[0]["train_loss"] == pytest.approx(float(expected), rel=1e-6)
    assert float(expected) != pytest.approx(float(torch.nn.functional.cross_entropy(logits, batch.labels)))
    with pytest.raises(ConfigError, match="expected 2 weights.*got 3"):
        fit(model, lambda epoch: [batch], None, TrainConfig(epochs=1, class_weights=(1.0, 1.0, 1.0)))


def test_bad_inputs(task):
    batches = task.batches(task.examples(8, seed=1), 4)
    with pytest.raises(ConfigError, match="one-shot iterator"):
        fit(small_model(), lambda e: batches, iter(batches), TrainConfig(epochs=1))
    with pytest.raises(DataError, match=r"train_batches\(0\) gave no batches"):
        fit(small_model(), lambda e: [], None, TrainConfig(epochs=1))
    with pytest.raises(DataError, match=r"train_batches\(0\) batch 0 has no labels"):
        fit(small_model(), lambda e: [pad_batch([[1, 2]])], None, TrainConfig(epochs=1))
    with pytest.raises(ConfigError, match="TrainConfig.lr"):
        TrainConfig(lr=0)
    with pytest.raises(ConfigError, match="TrainConfig.schedule.*'step'"):
        TrainConfig(schedule="step")
    assert TrainConfig.from_dict(TrainConfig(class_weights=(1, 2)).to_dict()) == TrainConfig(class_weights=(1.0, 2.0))
