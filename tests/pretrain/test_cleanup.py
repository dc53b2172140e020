"""What a pretraining run leaves behind (issue 13 §1, §5): temporary id files of a killed run are
removed by the next one, a checkpoint folder is replaced or removed only when it is a checkpoint,
checkpoint files follow the umask; the corpus's BOM is no word, and bad bytes are counted as bytes
or, strictly, refused."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from embedlayer.errors import ConfigError, DataError
from embedlayer.pretrain import PretrainConfig, train_word_vectors
from embedlayer.pretrain.corpus import encode_corpus

CONFIG = PretrainConfig(dim=8, window=2, min_count=1, epochs=2, threads=1, sample=0.0)


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b c d a b c d e f\n" * 100)
    return path


def test_a_killed_runs_scratch_folder_is_removed_by_the_next_run(corpus, tmp_path):
    work = tmp_path / "work"
    stale = work / ".embedlayer-tmp-killed"
    stale.mkdir(parents=True)
    (stale / ".embedlayer.lock").write_text("12345\n")  # nobody holds it: its run is gone
    (stale / "ids-x.i32").write_bytes(b"\0" * 400)
    unrelated = work / "mine.i32"
    unrelated.write_bytes(b"1234")
    seen = []
    train_word_vectors(corpus, CONFIG, workdir=work, progress=lambda e: seen.append(sorted(os.listdir(work))))
    assert not stale.exists() and unrelated.read_bytes() == b"1234"
    assert any(len(names) == 2 for names in seen)  # the run's own scratch folder beside mine.i32
    assert sorted(os.listdir(work)) == ["mine.i32"]  # and gone at the end


def test_an_interrupted_run_removes_its_scratch_folder(corpus, tmp_path):
    work = tmp_path / "work"

    def interrupt(event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_word_vectors(corpus, CONFIG, workdir=work, progress=interrupt)
    assert os.listdir(work) == []


def test_checkpoints_replace_and_remove_only_checkpoints(corpus, tmp_path):
    from embedlayer.pretrain.checkpoint import remove_checkpoint

    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a pretraining checkpoint"):
        train_word_vectors(corpus, CONFIG, checkpoint_dir=folder, checkpoint_every=0.0)
    assert remove_checkpoint(folder) is False
    assert (folder / "notes.txt").read_text() == "x"
    ours = tmp_path / "ours"
    train_word_vectors(corpus, PretrainConfig(**{**CONFIG.to_dict(), "epochs": 3}), checkpoint_dir=ours)
    assert (ours / "state.json").is_file()
    assert remove_checkpoint(ours) is True and not ours.exists()


def test_checkpoint_files_follow_the_umask(corpus, tmp_path):
    old = os.umask(0o022)
    try:
        train_word_vectors(corpus, PretrainConfig(**{**CONFIG.to_dict(), "epochs": 3}), checkpoint_dir=tmp_path / "ck")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "ck").iterdir()}
    assert modes == dict.fromkeys(modes, 0o644) and len(modes) == 3
    assert stat.S_IMODE((tmp_path / "ck").stat().st_mode) == 0o755


@pytest.mark.parametrize("tokenizer", [None, "whitespace"])
def test_a_bom_is_not_part_of_the_first_word(tmp_path, tokenizer):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfthe cat the cat\nthe end\n")
    data = encode_corpus(path, tmp_path, min_count=1, tokenizer=tokenizer)
    assert data.words[0] == "the" and dict(zip(data.words, data.counts.tolist()))["the"] == 3
    assert data.replaced == 0


@pytest.mark.parametrize("tokenizer", [None, "whitespace"])
def test_replaced_bytes_are_counted_as_bytes(tmp_path, tokenizer):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok \xe2\x82 ok\n" + b"ok word " * 20 + b"\n")  # a cut 3-byte sequence: 2 bytes, one U+FFFD
    data = encode_corpus(path, tmp_path, min_count=1, tokenizer=tokenizer)
    assert data.replaced == 2 and "\ufffd" in data.words


@pytest.mark.parametrize("tokenizer", [None, "whitespace"])
def test_strict_encoding_names_the_file_and_the_byte(tmp_path, tokenizer):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok ok\n" * 1000 + b"caf\xe9\n")
    with pytest.raises(DataError, match=rf"{path} at byte 6003.*0xe9"):
        encode_corpus(path, tmp_path, min_count=1, tokenizer=tokenizer, errors="strict")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.txt"]  # no id file left


def test_train_word_vectors_passes_strictness_on(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"a b c\xff\n" * 20 + b"a b c d e f g\n" * 100)
    with pytest.raises(DataError, match="0xff"):
        train_word_vectors(path, CONFIG, encoding_errors="strict", workdir=tmp_path)
    model = train_word_vectors(path, CONFIG, workdir=tmp_path)
    assert model.stats["invalid_utf8_replaced"] == 20 and np.isfinite(model.input_matrix).all()
