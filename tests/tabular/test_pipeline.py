"""TabularPipeline: training, evaluation, prediction, save/load as one unit, exact resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from embedlayer.errors import DataError, ModelError
from embedlayer.tabular import ModelSettings, SpecOptions, TabularPipeline, split_dev
from embedlayer.train import EpochEvent, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest

CFG = TrainConfig(epochs=2, batch_size=256, lr=2e-3, sparse_optimizer="adam", embedding_lr=1e-2, seed=0)


def build(train, **spec):
    return TabularPipeline.build(train, SpecOptions(target="income", **spec), ModelSettings(seed=0))


def test_fit_evaluate_predict_save_load(adult_small, tmp_path):
    train, test = adult_small
    pipe = build(train)
    result = pipe.fit(*split_dev(train, 0.2, 0), CFG)
    assert result.epochs_run == 2 and result.best_accuracy is not None
    metrics = pipe.evaluate(test)
    assert metrics["accuracy"] > 0.78 and metrics["examples"] == 1000
    assert set(metrics["unseen"]) >= {"workclass", "native-country"}
    probs = pipe.predict(test)
    assert probs.shape == (1000, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    pipe.save(tmp_path / "m")
    again = TabularPipeline.load(tmp_path / "m")
    assert np.array_equal(again.predict(test), probs)
    assert again.spec == pipe.spec
    names, vectors = again.column_vectors("occupation")
    assert vectors.shape == (len(names), again.spec.column("occupation").embedding_dim)


def test_unseen_values_map_to_unknown_rows_never_index_error(adult_small):
    train, test = adult_small
    pipe = build(train)
    pipe.fit(train, None, TrainConfig(epochs=1, batch_size=512))
    odd = test.select(np.arange(5))
    cols = dict(odd.columns)
    cols["occupation"] = np.array(["Astronaut"] * 5, dtype=object)
    cols["age"] = np.array(["130"] * 5, dtype=object)
    weird = type(odd)(cols, "weird.csv", None)
    metrics = pipe.evaluate(weird)
    assert metrics["unseen"]["occupation"] == 5
    assert pipe.predict(weird).shape == (5, 2)


def test_regression_target(adult_small):
    train, _ = adult_small
    pipe = TabularPipeline.build(train, SpecOptions(target="hours-per-week", ignore=("income",)))
    assert pipe.spec.task == "regression"
    pipe.fit(train, train.select(np.arange(300)), TrainConfig(epochs=2, batch_size=256, sparse_optimizer="adam"))
    metrics = pipe.evaluate(train.select(np.arange(300)))
    assert 0 < metrics["rmse"] < 13  # hours-per-week: std about 12.3
    assert pipe.predict(train.select(np.arange(3))).shape == (3,)


def test_resume_is_exact(adult_small, tmp_path):
    train, _ = adult_small
    a, d = split_dev(train, 0.2, 0)
    full = build(a)
    full.fit(a, d, CFG)
    part = build(a)

    def stop_after_first_epoch(event):
        if isinstance(event, EpochEvent):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        part.fit(a, d, CFG, checkpoint_dir=tmp_path / "ck", progress=stop_after_first_epoch)
    resumed = build(a)
    resumed.fit(a, d, CFG, checkpoint_dir=tmp_path / "ck", resume=True)
    for (name, x), y in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(x, y), name


def test_load_refuses_other_models(adult_small, tmp_path):
    train, _ = adult_small
    pipe = build(train)
    pipe.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "format": "embedlayer.text-classifier"}))
    with pytest.raises(ModelError, match="format is 'embedlayer.text-classifier', expected 'embedlayer.tabular'"):
        TabularPipeline.load(tmp_path / "m")
    with pytest.raises(ModelError, match="no config.json"):
        TabularPipeline.load(tmp_path)


def test_a_config_that_disagrees_with_the_weights_is_refused_before_building(adult_small, tmp_path):
    train, _ = adult_small
    build(train).save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["model"]["hidden"] = [2_000_000_000, 128]  # 8 GB a row of the first layer if it were built
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="weight"):
        TabularPipeline.load(tmp_path / "m")


@pytest.mark.slow
def test_adult_official_test_accuracy(adult, one_thread):
    train, test = adult
    pipe = build(train)
    pipe.fit(*split_dev(train, 0.1, 0), TrainConfig(**{**CFG.to_dict(), "epochs": 8, "batch_size": 512}))
    assert pipe.evaluate(test)["accuracy"] >= 0.865


def test_a_last_training_batch_of_one_row_joins_the_one_before(adult_small):
    train, _ = adult_small
    rows = train.select(np.arange(513))  # 512 + 1: batch norm cannot train on one row
    pipe = build(rows)
    result = pipe.fit(rows, None, TrainConfig(epochs=1, batch_size=512, sparse_optimizer="adam"))
    assert result.global_step == 1
    with pytest.raises(DataError, match="1 training row"):
        pipe.fit(rows.select(np.arange(1)), None, TrainConfig(epochs=1))
