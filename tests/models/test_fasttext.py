"""The fastText-style classifier: its rows (fastText's hashing), its output, its fused training."""

import copy

import numpy as np
import pytest
import torch

from embedlayer.batching import pad_batch
from embedlayer.errors import ConfigError
from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.models.fasttext import FastTextClassifier, init_rows, train_epochs
from embedlayer.models.fasttext_ids import RowScheme, build_rows, build_weighted_rows

WORDS = ["<pad>", "<unk>", "the", "film", "is", "good", "bad", "très", "bien"]
STOI = {w: i for i, w in enumerate(WORDS)}
TEXTS = [
    ["the", "film", "is", "good"],
    ["the", "film", "is", "bad"],
    ["très", "bien", "unseen", "film"],
    [],
    ["good"],
    ["bad", "bad", "very", "bad", "film"],
]


def fnv_signed(token: str) -> int:
    """fastText's Dictionary::hash, written out: FNV-1a, bytes entering as signed chars."""
    h = 2166136261
    for b in token.encode("utf-8"):
        h ^= (b - 256 if b >= 128 else b) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def fasttext_line(tokens, nwords, buckets, n, eos=False):
    """Rows of Dictionary::getLine + addWordNgrams (no char n-grams), in Python integers; with
    ``eos`` the line ends with "</s>", whose row (absent from STOI) is the bucket of its hash."""
    rows = [STOI[t] for t in tokens if t in STOI and STOI[t] >= 2]
    if eos:
        tokens = [*tokens, "</s>"]
        rows.append(nwords + fnv_signed("</s>") % buckets)
    hashes = [fnv_signed(t) for t in tokens]
    hashes = [h - (1 << 32) if h >= (1 << 31) else h for h in hashes]  # std::vector<int32_t>
    for i in range(len(hashes)):
        h = hashes[i] % (1 << 64)  # int32 -> uint64: sign extension
        for j in range(i + 1, min(len(hashes), i + n)):
            h = (h * 116049371 + hashes[j]) % (1 << 64)
            rows.append(nwords + h % buckets)
    return rows


def rows_of(tokens_list, scheme):
    ids, offsets = build_rows(tokens_list, STOI, scheme, skip=frozenset({0, 1}))
    return [ids[offsets[t] : offsets[t + 1]].tolist() for t in range(len(tokens_list))]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("eos", [False, True])
def test_word_ngram_rows_follow_fasttexts_formula(n, eos):
    scheme = RowScheme(nwords=len(WORDS), buckets=1009, word_ngrams=n, eos=eos)
    assert rows_of(TEXTS, scheme) == [fasttext_line(t, len(WORDS), 1009, n, eos) for t in TEXTS]


def test_char_ngram_rows_come_after_each_word_and_max_len_cuts_first():
    from embedlayer.subwords import subword_ids

    scheme = RowScheme(nwords=len(WORDS), buckets=97, word_ngrams=2, minn=2, maxn=3)
    got = rows_of([["très", "zz", "film"]], scheme)[0]
    sub = [subword_ids(w, 2, 3, 97, len(WORDS)).tolist() for w in ("très", "zz", "film")]
    bigrams = fasttext_line(["très", "zz", "film"], len(WORDS), 97, 2)[2:]  # after the 2 known words
    assert got == [STOI["très"], *sub[0], *sub[1], STOI["film"], *sub[2], *bigrams]
    cut = build_rows([["the", "film", "is"]], STOI, RowScheme(nwords=len(WORDS), buckets=5), max_len=1)
    assert cut[0].tolist() == [STOI["the"]] and cut[1].tolist() == [0, 1]


def test_row_scheme_refuses_bad_settings():
    for kw in ({"buckets": 0}, {"minn": 4, "maxn": 3}, {"word_ngrams": 0}):
        with pytest.raises(ConfigError):
            RowScheme(nwords=5, **{"buckets": 10, **kw})


