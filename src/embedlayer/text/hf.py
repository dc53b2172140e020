"""Subword tokenizers through Hugging Face ``tokenizers`` (the ``tokenizers`` extra, imported lazily).

- ``train_tokenizer("bpe" | "wordpiece" | "unigram", texts, vocab_size, lowercase=...)`` trains one
  on the training texts: byte-level BPE (GPT-2's scheme: every UTF-8 byte is in the alphabet, so
  no text ever gives an unknown token; the vocabulary size counts the 256 byte symbols), WordPiece
  (BERT's pre-tokenizer, ``<unk>`` for characters not seen in training) or Unigram (SentencePiece's
  ``▁`` word starts, ``<unk>``). Texts are NFC-normalised, and lowercased when ``lowercase``.
  Byte-level BPE is deterministic: the same texts give the same tokenizer.json. The WordPiece and
  Unigram trainers of ``tokenizers`` break ties between equally frequent candidates in an order
  that varies from run to run (Rust hash maps), so on small or repetitive corpora two trainings can
  differ in a few pieces; ids, which they also assign in such an order, are put in a canonical
  order here. A saved model reads with the tokenizer.json in its folder, so its predictions never
  change; a ``--resume`` whose retrained tokenizer differs is refused (its vocabulary differs).
- ``HFTokenizer.from_file(path)`` loads any ``tokenizer.json`` (a BERT WordPiece, a GPT-2 byte-level
  BPE, ...); its own normaliser decides the case.

``tokenize`` gives the token strings of ``encode(text, add_special_tokens=False)``: the text's
pieces without ``[CLS]``/``[SEP]`` (an embedding-layer model learns nothing from constant tokens).
A model folder stores the serialised tokenizer as ``tokenizer.json`` (``files()``); ``config()``
records its name and SHA-256, and ``from_config`` reads it back and checks it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedlayer.errors import ConfigError

__all__ = ["BYTE_ALPHABET", "HFTokenizer", "TOKENIZER_FILE", "TRAINABLE", "require_tokenizers", "train_tokenizer"]

TOKENIZER_FILE = "tokenizer.json"
TRAINABLE = ("bpe", "wordpiece", "unigram")
BYTE_ALPHABET = 256  # byte-level BPE's initial symbols
_UNK = "<unk>"  # embedlayer's unknown token: the Vocab maps it to its own <unk> row


def require_tokenizers() -> None:
    """ConfigError naming the extra when Hugging Face ``tokenizers`` is not installed."""
    _hf()


def _hf() -> Any:
    try:
        import tokenizers
    except ImportError:
        raise ConfigError(
            "subword tokenizers (bpe, wordpiece, unigram, --tokenizer-file) need the Hugging Face `tokenizers` "
            "package: pip install 'embedlayer[tokenizers]'"
        ) from None
    return tokenizers


@dataclass(frozen=True)
class HFTokenizer:
    """A Hugging Face tokenizer held as its serialised JSON (``tokenizer.json``'s text).

    Raises ``ConfigError`` (naming ``source``) when the JSON is not a tokenizer.
    """

    serialized: str
    source: str = field(default="tokenizer.json", compare=False)  # where the JSON came from, for errors
    name = "hf"
    _tok: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hf = _hf()
        try:
            tok = hf.Tokenizer.from_str(self.serialized)
        except Exception as exc:  # noqa: BLE001 - the Rust library raises plain Exception for any bad JSON
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(
                f"{self.source}: not a Hugging Face tokenizer.json ({first}); expected a file saved by "
                "`tokenizers` (Tokenizer.save) or by `classify train --tokenizer bpe|wordpiece|unigram`"
            ) from None
        object.__setattr__(self, "_tok", tok)

    @classmethod
    def from_file(cls, path: str | Path) -> HFTokenizer:
        """Load a ``tokenizer.json``; ``ConfigError`` naming the file when it is missing or bad."""
        file = Path(path)
        if not file.is_file():
            what = "is a folder" if file.is_dir() else "does not exist"
            raise ConfigError(f"{file}: {what}; expected a Hugging Face tokenizer.json file")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}); expected a tokenizer.json") from None
        except OSError as exc:
            raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None
        return cls(text, source=str(file))

    @property
    def model_type(self) -> str:
        """The tokenizer's model: ``BPE``, ``WordPiece``, ``Unigram`` or ``WordLevel``."""
        return str(json.loads(self.serialized).get("model", {}).get("type", "unknown"))

    @property
    def vocab_size(self) -> int:
        """Entries of the tokenizer's own vocabulary (added tokens included)."""
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def token_to_id(self, token: str) -> int | None:
        """The tokenizer's own id of ``token`` (None when it has none)."""
        return self._tok.token_to_id(token)

    def tokenize(self, text: str) -> list[str]:
        return list(self._tok.encode(text, add_special_tokens=False).tokens)

    def ids(self, text: str) -> list[int]:
        """The tokenizer's own ids of ``text``'s pieces (not the embedding layer's: see ``Vocab``)."""
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def sha256(self) -> str:
        return hashlib.sha256(self.serialized.encode("utf-8")).hexdigest()

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model_type, "file": TOKENIZER_FILE, "sha256": self.sha256()}

    def files(self) -> dict[str, bytes]:
        """``tokenizer.json``, what a model folder stores beside config.json."""
        return {TOKENIZER_FILE: self.serialized.encode("utf-8")}

    @classmethod
    def from_config(cls, config: dict[str, Any], directory: str | os.PathLike[str] | None = None) -> HFTokenizer:
        """Inverse of ``config()``: ``directory``/tokenizer.json, checked against the recorded SHA-256."""
        if config.get("file") != TOKENIZER_FILE or directory is None:
            where = "no folder given" if directory is None else f"expected {TOKENIZER_FILE!r}"
            raise ConfigError(f"hf tokenizer: file {config.get('file')!r} cannot be read ({where})")
        tok = cls.from_file(Path(directory) / TOKENIZER_FILE)
        if tok.sha256() != config.get("sha256"):
            raise ConfigError(
                f"{Path(directory) / TOKENIZER_FILE}: does not match the sha256 its config recorded "
                "(another tokenizer's file)"
            )
        return tok


