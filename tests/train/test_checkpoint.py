"""Checkpoints: safetensors + JSON round trips, optimizer state, errors, atomic replacement."""

import json

import pytest
import torch

from embedlayer.batching import pad_batch
from embedlayer.errors import FormatError, ModelError
from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.train import TrainConfig, build_optimizers, has_checkpoint, load_checkpoint, save_checkpoint
from embedlayer.train.checkpoint import flatten_state, unflatten_state


def model(seed=0, dim=4):
    cfg = ClassifierConfig(
        num_embeddings=12,
        embedding_dim=dim,
        num_classes=2,
        dropout=0.0,
        encoder=EncoderConfig(kind="bag"),
        sparse_embedding=True,
    )
    return build_classifier(cfg, seed=seed)


def train_step(m, opts, seqs):
    batch = pad_batch(seqs, labels=[0] * len(seqs))
    for o in opts:
        o.zero_grad()
    torch.nn.functional.cross_entropy(m(batch.ids, batch.lengths, batch.mask), batch.labels).backward()
    for o in opts:
        o.step()


def test_flatten_round_trip_keeps_structure_types_and_tensors():
    state = {
        "state": {0: {"step": torch.tensor(3.0), "m": torch.arange(4.0)}, 5: {"step": 2}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 5], "name": None}],
    }
    tensors = {}
    skeleton = flatten_state(state, "opt0", tensors)
    text = json.dumps(skeleton)
    assert sorted(tensors) == ["opt0/state/0/m", "opt0/state/0/step"]
    back = unflatten_state(json.loads(text), tensors)
    assert back["param_groups"] == state["param_groups"]  # tuples and int keys survive JSON
    assert isinstance(back["param_groups"][0]["betas"], tuple)
    assert set(back["state"]) == {0, 5} and back["state"][5] == {"step": 2}
    assert torch.equal(back["state"][0]["m"], state["state"][0]["m"])
    with pytest.raises(FormatError, match="'opt0/state/0/m' named in the JSON is missing"):
        unflatten_state(json.loads(text), {k: v for k, v in tensors.items() if k != "opt0/state/0/m"})


def test_save_and_load_restores_weights_optimizer_and_extras(tmp_path):
    m = model()
    opts = build_optimizers(m, TrainConfig(lr=0.05))
    train_step(m, opts, [[1, 2, 3], [4]])
    path = save_checkpoint(
        tmp_path / "ck",
        m,
        {"epoch": 3, "history": [{"loss": 0.5}]},
        optimizers=opts,
        tensors={"rng": torch.get_rng_state()},
    )
    assert sorted(p.name for p in path.iterdir()) == [
        "checkpoint.json",
        "model.safetensors",
        "optimizers.safetensors",
        "tensors.safetensors",
    ]
    meta = json.loads((path / "checkpoint.json").read_text())
    assert meta["format"] == "embedlayer.checkpoint" and meta["extra"]["epoch"] == 3
    # continue the original and a restored copy with the same step: bit-identical
    m2 = model(seed=99)
    opts2 = build_optimizers(m2, TrainConfig(lr=0.05))
    ck = load_checkpoint(path, m2, optimizers=opts2)
    assert ck.extra == {"epoch": 3, "history": [{"loss": 0.5}]}
    assert torch.equal(ck.tensors["rng"], torch.get_rng_state())
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    train_step(m, opts, [[1, 5], [6, 7]])
    train_step(m2, opts2, [[1, 5], [6, 7]])
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_overwrite_is_atomic_and_leaves_no_temporaries(tmp_path):
    m = model()
    save_checkpoint(tmp_path / "ck", m, {"epoch": 1})
    save_checkpoint(tmp_path / "ck", m, {"epoch": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    assert load_checkpoint(tmp_path / "ck").extra == {"epoch": 2}
    with pytest.raises(TypeError):  # not JSON-able: fails before anything is written
        save_checkpoint(tmp_path / "ck", m, {"epoch": object()})
    assert load_checkpoint(tmp_path / "ck").extra == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


def test_load_errors_name_the_problem(tmp_path):
    assert not has_checkpoint(tmp_path / "none")
    with pytest.raises(FormatError, match="no checkpoint"):
        load_checkpoint(tmp_path / "none")
    path = save_checkpoint(tmp_path / "ck", model(), {})
    with pytest.raises(ModelError, match=r"embedding.weight has shape \(12, 4\).*\(12, 6\)"):
        load_checkpoint(path, model(dim=6))
    with pytest.raises(ModelError, match="0 optimizer states, expected 2"):
        m = model()
        load_checkpoint(path, m, optimizers=build_optimizers(m, TrainConfig()))
    (path / "checkpoint.json").write_text('{"format": "other"}')
    with pytest.raises(FormatError, match="expected format 'embedlayer.checkpoint'"):
        load_checkpoint(path)
    (path / "checkpoint.json").write_text(
        '{"format": "embedlayer.checkpoint", "version": 1, "extra": {}, "optimizers": []}'
    )
    (path / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(FormatError, match="unreadable safetensors"):
        load_checkpoint(path, model())


def test_crash_between_renames_falls_back_to_old_copy(tmp_path):
    m = model()
    save_checkpoint(tmp_path / "ck", m, {"epoch": 1})
    (tmp_path / "ck").rename(tmp_path / "ck.old")  # as if killed after moving the old copy aside
    assert has_checkpoint(tmp_path / "ck")
    assert load_checkpoint(tmp_path / "ck").extra == {"epoch": 1}
    save_checkpoint(tmp_path / "ck", m, {"epoch": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    assert load_checkpoint(tmp_path / "ck").extra == {"epoch": 2}
