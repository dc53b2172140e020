from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlayer.errors import ConfigError, VocabError
from embedlayer.vocab import Vocab, fnv1a_32

TEXTS = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat"], ["the"]]


def test_fnv1a_32_golden() -> None:
    # published FNV-1a 32-bit test vectors
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968
    assert fnv1a_32("é".encode()) == (((0x811C9DC5 ^ 0xC3) * 16777619 % 2**32 ^ 0xA9) * 16777619) % 2**32


def test_build_order_and_ids() -> None:
    v = Vocab.build(TEXTS)
    # the=3, cat=2, sat=2 (tie -> "cat" < "sat"), a=1, dog=1 (tie -> "a" < "dog")
    assert v.itos == ("<pad>", "<unk>", "the", "cat", "sat", "a", "dog")
    assert v.counts == (0, 0, 3, 2, 2, 1, 1)
    assert (v.pad_id, v.unk_id, len(v), v.num_embeddings) == (0, 1, 7, 7)
    assert v.specials == ("<pad>", "<unk>")
    assert v.encode(["the", "bird", "cat"]) == [2, 1, 3]
    assert v["bird"] == 1 and v["dog"] == 6
    assert "cat" in v and "bird" not in v
    assert v.count("the") == 3 and v.count("bird") == 0 and v.count("<pad>") == 0
    assert v.decode([2, 3, 0]) == ["the", "cat", "<pad>"]


def test_min_count_max_size_specials() -> None:
    v = Vocab.build(TEXTS, min_count=2, max_size=2, extra_specials=("<bos>",))
    assert v.itos == ("<pad>", "<unk>", "<bos>", "the", "cat")  # max_size counts regular tokens only
    assert Vocab.build(TEXTS, max_size=0).itos == ("<pad>", "<unk>")
    nopad = Vocab.build(TEXTS, pad_token=None)
    assert (nopad.pad_id, nopad.unk_id, nopad.itos[1]) == (None, 0, "the")


def test_special_in_data_not_duplicated() -> None:
    v = Vocab.from_counts({"<unk>": 10, "x": 1})
    assert v.itos == ("<pad>", "<unk>", "x") and v.count("<unk>") == 0


def test_oov_error_policy() -> None:
    v = Vocab.build(TEXTS, unk_token=None, oov="error")
    assert v.encode(["the", "cat"]) == [1, 2]
    with pytest.raises(VocabError, match="'bird'"):
        v.encode(["the", "bird"])
    with pytest.raises(VocabError, match="'bird'"):
        v["bird"]


def test_oov_hash_policy() -> None:
    v = Vocab.build(TEXTS, oov="hash", hash_buckets=5)
    n = len(v)
    assert v.num_embeddings == n + 5
    expected = n + fnv1a_32(b"bird") % 5
    assert v.encode(["bird", "the", "bird"]) == [expected, 2, expected]
    assert v["bird"] == expected
    assert v.decode([expected]) == [f"<hash:{expected - n}>"]
    # "é" hashes over its UTF-8 bytes
    assert v["é"] == n + fnv1a_32(b"\xc3\xa9") % 5


def test_decode_bad_id() -> None:
    v = Vocab.build(TEXTS)
    for bad in (7, -1, 2.0):
        with pytest.raises(VocabError, match="out of range"):
            v.decode([bad])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_count": 0}, "min_count"),
        ({"max_size": -1}, "max_size"),
        ({"oov": "hash"}, "hash_buckets >= 1"),
        ({"oov": "hash", "hash_buckets": 0}, "hash_buckets >= 1"),
        ({"hash_buckets": 4}, "only used with oov='hash'"),
        ({"pad_token": "<x>", "unk_token": "<x>"}, "both '<x>'"),
        ({"unk_token": None}, "needs an unk_token"),
        ({"oov": "ignore"}, "oov must be one of"),
        ({"extra_specials": "<bos>"}, "extra_specials"),
        ({"extra_specials": ("<pad>",)}, "more than once"),
    ],
)
def test_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Vocab.build(TEXTS, **kwargs)


def test_bad_counts_and_direct_construction() -> None:
    with pytest.raises(ConfigError, match="integer >= 0"):
        Vocab.from_counts({"a": -1})
    with pytest.raises(ConfigError, match="more than once"):
        Vocab(("<pad>", "<unk>", "a", "a"), (0, 0, 1, 1), specials=("<pad>", "<unk>"))
    with pytest.raises(ConfigError, match="not among the specials"):
        Vocab(("<pad>", "a"), (0, 1), unk_token=None, oov="error", specials=())
    with pytest.raises(ConfigError, match="one count per token"):
        Vocab(("<pad>", "<unk>"), (0,), specials=("<pad>", "<unk>"))
    with pytest.raises(ConfigError, match="string"):
        Vocab.build(["a b c"])