def model_and_rows(seed=0, classes=3, dim=6, buckets=50, **encoder):
    cfg = ClassifierConfig(
        num_embeddings=len(WORDS) + buckets,
        embedding_dim=dim,
        num_classes=classes,
        encoder=EncoderConfig(kind="fasttext", ft_buckets=buckets, **encoder),
    )
    model = build_classifier(cfg, seed=seed)
    assert isinstance(model, FastTextClassifier)
    ids, offsets = build_rows(TEXTS, STOI, model.scheme, skip=frozenset({0, 1}))
    return model, ids, offsets


def test_word_combine_makes_each_word_one_term_of_the_mean():
    """ft_combine="word": the text's vector is the mean, over its words and bigrams, of each one's
    mean row (a word: its own row and its char n-grams), written out here from the rows."""
    from embedlayer.subwords import subword_ids

    model, _, _ = model_and_rows(buckets=97, ft_minn=2, ft_maxn=3, ft_combine="word", ft_eos=False)
    ids, offsets, weights = build_weighted_rows(TEXTS, STOI, model.scheme, skip=frozenset({0, 1}))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    weight, head_w, head_b = (t.detach().clone() for t in (model.embedding.weight, model.head.weight, model.head.bias))
    expected = []
    for tokens in TEXTS:
        known = [t for t in tokens if STOI.get(t, 0) >= 2]
        units = [([STOI[t]] if t in known else []) + subword_ids(t, 2, 3, 97, len(WORDS)).tolist() for t in tokens]
        units += [[r] for r in fasttext_line(tokens, len(WORDS), 97, 2)[len(known) :]]  # the bigrams
        mean = torch.stack([weight[u].mean(0) for u in units]).mean(0) if units else torch.zeros(weight.shape[1])
        expected.append(head_w @ mean + head_b)
    got = model.forward_bags(torch.from_numpy(ids), torch.from_numpy(offsets), torch.from_numpy(weights))
    torch.testing.assert_close(got, torch.stack(expected), rtol=1e-5, atol=1e-5)
    assert np.array_equal(ids, build_rows(TEXTS, STOI, model.scheme, skip=frozenset({0, 1}))[0])
    with pytest.raises(ConfigError, match="forward_bags"):
        model(torch.zeros(1, 2, dtype=torch.int64), torch.tensor([2]))
    plain = RowScheme(nwords=len(WORDS), buckets=97, combine="word")  # no char n-grams: the plain mean
    assert build_weighted_rows(TEXTS, STOI, plain)[2] is None
    with pytest.raises(ConfigError, match="combine"):
        RowScheme(nwords=5, buckets=10, combine="sum")


def test_output_is_the_head_of_the_mean_of_the_rows():
    model, ids, offsets = model_and_rows()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    weight, head_w, head_b = (t.detach().clone() for t in (model.embedding.weight, model.head.weight, model.head.bias))
    expected = []
    for tokens in TEXTS:
        rows = fasttext_line(tokens, len(WORDS), 50, 2, eos=True)
        mean = weight[rows].mean(0) if rows else torch.zeros(weight.shape[1])
        expected.append(head_w @ mean + head_b)
    expected_t = torch.stack(expected)
    got = model.forward_bags(torch.from_numpy(ids), torch.from_numpy(offsets))
    torch.testing.assert_close(got, expected_t, rtol=1e-5, atol=1e-5)
    lists = [ids[offsets[t] : offsets[t + 1]].tolist() for t in range(len(TEXTS))]
    batch = pad_batch(lists, pad_id=0)
    torch.testing.assert_close(model(batch.ids, batch.lengths, batch.mask), expected_t, rtol=1e-5, atol=1e-5)


def test_a_fresh_model_is_fasttexts_start_and_buckets_wait_for_data():
    model, ids, offsets = model_and_rows(dim=4)
    w = model.embedding.weight.detach().numpy()
    assert np.abs(w[: len(WORDS)]).max() <= 0.25 and np.abs(w[: len(WORDS)]).min() > 0
    assert not w[len(WORDS) :].any() and not model.head.weight.detach().any()
    used = np.unique(ids[ids >= len(WORDS)])
    assert init_rows(w, ids, len(WORDS), seed=3) == used.size
    assert (np.abs(w[used]) > 0).all() and np.abs(w[used]).max() <= 0.25
    other = np.setdiff1d(np.arange(len(WORDS), w.shape[0]), used)
    assert not w[other].any()
    before = w.copy()
    assert init_rows(w, ids, len(WORDS), seed=4) == 0 and np.array_equal(w, before)


