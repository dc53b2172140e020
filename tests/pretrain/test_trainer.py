"""Training runs: planted structure is recovered, runs repeat, resume is exact, the loss is right."""

import numpy as np
import pytest

from embedlayer.errors import ConfigError
from embedlayer.pretrain import (
    PretrainConfig,
    PretrainEpoch,
    PretrainProgress,
    train_word_vectors,
)

TOPICS = 4
PER_TOPIC = 6


def _planted_corpus(path, sentences=1500, length=12, seed=0):
    """Sentences drawn from one topic each: words of a topic share all their contexts."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(sentences):
        topic = rng.integers(TOPICS)
        lines.append(" ".join(f"t{topic}w{i}" for i in rng.integers(PER_TOPIC, size=length)))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return _planted_corpus(tmp_path_factory.mktemp("planted") / "planted.txt")


def _config(**kw):
    return PretrainConfig(
        **{
            "dim": 16,
            "window": 3,
            "negative": 5,
            "min_count": 1,
            "sample": 0.0,
            "epochs": 3,
            "threads": 1,
            "seed": 7,
            **kw,
        }
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"model": "skipgram"},  # the fused steps
        {"model": "cbow"},
        {"model": "skipgram", "dim": 330},  # rows of 336 floats: too wide for them, the plain loops
        {"model": "cbow", "dim": 330},
        {"model": "cbow", "subwords": (2, 3), "buckets": 5000},
        {"model": "skipgram", "subwords": (2, 3), "buckets": 5000},
    ],
)
def test_words_that_share_contexts_become_nearest_neighbours(planted, kw):
    wv = train_word_vectors(planted, _config(**kw)).wv
    for word in wv.index_to_key:
        topic = word[:2]
        neighbours = [w for w, _ in wv.most_similar(word, topn=PER_TOPIC - 1)]
        assert all(n.startswith(topic) for n in neighbours), (word, neighbours)


def test_one_thread_and_a_seed_give_identical_vectors(planted):
    a = train_word_vectors(planted, _config(epochs=2))
    b = train_word_vectors(planted, _config(epochs=2))
    c = train_word_vectors(planted, _config(epochs=2, seed=8))
    assert np.array_equal(a.input_matrix, b.input_matrix) and np.array_equal(a.output_matrix, b.output_matrix)
    assert not np.array_equal(a.input_matrix, c.input_matrix)


def test_two_threads_train_as_well(planted):
    model = train_word_vectors(planted, _config(threads=2))
    assert model.stats["threads"] == 2
    wv = model.wv
    assert all(w.startswith(x[:2]) for x in wv.index_to_key for w, _ in wv.most_similar(x, topn=3))


def test_threads_share_the_chunks_and_train_each_once(tmp_path):
    """The examples a chunk trains depend on its own draws alone: any number of threads taking
    chunks as they come must train the same ones, each once."""
    corpus = _planted_corpus(tmp_path / "big.txt", sentences=20_000)  # 24 chunks
    examples = {}
    for threads in (1, 2, 3):
        events = []
        train_word_vectors(corpus, _config(epochs=2, threads=threads, sample=1e-3), progress=events.append)
        examples[threads] = [e.examples for e in events if isinstance(e, PretrainEpoch)]
    assert examples[1] == examples[2] == examples[3]
    assert examples[1][0] != examples[1][1]  # the epochs draw differently: the count is a real check


def test_resume_continues_exactly(planted, tmp_path):
    full = train_word_vectors(planted, _config(epochs=3))
    ckpt = tmp_path / "ckpt"

    def stop_in_second_epoch(event):  # after the checkpoint written at the end of the first epoch
        if isinstance(event, PretrainProgress) and event.epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_word_vectors(planted, _config(epochs=3), progress=stop_in_second_epoch, checkpoint_dir=ckpt)
    resumed = train_word_vectors(planted, _config(epochs=3), checkpoint_dir=ckpt, resume=True)
    assert np.array_equal(full.input_matrix, resumed.input_matrix)
    assert np.array_equal(full.output_matrix, resumed.output_matrix)
    assert resumed.stats["epoch_loss"] == pytest.approx(full.stats["epoch_loss"], rel=1e-12)


def test_mid_epoch_checkpoints_resume_exactly(planted, tmp_path, monkeypatch):
    from embedlayer.pretrain import trainer

    monkeypatch.setattr(trainer, "_CHUNK_WORDS", 500)  # several blocks per epoch
    full = train_word_vectors(planted, _config(epochs=2))
    ckpt = tmp_path / "ckpt"
    blocks = []

    def stop_in_the_middle(event):
        if isinstance(event, PretrainProgress):
            blocks.append(event.words_done)
            if len(blocks) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_word_vectors(
            planted, _config(epochs=2), progress=stop_in_the_middle, checkpoint_dir=ckpt, checkpoint_every=0
        )
    assert 0 < blocks[0] < 1500 * 12  # the checkpoint is inside the first epoch
    resumed = train_word_vectors(planted, _config(epochs=2), checkpoint_dir=ckpt, resume=True)
    assert np.array_equal(full.input_matrix, resumed.input_matrix)
    assert np.array_equal(full.output_matrix, resumed.output_matrix)


def test_resume_refuses_other_settings_or_corpus(planted, tmp_path):
    ckpt = tmp_path / "ckpt"

    def stop(event):
        if isinstance(event, PretrainProgress) and event.epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_word_vectors(planted, _config(epochs=2), progress=stop, checkpoint_dir=ckpt)
    with pytest.raises(ConfigError, match="other settings.*dim"):
        train_word_vectors(planted, _config(epochs=2, dim=8), checkpoint_dir=ckpt, resume=True)
    other = _planted_corpus(tmp_path / "other.txt", sentences=900, seed=1)
    with pytest.raises(ConfigError, match="another vocabulary"):
        train_word_vectors(other, _config(epochs=2), checkpoint_dir=ckpt, resume=True)
    with pytest.raises(ConfigError, match="no checkpoint"):
        train_word_vectors(planted, _config(epochs=2), checkpoint_dir=tmp_path / "none", resume=True)
    with pytest.raises(ConfigError, match="needs checkpoint_dir"):
        train_word_vectors(planted, _config(epochs=2), resume=True)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_loss_with_zero_output_vectors_is_k_plus_1_log_2(planted, model):
    # output vectors start at zero and lr is tiny: every example scores 0 against all K+1 words,
    # so the mean loss per positive example is exactly (K + 1) log 2
    events = []
    train_word_vectors(planted, _config(model=model, epochs=1, lr=1e-9, min_lr=0.0, negative=4), progress=events.append)
    epoch = next(e for e in events if isinstance(e, PretrainEpoch))
    assert epoch.loss == pytest.approx(5 * np.log(2), rel=1e-6)
    running = [e.loss for e in events if isinstance(e, PretrainProgress)]
    assert running[-1] == pytest.approx(epoch.loss)


def test_loss_falls_and_progress_counts_words(planted):
    events = []
    model = train_word_vectors(planted, _config(epochs=3), progress=events.append)
    losses = model.stats["epoch_loss"]
    assert losses[0] > losses[1] > losses[2]
    progress = [e for e in events if isinstance(e, PretrainProgress)]
    assert progress[-1].words_done == progress[-1].words_total == 3 * 1500 * 12
    assert progress[-1].lr == pytest.approx(1e-4)


def test_unseen_words_get_subword_vectors_and_files_round_trip(planted, tmp_path):
    from embedlayer.vectors import load_vectors

    model = train_word_vectors(planted, _config(subwords=(2, 3), buckets=5000))
    out = model.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "meta.json",
        "model.bin",
        "pretrain.json",
        "vectors.npy",
        "words.txt",
    ]
    native = load_vectors(out)
    ft = load_vectors(out / "model.bin")
    np.testing.assert_allclose(native.matrix, model.wv.matrix, atol=1e-7)
    np.testing.assert_allclose(ft.matrix, model.wv.matrix, atol=1e-6)
    unseen = "t1w12"  # never in the corpus; its n-grams are shared with topic 1's words
    assert unseen not in ft.key_to_index
    rows = ft.subword_ids(unseen)
    np.testing.assert_allclose(ft[unseen], model.input_matrix[rows].mean(axis=0), atol=1e-6)
    assert ft.most_similar(unseen, topn=1)[0][0].startswith("t1")


@pytest.mark.interop
def test_fasttext_reads_our_model_bin(planted, tmp_path):
    fasttext = pytest.importorskip("fasttext")
    model = train_word_vectors(planted, _config(subwords=(2, 4), buckets=3000))
    model.save_fasttext(tmp_path / "m.bin")
    ft = fasttext.load_model(str(tmp_path / "m.bin"))
    wv = model.wv
    assert ft.get_dimension() == 16 and sorted(ft.words) == sorted(wv.index_to_key)
    for word in ["t0w1", "t3w5", "t2w9", "unseen"]:
        np.testing.assert_allclose(ft.get_word_vector(word), wv[word], atol=1e-6)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"window": 0}, "window"),
        ({"negative": -1}, "negative"),
        ({"dim": 0}, "dim"),
        ({"subwords": (6, 3)}, "subwords"),
        ({"epochs": 0}, "epochs"),
        ({"sample": -1.0}, "sample"),
        ({"model": "glove"}, "model"),
        ({"lr": 0.0}, "lr"),
        ({"min_lr": 1.0}, "min_lr"),
        ({"subwords": (3, 6), "buckets": 0}, "buckets"),
        ({"threads": 0}, "threads"),
    ],
)
def test_invalid_settings_name_the_field(kw, message):
    with pytest.raises(ConfigError, match=message):
        PretrainConfig(**kw)


def test_default_learning_rates():
    assert PretrainConfig(model="skipgram").start_lr == 0.025  # word2vec's
    assert PretrainConfig(model="cbow").start_lr == 0.05
    assert PretrainConfig(model="skipgram", subwords=(3, 6)).start_lr == 0.03
    assert PretrainConfig(model="cbow", subwords=(3, 6), lr=0.1).start_lr == 0.1


def test_a_compile_of_the_kernels_is_announced_once():
    from numba.core import event as numba_event

    from embedlayer.pretrain import PretrainCompile, kernels, trainer

    events = []
    with numba_event.install_listener("numba:compile", trainer._CompileNotice(events.append)):
        for dispatcher in (kernels.output_step, kernels.train_chunk, kernels.train_chunk):
            with numba_event.trigger_event("numba:compile", data={"dispatcher": dispatcher}):
                pass
    assert events == [PretrainCompile()]