def test_immutable() -> None:
    v = Vocab.build(TEXTS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.itos = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        v.stoi["new"] = 99  # type: ignore[index]
    assert dict(v.stoi) == {t: i for i, t in enumerate(v.itos)}


def test_gensim_names_are_the_same_table() -> None:
    """index_to_key / key_to_index (gensim's names, as on Vectors) are itos / stoi themselves."""
    v = Vocab.build(TEXTS)
    assert v.index_to_key is v.itos and v.key_to_index is v.stoi
    assert [v.key_to_index[t] for t in v.index_to_key] == list(range(len(v)))
    with pytest.raises(TypeError):
        v.key_to_index["new"] = 99  # type: ignore[index]
    with pytest.raises(AttributeError):
        v.index_to_key = ()  # type: ignore[misc]


def test_save_load_round_trip(tmp_path: Path) -> None:
    v = Vocab.build(TEXTS + [["naïve", "😀", 'quote"s']], extra_specials=("<bos>",), oov="hash", hash_buckets=3)
    path = tmp_path / "sub" / "vocab.json"
    v.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "embedlayer.vocab" and data["version"] == 1
    assert data["tokens"][:4] == [["<pad>", 0], ["<unk>", 0], ["<bos>", 0], ["the", 3]]
    w = Vocab.load(path)
    assert w == v and w.stoi == v.stoi
    assert w.encode(["naïve", "zzz"]) == v.encode(["naïve", "zzz"])
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temporary file left


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"format": "embedlayer.vocab", "version": 1,\n "tokens": [\n', r"bad\.json:3: invalid JSON"),
        ('{"format": "other", "version": 1}', r"bad\.json: format is 'other'"),
        ('{"format": "embedlayer.vocab", "version": 9}', r"bad\.json: version 9"),
        (
            '{"format": "embedlayer.vocab", "version": 1, "pad_token": "<pad>", "unk_token": "<unk>", '
            '"specials": ["<pad>", "<unk>"], "oov": "unk", "hash_buckets": 0, '
            '"tokens": [["<pad>", 0], ["<unk>", 0], ["a", 1], ["a", 2]]}',
            r"bad\.json: .*'a' more than once",
        ),
        (
            '{"format": "embedlayer.vocab", "version": 1, "pad_token": "<pad>", "unk_token": "<unk>", '
            '"specials": ["<pad>", "<unk>"], "oov": "unk", "hash_buckets": 0, "tokens": [[1, 0]]}',
            r"bad\.json: 'tokens'",
        ),
        ('{"format": "embedlayer.vocab", "version": 1}', r"bad\.json: missing field"),
        ("[1, 2]", r"bad\.json: expected a JSON object"),
    ],
)
def test_corrupt_file(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(VocabError, match=match):
        Vocab.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VocabError, match=r"none\.json: vocab file not found"):
        Vocab.load(tmp_path / "none.json")


tokens_st = st.text(min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(tokens_st, st.integers(min_value=1, max_value=20), max_size=40),
    st.integers(min_value=1, max_value=4),
)
def test_from_counts_order_property(counts: dict[str, int], min_count: int) -> None:
    v = Vocab.from_counts(counts, min_count=min_count)
    regular = [(t, c) for t, c in counts.items() if c >= min_count and t not in ("<pad>", "<unk>")]
    assert list(zip(v.itos[2:], v.counts[2:])) == sorted(regular, key=lambda tc: (-tc[1], tc[0]))
    # independent check of the order: adjacent pairs are count-desc, then token ascending
    for (t1, c1), (t2, c2) in zip(zip(v.itos[2:], v.counts[2:]), zip(v.itos[3:], v.counts[3:])):
        assert c1 > c2 or (c1 == c2 and t1 < t2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(tokens_st, max_size=8), min_size=1, max_size=10))
def test_encode_decode_round_trip_property(texts: list[list[str]]) -> None:
    v = Vocab.build(texts)
    counter = Counter(t for text in texts for t in text)
    for text in texts:
        ids = v.encode(text)
        assert len(ids) == len(text)
        known = [t for t in text if t not in ("<pad>", "<unk>")]
        assert v.decode(v.encode(known)) == known
        assert all(v.count(t) == counter[t] for t in known)


def test_extend_appends_new_tokens_with_zero_count_and_keeps_ids() -> None:
    base = Vocab.from_counts({"film": 3, "good": 2})
    grown = base.extend(["good", "great", "film", "awful", "great"])
    assert grown.itos == base.itos + ("great", "awful")
    assert grown.counts == base.counts + (0, 0)
    assert all(grown[t] == base[t] for t in base.itos)
    assert grown.encode(["awful", "unseen"]) == [len(base.itos) + 1, grown.unk_id]
    assert base.itos == ("<pad>", "<unk>", "film", "good")  # the original is unchanged
