from __future__ import annotations

import json

import pytest

from embedlayer.errors import ConfigError
from embedlayer.text import (
    TOKENIZER_NAMES,
    ByteTokenizer,
    CharTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
    tokenizer_from_config,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Don't panic... it's 3.14!", ["don't", "panic", "...", "it's", "3.14", "!"]),
        ("Self-driving cars, 1,000.50 km?!", ["self-driving", "cars", ",", "1,000.50", "km", "?!"]),
        ("São Paulo — Zürich", ["são", "paulo", "—", "zürich"]),
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),  # combining vowel signs stay inside the word
        ("Москва's ДОМ", ["москва's", "дом"]),
        ("it 's a film , does n't work", ["it", "'s", "a", "film", ",", "does", "n't", "work"]),
        ("'quoted' --dash-- x_y", ["'", "quoted", "'", "--", "dash", "--", "x", "_", "y"]),
        ("I won 2 games in 2024", ["i", "won", "2", "games", "in", "2024"]),
        ("  \t\n ", []),
        ("wow 😀😀 #nope", ["wow", "😀😀", "#", "nope"]),
    ],
)
def test_word_tokenizer_keep(text: str, expected: list[str]) -> None:
    assert WordTokenizer().tokenize(text) == expected


def test_word_tokenizer_drop_and_case() -> None:
    tok = WordTokenizer(lowercase=False, punctuation="drop")
    assert tok.tokenize("Don't PANIC... it's 3.14! --x-- (yes)") == ["Don't", "PANIC", "it's", "3.14", "x", "yes"]
    # dropping punctuation gives exactly the non-punctuation tokens of "keep"
    text = "Hello, world!! 'tis a self-made, 12.5% thing..."
    keep = WordTokenizer(punctuation="keep").tokenize(text)
    drop = WordTokenizer(punctuation="drop").tokenize(text)
    assert drop == [t for t in keep if any(c.isalnum() for c in t)]


def test_char_tokenizer_keeps_whitespace() -> None:
    assert CharTokenizer().tokenize("Ab c\n") == ["A", "b", " ", "c", "\n"]
    assert CharTokenizer(lowercase=True).tokenize("ÀB") == ["à", "b"]
    assert CharTokenizer().tokenize("e\u0301") == ["e", "\u0301"]  # code points, not graphemes


def test_byte_tokenizer_utf8_and_inverse() -> None:
    tok = ByteTokenizer()
    assert tok.tokenize("A é") == ["<0x41>", "<0x20>", "<0xC3>", "<0xA9>"]
    text = "naïve 😀 текст"
    toks = tok.tokenize(text)
    assert len(toks) == len(text.encode("utf-8"))
    assert tok.detokenize(toks) == text
    with pytest.raises(ConfigError, match="<0xZZ>"):
        tok.detokenize(["<0xZZ>"])


def test_whitespace_tokenizer_is_str_split() -> None:
    text = " a  b\tc\nD "
    assert WhitespaceTokenizer().tokenize(text) == text.split()
    assert WhitespaceTokenizer(lowercase=True).tokenize(text) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "tok",
    [
        WordTokenizer(),
        WordTokenizer(lowercase=False, punctuation="drop"),
        CharTokenizer(lowercase=True),
        ByteTokenizer(),
        WhitespaceTokenizer(lowercase=True),
    ],
)
def test_config_round_trip(tok: Tokenizer) -> None:
    config = json.loads(json.dumps(tok.config()))
    assert config["name"] == tok.name
    again = tokenizer_from_config(config)
    assert again == tok
    assert isinstance(again, Tokenizer)
    assert again.tokenize("It's 2 Good!") == tok.tokenize("It's 2 Good!")


def test_get_tokenizer_names_and_options() -> None:
    assert set(TOKENIZER_NAMES) == {"word", "char", "byte", "whitespace", "social"}
    assert get_tokenizer("word", punctuation="drop") == WordTokenizer(punctuation="drop")
    with pytest.raises(ConfigError, match=r"'wordpiece'.*word, char, byte, whitespace, social"):
        get_tokenizer("wordpiece")
    with pytest.raises(ConfigError, match=r"'casefold'.*lowercase, punctuation"):
        get_tokenizer("word", casefold=True)
    with pytest.raises(ConfigError, match="punctuation"):
        get_tokenizer("word", punctuation="strip")
    with pytest.raises(ConfigError, match="lowercase"):
        get_tokenizer("char", lowercase="yes")
    with pytest.raises(ConfigError, match="name"):
        tokenizer_from_config({"lowercase": True})
