"""The row-wise optimizers in the classifier's training loop, its checkpoints and its CLI."""

import numpy as np
import pytest
import torch

from embedlayer.batching import pad_batch
from embedlayer.cli.main import main
from embedlayer.errors import ConfigError
from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.sparse import LazyAdam
from embedlayer.train import EpochEvent, TrainConfig, build_optimizers, fit, unbind_row_optimizers

MARK, VOCAB = 7, 30


def examples(n, seed):
    """Label 1 iff token 7 occurs (ids 1..29; 0 pads)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        seq = rng.choice([t for t in range(1, VOCAB) if t != MARK], size=int(rng.integers(1, 9))).tolist()
        label = int(rng.integers(0, 2))
        if label:
            seq[int(rng.integers(0, len(seq)))] = MARK
        out.append((seq, label))
    return out


def batches(data, size, seed=None):
    order = np.arange(len(data)) if seed is None else np.random.default_rng(seed).permutation(len(data))
    chunks = [[data[i] for i in order[s : s + size]] for s in range(0, len(data), size)]
    return [pad_batch([s for s, _ in c], labels=[y for _, y in c]) for c in chunks]


def model(sparse=True, **kw):
    cfg = ClassifierConfig(
        num_embeddings=VOCAB,
        embedding_dim=8,
        num_classes=2,
        encoder=EncoderConfig(kind="bag"),
        dropout=0.0,
        sparse_embedding=sparse,
        **kw,
    )
    return build_classifier(cfg, seed=1)


TRAIN, DEV = examples(400, 0), batches(examples(200, 1), 64)


@pytest.mark.parametrize(("name", "emb_lr"), [("sgd", 2.0), ("adagrad", 0.3), ("rowwise-adagrad", 0.3), ("adam", 0.1)])
def test_each_row_wise_optimizer_learns_the_task_and_keeps_padding_zero(name, emb_lr):
    m = model()
    cfg = TrainConfig(epochs=6, lr=0.02, embedding_lr=emb_lr, sparse_optimizer=name, schedule="constant", patience=None)
    result = fit(m, lambda e: batches(TRAIN, 32, seed=e), DEV, cfg)
    assert result.best_accuracy >= 0.9
    assert m.embedding.row_sink is None  # bound for the run only: fit leaves a plain model
    assert (m.embedding.weight[0] == 0).all()


def test_build_optimizers_binds_the_sparse_tables():
    m = model()
    cfg = TrainConfig(lr=0.01, embedding_lr=0.2, sparse_optimizer="adam", embedding_weight_decay=0.1)
    opts = build_optimizers(m, cfg)
    assert [type(o) for o in opts] == [torch.optim.Adam, LazyAdam]
    assert opts[1].tables == (m.embedding,) and m.embedding.row_sink.optimizer is opts[1]
    unbind_row_optimizers(opts)
    assert m.embedding.row_sink is None
    assert opts[1].param_groups[0]["lr"] == opts[1].param_groups[0]["initial_lr"] == 0.2
    assert opts[1].param_groups[0]["weight_decay"] == 0.1
    frozen = model()
    frozen.embedding.freeze()
    assert len(build_optimizers(frozen, TrainConfig(sparse_optimizer="sgd"))) == 1  # nothing to train: no-op
    with pytest.raises(ConfigError, match="trainable embedding tables of TextClassifier have dense gradients"):
        build_optimizers(model(sparse=False), TrainConfig(sparse_optimizer="sgd"))


def test_config_validates_the_new_fields():
    with pytest.raises(ConfigError, match="TrainConfig.sparse_optimizer: expected None .* got 'lamb'"):
        TrainConfig(sparse_optimizer="lamb")
    with pytest.raises(ConfigError, match="embedding_weight_decay: expected 0 with sparse_optimizer=None"):
        TrainConfig(embedding_weight_decay=0.1)
    cfg = TrainConfig(sparse_optimizer="rowwise-adagrad", embedding_weight_decay=0.01)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


class Interrupt(Exception):
    pass


def test_resume_from_a_checkpoint_matches_the_uninterrupted_run(tmp_path):
    cfg = TrainConfig(
        epochs=4,
        lr=0.02,
        embedding_lr=0.05,
        sparse_optimizer="adam",
        schedule="cosine",
        warmup_steps=3,
        patience=None,
        seed=11,
    )

    def train(e):
        return batches(TRAIN[:128], 32, seed=e)

    full = model()
    full_result = fit(full, train, DEV, cfg, checkpoint_dir=tmp_path / "full")

    def stop(event):
        if isinstance(event, EpochEvent) and event.epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        fit(model(), train, DEV, cfg, checkpoint_dir=tmp_path / "part", progress=stop)
    resumed = model()
    result = fit(resumed, train, DEV, cfg, checkpoint_dir=tmp_path / "part", resume=True)
    assert result == full_result
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def write_tsv(path, n, seed):
    rng = np.random.default_rng(seed)
    filler = ["the", "a", "movie", "was", "quite", "plot", "and", "very"]
    rows = ["text\tlabel"]
    for i in range(n):
        words = list(rng.choice(filler, size=4))
        words.insert(2, "good" if i % 2 else "bad")
        rows.append(f"{' '.join(words)}\t{'pos' if i % 2 else 'neg'}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cli_classify_train_with_a_row_wise_optimizer(tmp_path, capsys):
    train, dev = write_tsv(tmp_path / "train.tsv", 120, 0), write_tsv(tmp_path / "dev.tsv", 40, 1)
    argv = [
        "classify",
        "train",
        "--train",
        str(train),
        "--dev",
        str(dev),
        "--out",
        str(tmp_path / "m"),
        "--encoder",
        "bag",
        "--dim",
        "16",
        "--epochs",
        "3",
        "--lr",
        "0.05",
        "--embedding-lr",
        "0.2",
        "--quiet",
        "--sparse-optimizer",
        "rowwise-adagrad",
        "--embedding-weight-decay",
        "0.001",
    ]
    assert main(argv) == 0
    assert "dev accuracy 1.0000" in capsys.readouterr().out
    assert (
        main(
            [
                "classify",
                "train",
                "--train",
                str(train),
                "--out",
                str(tmp_path / "x"),
                "--quiet",
                "--embedding-weight-decay",
                "0.1",
            ]
        )
        == 2
    )
    assert "--embedding-weight-decay 0.1 needs a row-wise --sparse-optimizer" in capsys.readouterr().err


def test_a_checkpoint_written_before_the_new_fields_still_resumes(tmp_path):
    import json

    cfg = TrainConfig(epochs=2, lr=0.02, patience=None, seed=3)

    def train(e):
        return batches(TRAIN[:64], 32, seed=e)

    fit(model(), train, DEV, TrainConfig(epochs=1, lr=0.02, patience=None, seed=3), checkpoint_dir=tmp_path)
    meta_path = tmp_path / "last" / "checkpoint.json"
    meta = json.loads(meta_path.read_text())
    for key in ("sparse_optimizer", "embedding_weight_decay"):  # as an older embedlayer wrote it
        del meta["extra"]["train_config"][key]
    meta_path.write_text(json.dumps(meta))
    result = fit(model(), train, DEV, cfg, checkpoint_dir=tmp_path, resume=True)
    assert result.epochs_run == 2
