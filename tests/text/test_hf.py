"""Hugging Face subword tokenizers: training, round trips through a file, loading BERT- and GPT-2-style
tokenizer.json files (built here with the tokenizers library itself), and the bad inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from embedlayer.errors import ConfigError
from embedlayer.text import tokenizer_from_config
from embedlayer.text.hf import HFTokenizer, train_tokenizer
from embedlayer.text.tokenizers import tokenizer_files

tokenizers = pytest.importorskip("tokenizers")

TEXTS = [
    "the movie was wonderful and the acting was great",
    "a dull , lifeless and boring film",
    "wonderful performances make this movie a joy",
    "the plot is boring but the actors are wonderful",
    "I loved the soundtrack and the wonderful ending",
] * 4
UNSEEN = "Ünïcödé 😀🇫🇷 Привет 世界 ∑ wonderful"


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram"])
def test_train_save_load_same_ids(kind: str, tmp_path: Path) -> None:
    tok = train_tokenizer(kind, TEXTS, 300)
    assert tok.model_type == {"bpe": "BPE", "wordpiece": "WordPiece", "unigram": "Unigram"}[kind]
    assert tok.vocab_size <= 300
    pieces = tok.tokenize("The wonderful movie")
    # the pieces spell the text (less the word-start / continuation marks of each scheme)
    assert "".join(p.replace("▁", "").replace("Ġ", "").replace("##", "") for p in pieces) == "thewonderfulmovie"
    assert "wonderful" in "".join(pieces)  # a frequent training word is one piece
    # lowercased before training and tokenizing: case does not change the pieces
    assert tok.tokenize("THE WONDERFUL MOVIE") == pieces
    files = tokenizer_files(tok)
    (tmp_path / "tokenizer.json").write_bytes(files["tokenizer.json"])
    back = tokenizer_from_config(json.loads(json.dumps(tok.config())), tmp_path)
    assert isinstance(back, HFTokenizer) and back == tok
    for text in [*TEXTS[:5], UNSEEN]:
        assert back.ids(text) == tok.ids(text) and back.tokenize(text) == tok.tokenize(text)
    if kind == "bpe":  # deterministic; WordPiece and Unigram break ties in a run-dependent order
        assert train_tokenizer(kind, TEXTS, 300).serialized == tok.serialized


def test_no_lowercase_keeps_case() -> None:
    tok = train_tokenizer("wordpiece", TEXTS, 300, lowercase=False)
    assert tok.tokenize("The") != tok.tokenize("the")


def test_byte_level_bpe_has_no_unknown_token() -> None:
    tok = train_tokenizer("bpe", TEXTS, 300)
    ids = tok.ids(UNSEEN)
    assert None not in ids and all(tok.token_to_id(t) is not None for t in tok.tokenize(UNSEEN))
    assert tok.tokenize("😀") == ["Ġ", "ð", "Ł", "ĺ", "Ģ"]  # a word start, then its four UTF-8 bytes
    decoded = tok._tok.decode(ids)
    assert decoded.strip() == UNSEEN.lower()  # nothing lost: every byte came back
    # WordPiece, by contrast, has an unknown piece for characters it never saw
    assert "<unk>" in train_tokenizer("wordpiece", TEXTS, 300).tokenize("😀")


def _bert_like(path: Path) -> Path:
    """A small BERT-style WordPiece tokenizer.json ([CLS]/[SEP] template, BERT normaliser)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {
        t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "movie", "was", "good", "##s", "bad"])
    }
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.save(str(path))
    return path


def _gpt2_like(path: Path) -> Path:
    """A small GPT-2-style byte-level BPE tokenizer.json (the 256 byte symbols and a few merges)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.save(str(path))
    return path


def test_load_bert_and_gpt2_files(tmp_path: Path) -> None:
    bert = HFTokenizer.from_file(_bert_like(tmp_path / "bert.json"))
    assert bert.tokenize("The movies were GOOD") == ["the", "movie", "##s", "[UNK]", "good"]  # no [CLS]/[SEP]
    gpt2 = HFTokenizer.from_file(_gpt2_like(tmp_path / "gpt2.json"))
    assert gpt2.tokenize("a the 😀") == ["a", "Ġthe", "Ġ", "ð", "Ł", "ĺ", "Ģ"]
    assert gpt2.model_type == "BPE" and bert.model_type == "WordPiece"


def test_bad_files_and_sizes(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"version": "1.0", "model": ', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{bad}: not a Hugging Face tokenizer.json \(") as info:
        HFTokenizer.from_file(bad)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="nope.json: does not exist"):
        HFTokenizer.from_file(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="vocabulary size 100 is below its alphabet of 256 byte symbols"):
        train_tokenizer("bpe", TEXTS, 100)
    with pytest.raises(
        ConfigError, match=r"vocabulary size 5 is below the alphabet of the training texts \(\d+ distinct"
    ):
        train_tokenizer("wordpiece", TEXTS, 5)
    with pytest.raises(ConfigError, match="cannot be trained"):
        train_tokenizer("word", TEXTS, 300)
    tok = train_tokenizer("bpe", TEXTS, 300)
    (tmp_path / "tokenizer.json").write_bytes(train_tokenizer("bpe", TEXTS, 280).serialized.encode())
    with pytest.raises(ConfigError, match="does not match the sha256"):
        tokenizer_from_config(tok.config(), tmp_path)


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import tokenizers -> ImportError
    with pytest.raises(
        ConfigError, match=r"need the Hugging Face `tokenizers` package: pip install 'embedlayer\[tokenizers\]'"
    ):
        train_tokenizer("bpe", TEXTS, 300)
