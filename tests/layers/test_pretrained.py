"""align_vectors / Embedding.from_vectors: exact then lowercase match, missing-row policies,
specials and hash buckets, the coverage report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from embedlayer.errors import ConfigError, FormatError
from embedlayer.layers import CoverageReport, Embedding, align_vectors
from embedlayer.vectors import Vectors, load_vectors
from embedlayer.vocab import Vocab

PRETRAINED = {
    "the": [1.0, 2.0, 3.0],
    "cat": [4.0, 5.0, 6.0],
    "Paris": [7.0, 8.0, 9.0],
    "paris": [-1.0, -1.0, -1.0],  # must lose to the exact "Paris"
    "dog": [0.0, 1.0, 0.0],  # reached from "Dog" by lowercase
    "unused": [9.0, 9.0, 9.0],
}
COUNTS = {"the": 10, "yak": 7, "Paris": 5, "cat": 3, "zebra": 2, "Dog": 1}
# ids: <pad>=0 <unk>=1 the=2 yak=3 Paris=4 cat=5 zebra=6 Dog=7


@pytest.fixture
def vectors() -> Vectors:
    return Vectors.from_pairs(PRETRAINED.items())


@pytest.fixture
def vocab() -> Vocab:
    return Vocab.from_counts(COUNTS)


def test_vocab_layout_assumed_by_these_tests(vocab: Vocab) -> None:
    assert vocab.itos == ("<pad>", "<unk>", "the", "yak", "Paris", "cat", "zebra", "Dog")


def test_exact_then_lowercase_and_report(vectors: Vectors, vocab: Vocab) -> None:
    weight, report = align_vectors(vectors, vocab, missing="zero")
    assert weight.shape == (8, 3) and weight.dtype == torch.float32
    for token in ("the", "Paris", "cat"):
        torch.testing.assert_close(weight[vocab.stoi[token]], torch.tensor(PRETRAINED[token]))
    torch.testing.assert_close(weight[vocab.stoi["Dog"]], torch.tensor(PRETRAINED["dog"]))
    for token in ("<pad>", "<unk>", "yak", "zebra"):
        assert torch.equal(weight[vocab.stoi[token]], torch.zeros(3))
    assert report == CoverageReport(
        total=6,
        exact=3,
        lowercase=1,
        missing=2,
        missing_examples=("yak", "zebra"),
        token_coverage=(10 + 5 + 3 + 1) / (10 + 7 + 5 + 3 + 2 + 1),
    )
    assert report.found == 4 and report.type_coverage == pytest.approx(4 / 6)


def test_lowercase_fallback_off(vectors: Vectors, vocab: Vocab) -> None:
    weight, report = align_vectors(vectors, vocab, missing="zero", lowercase_fallback=False)
    assert (report.exact, report.lowercase, report.missing) == (3, 0, 3)
    assert report.missing_examples == ("yak", "zebra", "Dog")  # most frequent first
    assert torch.equal(weight[vocab.stoi["Dog"]], torch.zeros(3))


def test_mean_policy_fills_unk_missing_and_buckets_with_mean_of_found(vectors: Vectors) -> None:
    vocab = Vocab.from_counts(COUNTS, oov="hash", hash_buckets=3)
    weight, _ = align_vectors(vectors, vocab, missing="mean")
    assert weight.shape == (11, 3)
    found = np.array([PRETRAINED[w] for w in ("the", "Paris", "cat", "dog")])
    mean = torch.tensor(found.mean(axis=0), dtype=torch.float32)
    for row in [vocab.unk_id, vocab.stoi["yak"], vocab.stoi["zebra"], 8, 9, 10]:
        torch.testing.assert_close(weight[row], mean)
    assert torch.equal(weight[vocab.pad_id], torch.zeros(3))


def test_random_policy_matches_scale_of_found_rows_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    known = [f"w{i}" for i in range(300)]
    vectors = Vectors(known, rng.normal(0.3, 0.5, size=(300, 20)).astype(np.float32))
    counts = {w: 5 for w in known} | {f"new{i}": 1 for i in range(2000)}
    vocab = Vocab.from_counts(counts, oov="hash", hash_buckets=100)
    weight, report = align_vectors(vectors, vocab, missing="random", seed=1)
    missing_ids = (
        [vocab.stoi[f"new{i}"] for i in range(2000)] + [vocab.unk_id] + list(range(len(vocab), len(vocab) + 100))
    )
    drawn = weight[missing_ids]
    expected_std = float(vectors.matrix.std(dtype=np.float64))
    assert drawn.std().item() == pytest.approx(expected_std, rel=0.03)
    assert drawn.mean().item() == pytest.approx(0.0, abs=0.01)  # centred at 0, not at the found mean 0.3
    assert torch.equal(weight[vocab.pad_id], torch.zeros(20))
    assert report.missing == 2000 and report.total == 2300
    assert report.token_coverage == pytest.approx(1500 / 3500)
    again, _ = align_vectors(vectors, vocab, missing="random", seed=1)
    other, _ = align_vectors(vectors, vocab, missing="random", seed=2)
    assert torch.equal(weight, again) and not torch.equal(weight, other)


def test_extra_specials_are_not_looked_up(vectors: Vectors) -> None:
    vocab = Vocab.from_counts({"the": 3}, extra_specials=("cat",))  # a special spelled like a word
    weight, report = align_vectors(vectors, vocab, missing="zero")
    assert torch.equal(weight[vocab.stoi["cat"]], torch.zeros(3))
    assert report.total == 1 and report.exact == 1


def test_from_vectors_builds_the_layer(vectors: Vectors, vocab: Vocab) -> None:
    state = torch.get_rng_state()
    layer = Embedding.from_vectors(vectors, vocab, missing="random", seed=3, max_norm=100.0)
    assert torch.equal(torch.get_rng_state(), state)  # no global randomness used
    expected, report = align_vectors(vectors, vocab, missing="random", seed=3)
    assert torch.equal(layer.weight.detach(), expected)
    assert layer.coverage == report
    assert layer.padding_idx == vocab.pad_id == 0
    assert torch.equal(layer.weight[0].detach(), torch.zeros(3))
    assert layer.max_norm == 100.0 and not layer.frozen
    out = layer(torch.tensor([[vocab.stoi["Paris"], 0]]))
    torch.testing.assert_close(out[0, 0], torch.tensor(PRETRAINED["Paris"]))


def test_from_vectors_frozen_and_without_pad(vectors: Vectors) -> None:
    vocab = Vocab.from_counts(COUNTS, pad_token=None)
    layer = Embedding.from_vectors(vectors, vocab, freeze=True, missing="zero")
    assert layer.frozen and layer.padding_idx is None
    assert layer.weight.shape == (7, 3)


def test_padding_row_stays_zero_while_fine_tuning_pretrained(vectors: Vectors, vocab: Vocab) -> None:
    layer = Embedding.from_vectors(vectors, vocab, missing="mean")
    optimizer = torch.optim.AdamW(layer.parameters(), lr=0.1, weight_decay=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        (layer(torch.tensor([[2, 4, 0, 0], [7, 0, 0, 0]])) - 1.0).pow(2).sum().backward()
        optimizer.step()
    assert torch.equal(layer.weight[0].detach(), torch.zeros(3))


def test_dimension_mismatch_names_both(vectors: Vectors, vocab: Vocab) -> None:
    with pytest.raises(FormatError, match="dimension 3 but embedding_dim is 7"):
        Embedding.from_vectors(vectors, vocab, embedding_dim=7)
    layer = Embedding.from_vectors(vectors, vocab, embedding_dim=3)
    assert layer.embedding_dim == 3


def test_bad_policy(vectors: Vectors, vocab: Vocab) -> None:
    with pytest.raises(ConfigError, match="missing must be one of .* got 'copy'"):
        align_vectors(vectors, vocab, missing="copy")  # type: ignore[arg-type]


def test_nothing_found_uses_whole_table_statistics(vectors: Vectors) -> None:
    vocab = Vocab.from_counts({"absent": 1, "gone": 1})
    weight, report = align_vectors(vectors, vocab, missing="mean")
    torch.testing.assert_close(weight[2], torch.tensor(vectors.matrix.mean(axis=0)))
    assert report.found == 0 and report.token_coverage == 0.0


def test_summary_is_one_human_line(vectors: Vectors, vocab: Vocab) -> None:
    _, report = align_vectors(vectors, vocab)
    text = report.summary()
    assert "\n" not in text
    assert text == (
        "4 of 6 vocabulary words found (66.7%: 3 exact, 1 lowercase), 2 missing; "
        "67.9% of token occurrences covered; most frequent missing: yak, zebra"
    )
    assert report.to_dict()["missing_examples"] == ["yak", "zebra"]


def test_integration_glove_against_sst2_head(shared_data: Path) -> None:
    with (shared_data / "classification" / "sst2_train.tsv").open(encoding="utf-8") as fh:
        next(fh)  # header
        lines = [next(fh).split("\t")[0].split() for _ in range(300)]
    vocab = Vocab.build(lines)
    glove = load_vectors(shared_data / "vectors" / "glove.6B.50d.top20k.txt", expected_dim=50)
    layer = Embedding.from_vectors(glove, vocab)
    report = layer.coverage
    assert report is not None and report.total == len(vocab) - 2
    assert report.exact + report.lowercase + report.missing == report.total
    # the top-20k GloVe words miss rarer review words, but frequent words are found
    assert report.type_coverage > 0.6 and report.token_coverage > report.type_coverage
    counts = [vocab.count(w) for w in report.missing_examples]
    assert counts == sorted(counts, reverse=True) and all(w not in glove for w in report.missing_examples)
    row = vocab.stoi["the"]
    np.testing.assert_array_equal(layer.weight[row].detach().numpy(), glove["the"])


def test_words_added_with_zero_count_are_aligned_but_not_reported() -> None:
    vocab = Vocab.from_counts({"film": 3, "zzz": 1}).extend(["good"])
    vectors = Vectors(["film", "good", "bad"], np.arange(6, dtype=np.float32).reshape(3, 2))
    weight, report = align_vectors(vectors, vocab)
    assert (report.total, report.exact, report.missing) == (2, 1, 1)
    np.testing.assert_array_equal(weight[vocab["good"]].numpy(), vectors["good"])