def torch_reference(model, ids, offsets, labels, *, epochs, lr, batch, seed, weights=None):
    """Plain torch: EmbeddingBag mean (or weighted sum) + Linear, mean cross-entropy per batch, SGD
    on every parameter, the same order and linear decay as train_epochs with one thread."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rate = lr * (1.0 - (epoch + start / n) / epochs)
            pick = order[start : start + batch]
            parts = [ids[offsets[e] : offsets[e + 1]] for e in pick]
            sizes = np.array([0] + [len(p) for p in parts])
            w = None
            if weights is not None:
                w = torch.from_numpy(np.concatenate([weights[offsets[e] : offsets[e + 1]] for e in pick]))
            logits = model.forward_bags(torch.from_numpy(np.concatenate(parts)), torch.from_numpy(np.cumsum(sizes)), w)
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels[pick]))
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= rate * p.grad


@pytest.mark.parametrize("batch,combine", [(1, "row"), (4, "row"), (1, "word"), (4, "word")])
def test_fused_training_equals_plain_torch_sgd(batch, combine):
    model, _, _ = model_and_rows(seed=2, ft_minn=3, ft_maxn=4, ft_combine=combine)
    ids, offsets, weights = build_weighted_rows(TEXTS, STOI, model.scheme, skip=frozenset({0, 1}))
    assert (weights is None) == (combine == "row")
    labels = np.array([0, 1, 2, 1, 0, 1], dtype=np.int64)
    init_rows(model.embedding.weight.detach().numpy(), ids, len(WORDS), seed=0)
    reference = copy.deepcopy(model)
    args = {"epochs": 3, "lr": 0.5, "seed": 7}
    losses = train_epochs(model, ids, offsets, labels, batch_size=batch, threads=1, weights=weights, **args)
    torch_reference(reference, ids, offsets, labels, batch=batch, weights=weights, **args)
    for (name, got), want in zip(model.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=name)
    assert len(losses) == 3 and losses[2] < losses[0]


def test_a_step_moves_only_the_rows_the_texts_use():
    model, ids, offsets = model_and_rows()
    sub_ids, sub_offsets = ids[: offsets[2]], offsets[:3]
    before = model.embedding.weight.detach().clone()
    # the first two texts only; two epochs, as a zero head passes no gradient to the rows at first
    train_epochs(model, sub_ids, sub_offsets, np.array([0, 1]), epochs=2, lr=0.5, seed=0, threads=2)
    moved = (model.embedding.weight.detach() != before).any(dim=1).nonzero().flatten().tolist()
    assert moved == sorted(set(sub_ids.tolist()))


@pytest.mark.interop
def test_rows_are_fasttexts_own(tmp_path):
    """The rows of a line are the ones fastText's getLine uses: the mean of its input matrix over
    them is its sentence vector (words known to it, "</s>", and bigram buckets after its words)."""
    fasttext = pytest.importorskip("fasttext")
    path = tmp_path / "train.txt"
    path.write_text("".join(f"__label__{i % 2} {' '.join(t)} très\n" for i, t in enumerate(TEXTS * 3)))
    ft = fasttext.train_supervised(str(path), dim=5, epoch=1, wordNgrams=2, bucket=101, minCount=1, verbose=0)
    stoi = {w: ft.get_word_id(w) for w in ft.words}
    scheme = RowScheme(nwords=len(ft.words), buckets=101, word_ngrams=2, eos=True)
    matrix = ft.get_input_matrix()
    for text in ("the film is good", "très bien unseen film", "bad"):
        ids, _ = build_rows([text.split()], stoi, scheme)
        np.testing.assert_allclose(matrix[ids].mean(axis=0), ft.get_sentence_vector(text), rtol=1e-5, atol=1e-6)
