"""SubwordEmbedding: equal to fastText's word vectors, to an independent formula (forward and
gradient), padding, only touched rows moved by a fused row-wise optimizer, pretrained starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from embedlayer.errors import ConfigError, FormatError, IdOutOfRangeError
from embedlayer.layers.subword import SubwordEmbedding
from embedlayer.sparse import LazyAdam, SparseSGD
from embedlayer.subwords import char_ngrams, fasttext_hash
from embedlayer.vectors import FastTextVectors, Vectors
from embedlayer.vocab import Vocab

OOV = ["steamtrain", "xyzzy", "naïveté", "приветик", "ёлка", "qz", "a", ""]
WORDS = ["the", "cat", "sat", "naïve", "кот", "catsat"]


def _vocab() -> Vocab:
    return Vocab.build([WORDS])  # <pad>=0, <unk>=1, then the words


def _bag(layer: SubwordEmbedding, word: str | None, own: int | None) -> list[int]:
    """The rows of a word's bag, by the definition: its own row, then one row per n-gram."""
    rows = [] if own is None else [own]
    if word is not None:
        spec = layer.spec
        rows += [layer.num_words + fasttext_hash(g) % spec.buckets for g in char_ngrams(word, spec.min_n, spec.max_n)]
    return rows


def _expected(layer: SubwordEmbedding, weight: torch.Tensor, bags: list[list[int]]) -> torch.Tensor:
    out = [weight[b].sum(0) if b else torch.zeros(weight.shape[1]) for b in bags]
    if layer.spec.combine == "mean":
        out = [v / max(len(b), 1) for v, b in zip(out, bags)]
    return torch.stack(out)


@pytest.mark.parametrize("combine", ["sum", "mean"])
def test_forward_and_gradient_equal_the_formula(combine: str) -> None:
    vocab = _vocab()
    layer = SubwordEmbedding(vocab, 4, min_n=2, max_n=4, buckets=7, combine=combine, generator=torch.Generator())
    with torch.no_grad():
        layer.weight.normal_(generator=torch.Generator().manual_seed(1))  # n-gram rows non-zero too
        layer.zero_padding_row()
    ids = torch.tensor([[2, 3, 7, 0], [1, 5, 2, 6]])
    bags = [[] if i == 0 else _bag(layer, vocab.itos[i] if i >= 2 else None, i) for i in ids.reshape(-1).tolist()]
    reference = layer.weight.detach().clone().requires_grad_(True)
    expected = _expected(layer, reference, bags).reshape(2, 4, 4)
    out = layer(ids)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    probe = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(2))
    (out * probe).sum().backward()
    (expected * probe).sum().backward()
    assert layer.weight.grad is not None and reference.grad is not None
    torch.testing.assert_close(layer.weight.grad, reference.grad, rtol=0, atol=1e-6)
    assert out[0, 3].abs().sum() == 0  # padding gives zeros
    assert layer.weight.grad[0].abs().sum() == 0


def test_unseen_words_use_their_ngrams_only() -> None:
    layer = SubwordEmbedding(_vocab(), 3, buckets=11, combine="mean", generator=torch.Generator())
    with torch.no_grad():
        layer.weight.normal_(generator=torch.Generator().manual_seed(3))
    words = ["cat", "cats", "xyzzy", "cat"]
    bags = [_bag(layer, "cat", layer.index["cat"]), _bag(layer, "cats", None), _bag(layer, "xyzzy", None)]
    expected = _expected(layer, layer.weight.detach(), [*bags, bags[0]])
    torch.testing.assert_close(layer.embed_words(words), expected, rtol=0, atol=1e-6)
    with layer.extra_words(["cats"]) as ids:
        assert ids == [layer.num_words]
        torch.testing.assert_close(layer(torch.tensor(ids)), expected[1:2], rtol=0, atol=1e-6)
    with pytest.raises(IdOutOfRangeError):
        layer(torch.tensor([layer.num_words]))  # the extra word is gone after the block
    ids = layer.word_ids(["xyzzy", "cat", "cats", "xyzzy"])  # kept: the id space grows
    assert ids == [layer.num_words, layer.index["cat"], layer.num_words + 1, layer.num_words]
    torch.testing.assert_close(layer(torch.tensor(ids[:3])), expected[[2, 0, 1]], rtol=0, atol=1e-6)


@pytest.mark.parametrize("optimizer", [LazyAdam, SparseSGD])
def test_a_fused_step_moves_only_the_touched_rows(optimizer: type) -> None:
    vocab = _vocab()
    layer = SubwordEmbedding(vocab, 4, buckets=50, generator=torch.Generator().manual_seed(0))
    before = layer.weight.detach().clone()
    opt = optimizer(layer, lr=0.1).bind()
    ids = torch.tensor([[2, 4, 0]])
    layer(ids).pow(2).sum().backward()
    opt.step()
    touched = sorted({r for i in (2, 4) for r in _bag(layer, vocab.itos[i], i)})
    moved = torch.nonzero((layer.weight.detach() != before).any(1)).reshape(-1).tolist()
    assert moved == touched and layer.weight.grad is None
    assert all(r >= layer.num_words for r in touched[2:])  # n-gram rows among them, after the word rows


