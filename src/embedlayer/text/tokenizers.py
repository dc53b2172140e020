"""Tokenizers: turn a string into a list of token strings.

Every tokenizer is a small frozen dataclass with the three members of the ``Tokenizer`` protocol:
``name``, ``tokenize(text)`` and ``config()``. ``config()`` is a JSON-able dict (it includes the
name) and ``tokenizer_from_config(config)`` rebuilds an equal tokenizer from it, so a saved model
can record exactly how its text was split.

- ``word``: a regular expression over Unicode text (letters of any script, digits, combining
  marks); words keep inner apostrophes and hyphens (``don't``, ``self-driving``), numbers keep
  their decimal/thousands separators (``3.14``, ``1,000``), English clitics split off by a
  pre-tokenised corpus stay whole (``'s``, ``'re``); runs of punctuation and symbols become one
  token each (``...``, ``?!``) or are dropped.
- ``char``: one token per Unicode code point (not per grapheme cluster); whitespace characters
  are tokens too (``" "``, ``"\\n"``), because for a character model a space is information.
- ``byte``: one token per UTF-8 byte, spelled ``<0x41>``; never out of vocabulary (256 symbols).
- ``whitespace``: ``str.split()`` (runs of whitespace separate; nothing else changes).
- ``social``: the word rules plus URLs, @mentions, #hashtags, emoticons and emoji kept whole,
  elongations cut, clitics split GloVe's way, optional hashtag segmentation
  (``embedlayer.text.social``).

Trained subword tokenizers (BPE, WordPiece, Unigram through Hugging Face ``tokenizers``) live in
``embedlayer.text.hf``; a saved one comes back from ``tokenizer_from_config`` as ``hf``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol, runtime_checkable

from embedlayer.errors import ConfigError
from embedlayer.text._unicode import CLITIC as _CLITIC
from embedlayer.text._unicode import NUMBER as _NUMBER
from embedlayer.text._unicode import PUNCT_RUN as _PUNCT_RUN
from embedlayer.text._unicode import WORD as _WORD
from embedlayer.text.social import SocialTokenizer

__all__ = [
    "Tokenizer",
    "WordTokenizer",
    "CharTokenizer",
    "ByteTokenizer",
    "WhitespaceTokenizer",
    "get_tokenizer",
    "tokenizer_from_config",
    "TOKENIZER_NAMES",
    "TRAINED_TOKENIZER_NAMES",
    "SocialTokenizer",
    "tokenizer_files",
]


@runtime_checkable
class Tokenizer(Protocol):
    """What every tokenizer offers: a name, ``tokenize`` and a JSON-able ``config``."""

    name: str

    def tokenize(self, text: str) -> list[str]: ...

    def config(self) -> dict[str, Any]: ...


# Group 1 holds words; a punctuation match leaves it empty, so "drop" filters empty strings.
_WORD_RE = re.compile(rf"({_NUMBER}|{_CLITIC}|{_WORD})|{_PUNCT_RUN}")
# With "keep", every match is a token; this pattern has no group so findall returns the match.
_KEEP_RE = re.compile(rf"{_NUMBER}|{_CLITIC}|{_WORD}|{_PUNCT_RUN}")


def _check_bool(owner: str, key: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}: {key} must be true or false, got {value!r}")


@dataclass(frozen=True)
class WordTokenizer:
    """Regex word tokenizer (see the module docstring for what a word is).

    >>> WordTokenizer().tokenize("Don't panic... it's 3.14!")
    ["don't", 'panic', '...', "it's", '3.14', '!']

    Raises ``ConfigError`` when ``lowercase`` is not a bool or ``punctuation`` is not
    ``"keep"``/``"drop"``.
    """

    lowercase: bool = True
    punctuation: Literal["keep", "drop"] = "keep"
    name = "word"  # class attribute, not a field

    def __post_init__(self) -> None:
        _check_bool("word tokenizer", "lowercase", self.lowercase)
        if self.punctuation not in ("keep", "drop"):
            raise ConfigError(f"word tokenizer: punctuation must be 'keep' or 'drop', got {self.punctuation!r}")

    def tokenize(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        if self.punctuation == "keep":
            return _KEEP_RE.findall(text)
        return [t for t in _WORD_RE.findall(text) if t]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lowercase": self.lowercase, "punctuation": self.punctuation}


@dataclass(frozen=True)
class CharTokenizer:
    """One token per Unicode code point, whitespace included (``"a b"`` -> ``['a', ' ', 'b']``).

    Code points, not grapheme clusters: ``"e\\u0301"`` (e + combining acute) is two tokens;
    normalise the text (NFC) first if that matters.
    """

    lowercase: bool = False
    name = "char"

    def __post_init__(self) -> None:
        _check_bool("char tokenizer", "lowercase", self.lowercase)

    def tokenize(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lowercase": self.lowercase}


_BYTE_TOKENS: tuple[str, ...] = tuple(f"<0x{b:02X}>" for b in range(256))
_BYTE_VALUES = {tok: b for b, tok in enumerate(_BYTE_TOKENS)}


@dataclass(frozen=True)
class ByteTokenizer:
    """One token per UTF-8 byte, spelled ``<0xNN>`` with two upper-case hex digits.

    >>> ByteTokenizer().tokenize("é")
    ['<0xC3>', '<0xA9>']
    """

    name = "byte"

    def tokenize(self, text: str) -> list[str]:
        table = _BYTE_TOKENS
        return [table[b] for b in text.encode("utf-8", "surrogatepass")]

    def detokenize(self, tokens: list[str]) -> str:
        """Inverse of ``tokenize``; invalid UTF-8 sequences become U+FFFD.

        Raises ``ConfigError`` naming a token that is not ``<0xNN>``.
        """
        out = bytearray()
        for tok in tokens:
            value = _BYTE_VALUES.get(tok)
            if value is None:
                raise ConfigError(f"byte tokenizer: {tok!r} is not a byte token (expected '<0x00>'..'<0xFF>')")
            out.append(value)
        return out.decode("utf-8", "replace")

    def config(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True)
class WhitespaceTokenizer:
    """``str.split()``: tokens are the maximal runs of non-whitespace characters."""

    lowercase: bool = False
    name = "whitespace"

    def __post_init__(self) -> None:
        _check_bool("whitespace tokenizer", "lowercase", self.lowercase)

    def tokenize(self, text: str) -> list[str]:
        return (text.lower() if self.lowercase else text).split()

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "lowercase": self.lowercase}


_TokenizerClass = (
    type[WordTokenizer] | type[CharTokenizer] | type[ByteTokenizer] | type[WhitespaceTokenizer] | type[SocialTokenizer]
)
_REGISTRY: dict[str, _TokenizerClass] = {
    "word": WordTokenizer,
    "char": CharTokenizer,
    "byte": ByteTokenizer,
    "whitespace": WhitespaceTokenizer,
    "social": SocialTokenizer,
}
TOKENIZER_NAMES: tuple[str, ...] = tuple(_REGISTRY)
# Trained on the training texts by a model (embedlayer.text.hf, the `tokenizers` extra), not built
# from options: `TextClassificationPipeline` trains them; a saved one is the "hf" tokenizer.
TRAINED_TOKENIZER_NAMES: tuple[str, ...] = ("bpe", "wordpiece", "unigram")


def get_tokenizer(name: str, **options: Any) -> Tokenizer:
    """Build the tokenizer called ``name`` with keyword ``options``.

    Raises ``ConfigError`` on an unknown name (listing the valid ones), an unknown option
    (listing that tokenizer's options) or a bad option value.
    """
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        trained = (
            " (bpe, wordpiece and unigram are trained on texts: embedlayer.text.hf.train_tokenizer)"
            if name in TRAINED_TOKENIZER_NAMES
            else ""
        )
        raise ConfigError(f"unknown tokenizer {name!r}; expected one of {', '.join(TOKENIZER_NAMES)}{trained}")
    valid = tuple(f.name for f in fields(cls) if f.init)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        allowed = ", ".join(valid) if valid else "none"
        raise ConfigError(f"tokenizer {name!r} has no option {', '.join(map(repr, unknown))}; its options: {allowed}")
    return cls(**options)


def tokenizer_from_config(config: dict[str, Any], directory: str | os.PathLike[str] | None = None) -> Tokenizer:
    """Inverse of ``Tokenizer.config()``. Raises ``ConfigError`` on a malformed config.

    A tokenizer with side files (``files()``: a trained ``hf`` tokenizer's tokenizer.json, the
    ``social`` tokenizer's word list) reads them from ``directory``, the folder they were saved in.
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(f"tokenizer config must be a dict with a 'name' key, got {config!r}")
    if config["name"] == "hf":
        from embedlayer.text.hf import HFTokenizer

        return HFTokenizer.from_config(config, directory)
    if config["name"] == "social":
        return SocialTokenizer.from_config(config, directory)
    options = {k: v for k, v in config.items() if k != "name"}
    return get_tokenizer(config["name"], **options)


def tokenizer_files(tokenizer: Tokenizer) -> dict[str, bytes]:
    """``{file name: bytes}`` a saved model keeps beside its config for ``tokenizer`` (none for most)."""
    files = getattr(tokenizer, "files", None)
    return dict(files()) if callable(files) else {}