def train_tokenizer(kind: str, texts: Iterable[str], vocab_size: int, *, lowercase: bool = True) -> HFTokenizer:
    """Train a ``kind`` tokenizer (bpe, wordpiece, unigram) with at most ``vocab_size`` entries.

    Raises ``ConfigError`` for an unknown kind, a size below 1, a BPE size below its 256-byte
    alphabet, or a size below the characters of the texts (WordPiece, Unigram), naming both.
    """
    if kind not in TRAINABLE:
        raise ConfigError(f"tokenizer {kind!r} cannot be trained; expected one of {', '.join(TRAINABLE)}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ConfigError(f"{kind} tokenizer: vocabulary size {vocab_size!r}: expected an integer >= 1")
    if kind == "bpe" and vocab_size < BYTE_ALPHABET:
        raise ConfigError(
            f"bpe tokenizer: vocabulary size {vocab_size} is below its alphabet of {BYTE_ALPHABET} byte symbols; "
            f"expected at least {BYTE_ALPHABET} (a few thousand is usual)"
        )
    hf = _hf()
    tok, trainer = _model_and_trainer(hf, kind, vocab_size)
    steps = [hf.normalizers.NFC()] + ([hf.normalizers.Lowercase()] if lowercase else [])
    tok.normalizer = hf.normalizers.Sequence(steps)
    texts = list(texts)
    try:
        tok.train_from_iterator(texts, trainer)
    except Exception as exc:  # noqa: BLE001 - the Rust trainer raises plain Exception
        raise _too_small(kind, vocab_size, tok, texts, exc) from None
    if tok.get_vocab_size() > vocab_size:
        raise _too_small(kind, vocab_size, tok, texts, None)
    return HFTokenizer(_canonical(tok.to_str()), source=f"{kind} tokenizer trained here")


def _model_and_trainer(hf: Any, kind: str, vocab_size: int) -> tuple[Any, Any]:
    models, trainers, pre = hf.models, hf.trainers, hf.pre_tokenizers
    if kind == "bpe":
        tok = hf.Tokenizer(models.BPE())
        tok.pre_tokenizer = pre.ByteLevel(add_prefix_space=True)
        tok.decoder = hf.decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, initial_alphabet=pre.ByteLevel.alphabet(), show_progress=False
        )
    elif kind == "wordpiece":
        tok = hf.Tokenizer(models.WordPiece(unk_token=_UNK))
        tok.pre_tokenizer = pre.BertPreTokenizer()
        tok.decoder = hf.decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=[_UNK], show_progress=False)
    else:
        tok = hf.Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre.Metaspace()
        tok.decoder = hf.decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=[_UNK], unk_token=_UNK, show_progress=False
        )
    return tok, trainer


def _too_small(kind: str, vocab_size: int, tok: Any, texts: list[str], exc: Exception | None) -> ConfigError:
    normalize = tok.normalizer.normalize_str
    alphabet = len({c for text in texts for c in normalize(text) if not c.isspace()})
    detail = f" ({str(exc).splitlines()[0]})" if exc is not None and str(exc) else ""
    return ConfigError(
        f"{kind} tokenizer: vocabulary size {vocab_size} is below the alphabet of the training texts "
        f"({alphabet} distinct characters){detail}; expected a larger size"
    )


def _canonical(serialized: str) -> str:
    """The same tokenizer with its ids in an order that does not depend on the run: WordPiece's
    vocabulary by token (specials first), Unigram's pieces by score then piece (``<unk>`` first;
    scores rounded to 9 decimals: their last digits differ from run to run). Neither model's
    splits depend on the ids (WordPiece matches the longest known piece, Unigram maximises the
    pieces' scores); BPE's ids already follow its merges."""
    data = json.loads(serialized)
    model = data["model"]
    specials = [t["content"] for t in data.get("added_tokens", [])]
    if model["type"] == "WordPiece":
        order = sorted(model["vocab"], key=lambda t: (t not in specials, t))
        model["vocab"] = {t: i for i, t in enumerate(order)}
        ids = model["vocab"]
    elif model["type"] == "Unigram":
        # scores carry float noise from the trainer's parallel sums (last digits differ run to run)
        model["vocab"] = [[piece, round(score, 9)] for piece, score in model["vocab"]]
        model["vocab"].sort(key=lambda p: (p[0] not in specials, -p[1], p[0]))
        ids = {p[0]: i for i, p in enumerate(model["vocab"])}
        model["unk_id"] = ids[_UNK]
    else:
        return serialized
    for added in data.get("added_tokens", []):
        added["id"] = ids[added["content"]]
    return json.dumps(data, ensure_ascii=False)
