"""The text classifier's tokenizer: built from the pipeline's settings (a trained subword tokenizer is
trained on the training texts here), checked settings, and its side files in the model folder.

The embedding layer's vocabulary is counted from the training texts' tokens with every tokenizer,
subword ones included (`Vocab.build`): a piece the training texts never produced maps to ``<unk>``
(its row would never have been trained), ``<pad>``/``<unk>`` are embedlayer's own rows 0 and 1,
and a trained tokenizer's own ``<unk>`` piece is that same row. The Hugging Face ids are not used.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from embedlayer._io import atomic_write
from embedlayer.errors import ConfigError, ModelError
from embedlayer.text import TOKENIZER_NAMES, Tokenizer, get_tokenizer, tokenizer_from_config
from embedlayer.text.tokenizers import TRAINED_TOKENIZER_NAMES, tokenizer_files

__all__ = ["ALL_TOKENIZERS", "DEFAULT_SUBWORD_VOCAB", "build_tokenizer", "check_settings", "load", "save", "side_files"]

ALL_TOKENIZERS = (*TOKENIZER_NAMES, *TRAINED_TOKENIZER_NAMES)
DEFAULT_SUBWORD_VOCAB = 16_000  # entries of a trained bpe / wordpiece / unigram tokenizer
BYTE_ALPHABET = 256  # byte-level BPE's initial symbols (embedlayer.text.hf.BYTE_ALPHABET)
_SIDE_FILES = ("tokenizer.json", "hashtag_words.txt")  # what a tokenizer's config may name


def check_settings(tokenizer: str, vocab: object, file: object) -> None:
    """PipelineConfig's tokenizer, tokenizer_vocab and tokenizer_file, together: ConfigError naming one."""

    def bad(name: str, value: object, expected: str) -> ConfigError:
        return ConfigError(f"PipelineConfig.{name}: expected {expected}, got {value!r}")

    if tokenizer not in ALL_TOKENIZERS:
        raise bad("tokenizer", tokenizer, "one of " + ", ".join(map(repr, ALL_TOKENIZERS)))
    if vocab is not None:
        if tokenizer not in TRAINED_TOKENIZER_NAMES:
            trained = ", ".join(TRAINED_TOKENIZER_NAMES)
            raise bad(
                "tokenizer_vocab", vocab, f"no vocabulary size: tokenizer {tokenizer!r} is not trained ({trained} are)"
            )
        if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 1:
            raise bad("tokenizer_vocab", vocab, "an integer >= 1")
        if tokenizer == "bpe" and vocab < BYTE_ALPHABET:
            raise bad(
                "tokenizer_vocab", vocab, f"at least {BYTE_ALPHABET} for bpe, its alphabet of {BYTE_ALPHABET} bytes"
            )
    if file is not None:
        if not isinstance(file, str) or not file:
            raise bad("tokenizer_file", file, "the path of a tokenizer.json")
        if tokenizer != "word":
            raise bad("tokenizer_file", file, f"no file with tokenizer {tokenizer!r} (a file is the tokenizer)")


def build_tokenizer(config: Any, texts: Iterable[str]) -> Tokenizer:
    """The tokenizer a PipelineConfig asks for; a bpe / wordpiece / unigram one trained on ``texts``."""
    if config.tokenizer_file is not None:
        from embedlayer.text.hf import HFTokenizer

        return HFTokenizer.from_file(config.tokenizer_file)
    if config.tokenizer in TRAINED_TOKENIZER_NAMES:
        from embedlayer.text.hf import train_tokenizer

        size = config.tokenizer_vocab or DEFAULT_SUBWORD_VOCAB
        return train_tokenizer(config.tokenizer, texts, size, lowercase=config.lowercase)
    if config.tokenizer == "byte":
        return get_tokenizer("byte")
    return get_tokenizer(config.tokenizer, lowercase=config.lowercase)


def side_files(tokenizer_config: Any, path: Path) -> tuple[str, ...]:
    """The files a saved tokenizer's config names (tokenizer.json, the social word list)."""
    if not isinstance(tokenizer_config, dict):
        return ()
    names = []
    for key in ("file", "words_file"):
        name = tokenizer_config.get(key)
        if name is None:
            continue
        if name not in _SIDE_FILES:
            raise ModelError(f"{path}: tokenizer.{key} {name!r}: expected one of {list(_SIDE_FILES)}")
        names.append(name)
    return tuple(names)


def save(tokenizer: Tokenizer, folder: Path) -> tuple[str, ...]:
    """Write ``tokenizer``'s side files into ``folder`` (each atomically); their names."""
    files = tokenizer_files(tokenizer)
    for name, data in files.items():
        with atomic_write(folder / name, "wb") as fh:
            fh.write(data)
    return tuple(files)


def load(tokenizer_config: Any, folder: Path) -> Tokenizer:
    """The tokenizer a model folder's config.json records (side files read from ``folder``)."""
    try:
        return tokenizer_from_config(tokenizer_config, folder)
    except ConfigError as exc:
        raise ModelError(f"{folder / 'config.json'}: {exc}") from exc