def test_init_gives_each_word_its_own_draw_in_both_combines() -> None:
    vocab = _vocab()
    sums = SubwordEmbedding(vocab, 5, buckets=13, combine="sum", generator=torch.Generator().manual_seed(4))
    means = SubwordEmbedding(vocab, 5, buckets=13, combine="mean", generator=torch.Generator().manual_seed(4))
    assert sums.weight[sums.num_words :].abs().sum() == 0  # n-gram rows start at zero
    ids = torch.arange(vocab.num_embeddings)
    torch.testing.assert_close(sums(ids), sums.weight[: sums.num_words].detach())
    torch.testing.assert_close(means(ids), sums(ids), rtol=0, atol=1e-5)


def test_from_vectors_fills_the_word_rows() -> None:
    vocab = _vocab()
    vectors = Vectors(["cat", "the", "dog"], np.arange(12, dtype=np.float32).reshape(3, 4))
    for combine in ("sum", "mean"):
        layer = SubwordEmbedding.from_vectors(vectors, vocab, buckets=9, combine=combine)
        assert layer.coverage is not None and layer.coverage.found == 2
        got = layer.embed_words(["cat", "the", "dog"]).detach()
        np.testing.assert_allclose(got[:2].numpy(), vectors.matrix[:2], atol=1e-5)
        assert got[2].abs().sum() == 0  # "dog" is not in the vocabulary: zero n-gram rows


@pytest.mark.interop
def test_equal_to_fasttext_get_word_vector(shared_data: Path) -> None:
    fasttext = pytest.importorskip("fasttext")
    path = shared_data / "formats" / "crime-and-punishment.bin"
    model = fasttext.load_model(str(path))
    layer = SubwordEmbedding.from_fasttext(path)
    words = model.get_words()
    with torch.no_grad():
        known = layer(torch.tensor([layer.index[w] for w in words])).numpy()
        unseen = layer.embed_words(OOV).numpy()
    np.testing.assert_allclose(known, np.stack([model.get_word_vector(w) for w in words]), atol=1e-6, rtol=0)
    np.testing.assert_allclose(unseen, np.stack([model.get_word_vector(w) for w in OOV]), atol=1e-6, rtol=0)


def test_lee_fasttext_equals_fasttext_vectors(shared_data: Path) -> None:
    """lee_fasttext.bin is older than fastText 0.2 (which fastText's module no longer reads):
    compared with FastTextVectors, itself tested against gensim, </s> with its n-grams included."""
    path = shared_data / "formats" / "lee_fasttext.bin"
    vectors = FastTextVectors.load(path)
    layer = SubwordEmbedding.from_fasttext(vectors)
    with torch.no_grad():
        known = layer(torch.arange(layer.num_words)).numpy()
        unseen = layer.embed_words(OOV).numpy()
    np.testing.assert_allclose(known, vectors.matrix, atol=1e-6, rtol=0)
    np.testing.assert_allclose(unseen, np.stack([vectors[w] for w in OOV]), atol=1e-6, rtol=0)
    assert np.abs(unseen).sum() > 0


def test_from_fasttext_into_another_vocabulary(shared_data: Path) -> None:
    vectors = FastTextVectors.load(shared_data / "formats" / "lee_fasttext.bin")
    vocab = Vocab.build([["the", "government", "zzyzx", "governments"]])
    layer = SubwordEmbedding.from_fasttext(vectors, vocab)
    assert layer.padding_idx == vocab.pad_id and layer.spec.buckets == vectors.bucket
    with torch.no_grad():
        got = layer(torch.tensor(vocab.encode(["the", "government", "zzyzx", "governments"]))).numpy()
        padded = layer(torch.tensor([vocab.pad_id])).numpy()
    expected = np.stack([vectors[w] for w in ["the", "government", "zzyzx", "governments"]])
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)  # known, and unknown via n-grams
    assert not padded.any()


def test_bad_settings_are_named(shared_data: Path, tmp_path: Path) -> None:
    vocab = _vocab()
    with pytest.raises(ConfigError, match=r"min_n <= max_n, got min_n 6 > max_n 3"):
        SubwordEmbedding(vocab, 4, min_n=6, max_n=3)
    with pytest.raises(ConfigError, match=r"buckets: expected an integer >= 1, got 0"):
        SubwordEmbedding(vocab, 4, buckets=0)
    path = shared_data / "formats" / "lee_fasttext.bin"
    with pytest.raises(FormatError, match=r"dimension 10 but embedding_dim is 8"):
        SubwordEmbedding.from_fasttext(path, vocab, embedding_dim=8)
    with pytest.raises(ConfigError, match=r"buckets 5 differs from the model's 1000"):
        SubwordEmbedding.from_fasttext(path, vocab, buckets=5)
    with pytest.raises(FormatError, match=r"no model.bin"):
        SubwordEmbedding.from_fasttext(tmp_path, vocab)
    with pytest.raises(ConfigError, match=r"from_fasttext"):
        SubwordEmbedding.from_pretrained(torch.zeros(3, 2))
