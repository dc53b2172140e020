"""Corpus preparation for word-vector training: one streamed pass over the text, then ids on disk.

A corpus may be larger than memory. It is read once, in blocks of a few MiB cut at whitespace (so
a line of any length, even a file without line breaks, streams through), and every token gets a
provisional id in order of first appearance; those ids go to a temporary int32 file and the counts
to memory. Once the counts are known the vocabulary is fixed (count descending, ties by the word's
code points; ``min_count``, ``max_vocab``), the provisional ids are renumbered on disk with the
dropped words left out (as word2vec: a window then reaches across them), and each line becomes one
or more *sentences* of at most ``max_sentence_length`` words. Training reads the result through a
memory map, so the memory a run needs is the tables, not the corpus.

Tokens are runs of non-whitespace (the format of word2vec and fastText, and of any corpus written
by our tokenizers with spaces between tokens). ``lowercase`` lowercases them; ``tokenizer`` (a name
of ``embedlayer.text.get_tokenizer``) splits each line with one of ours instead. A UTF-8 byte order
mark at the start of the file is no part of the first word; bytes that are not UTF-8 are replaced
by U+FFFD and counted, or with ``errors="strict"`` refused (naming the byte's offset).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlayer._io import check_regular_file
from embedlayer.errors import ConfigError, DataError, where
from embedlayer.pretrain.tokenize_fast import Interner, decode_replacing

__all__ = ["EncodedCorpus", "encode_corpus"]

_BLOCK = 1 << 22  # bytes read at a time
_MAX_TOKEN = 1 << 20  # a "word" longer than this many bytes means the file is not text
_REMAP_STEP = 1 << 24  # ids renumbered at a time
_WHITESPACE = b" \t\n\r\x0b\x0c"
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, eq=False)
class EncodedCorpus:
    """A corpus as vocabulary ids: ``ids`` (N,) int32 (a read-only memory map of a temporary
    file), ``starts`` (S + 1,) int64 sentence boundaries into ``ids`` (sentence ``s`` is
    ``ids[starts[s]:starts[s + 1]]``), the vocabulary ``words`` with their ``counts`` (V,) int64,
    ``raw_tokens`` (tokens in the file, dropped words included) and ``replaced`` (bytes that are
    not UTF-8, replaced by U+FFFD)."""

    path: str
    ids: np.ndarray
    starts: np.ndarray
    words: tuple[str, ...]
    counts: np.ndarray
    raw_tokens: int
    lines: int
    replaced: int

    @property
    def words_per_epoch(self) -> int:
        """Vocabulary words a pass trains on (before down-sampling)."""
        return int(self.starts[-1])


class _Ids(dict):
    """token -> provisional id, handing out the next id to an unseen token."""

    def __missing__(self, token: str) -> int:
        value = self[token] = len(self)
        return value


def _blocks(path: Path, on_bytes: Callable[[int], None] | None, strict: bool = False) -> Iterator[bytes]:
    """The file in blocks of bytes, each ending at whitespace (or the end of the file), without
    the byte order mark a file may start with.

    Raises DataError for a NUL byte, a run of more than 1 MiB without whitespace, or a first block
    that is mostly not UTF-8 (all three mean a binary file); with ``strict``, for any byte that is
    not UTF-8."""
    carry = b""
    offset = 0  # file offset of carry[0]
    first = True
    with open(path, "rb") as fh:
        if fh.read(len(_BOM)) == _BOM:
            offset = len(_BOM)
            if on_bytes is not None:
                on_bytes(offset)
        else:
            fh.seek(0)
        while True:
            raw = fh.read(_BLOCK)
            data = carry + raw
            if not data:
                return
            if b"\0" in raw:
                at = offset + len(carry) + raw.index(b"\0")
                raise DataError(
                    f"{where(path, offset=at)}: NUL byte in the corpus; expected UTF-8 text (is this a binary file?)"
                )
            cut = len(data) if not raw else max(data.rfind(c) for c in _WHITESPACE) + 1
            if cut == 0:
                if len(data) > _MAX_TOKEN:
                    raise DataError(
                        f"{where(path, offset=offset)}: more than {_MAX_TOKEN} bytes without "
                        f"whitespace; expected text with words separated by spaces or newlines"
                    )
                carry = data
                continue
            piece, carry = data[:cut], data[cut:]
            if strict:
                _check_utf8(path, piece, offset)
            elif first:
                replaced = decode_replacing(piece)[1]
                if replaced > max(16, len(piece) // 10):
                    raise DataError(
                        f"{where(path, offset=0)}: {replaced} bytes of invalid UTF-8 in the first "
                        f"{len(piece)} bytes; expected UTF-8 text (is this a binary file?)"
                    )
            first = False
            yield piece
            offset += cut
            if on_bytes is not None:
                on_bytes(cut)
            if not raw:
                return


def _check_utf8(path: Path, piece: bytes, offset: int) -> None:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where(path, offset=offset + exc.start)}: byte 0x{piece[exc.start]:02x} is not UTF-8 "
            f"({exc.reason}); expected UTF-8 text"
        ) from None


def _line_splitter(lowercase: bool, tokenizer: str | None) -> Callable[[str], list[str]] | None:
    """How a line becomes tokens; None for plain whitespace tokens (the compiled path)."""
    if tokenizer is None:
        return (lambda line: line.lower().split()) if lowercase else None
    from embedlayer.text import get_tokenizer

    tok = get_tokenizer(tokenizer)
    if "lowercase" in getattr(tok, "__dataclass_fields__", {}):  # the tokenizer lowercases itself, or not
        return get_tokenizer(tokenizer, lowercase=lowercase).tokenize
    if lowercase:
        return lambda line: tok.tokenize(line.lower())
    return tok.tokenize


def _first_pass(
    path: Path,
    scratch: Path,
    split: Callable[[str], list[str]] | None,
    on_bytes: Callable[[int], None] | None,
    strict: bool = False,
) -> tuple[list[str], np.ndarray, np.ndarray, int, int]:
    """Provisional ids to ``scratch`` (int32); returns (tokens, counts, line ends, lines, replaced).

    ``tokens[i]`` is provisional id i; ``line ends`` are positions in the provisional id stream
    where a line ended. ``split`` None: whitespace tokens, by the compiled ``Interner``."""
    index: _Ids | Interner = _Ids() if split is not None else Interner()
    counts = np.zeros(0, dtype=np.int64)
    ends: list[np.ndarray] = []
    written = replaced = 0
    last = b""
    with open(scratch, "wb") as out:
        for piece in _blocks(path, on_bytes, strict):
            if split is None:
                assert isinstance(index, Interner)  # chosen above with split
                block, block_ends = index.block(piece)
            else:
                assert isinstance(index, _Ids)
                text, bad = decode_replacing(piece)
                replaced += bad
                block, block_ends = _split_lines(text, split, index)
            block.tofile(out)
            if len(index) > len(counts):
                counts = np.concatenate([counts, np.zeros(len(index) - len(counts), dtype=np.int64)])
            counts += np.bincount(block, minlength=len(counts))
            ends.append(written + block_ends)
            written += len(block)
            last = piece[-1:]
    lines = sum(map(len, ends)) + (1 if last not in (b"", b"\n") else 0)
    ends.append(np.array([written], dtype=np.int64))
    line_ends = np.concatenate(ends)
    if isinstance(index, _Ids):  # split was given
        return list(index), counts, line_ends, lines, replaced
    tokens, canon, invalid = index.tokens()
    replaced = int((invalid * counts).sum())  # each occurrence of a token with invalid bytes counts
    if len(tokens) < len(canon):  # byte strings that decode to the same text: one provisional id
        _merge(scratch, canon)
        counts = np.bincount(canon, weights=counts, minlength=len(tokens)).astype(np.int64)
    return tokens, counts, line_ends, lines, replaced


def _split_lines(text: str, split: Callable[[str], list[str]], index: _Ids) -> tuple[np.ndarray, np.ndarray]:
    pieces = text.split("\n")
    lengths = np.empty(len(pieces), dtype=np.int64)
    ids: list[int] = []
    for k, line in enumerate(pieces):
        tokens = split(line)
        ids.extend(map(index.__getitem__, tokens))
        lengths[k] = len(tokens)
    return np.array(ids, dtype=np.int32), np.cumsum(lengths)[:-1]  # every "\n" ends a line


def _merge(scratch: Path, canon: np.ndarray) -> None:
    ids = np.memmap(scratch, dtype=np.int32, mode="r+")
    for lo in range(0, len(ids), _REMAP_STEP):
        ids[lo : lo + _REMAP_STEP] = canon[ids[lo : lo + _REMAP_STEP]]
    ids.flush()
    del ids


def _vocabulary(
    tokens: list[str], counts: np.ndarray, min_count: int, max_vocab: int | None
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(words, their counts, provisional id -> final id or -1)."""
    kept = [i for i in range(len(tokens)) if counts[i] >= min_count]
    kept.sort(key=lambda i: (-int(counts[i]), tokens[i]))
    if max_vocab is not None:
        kept = kept[:max_vocab]
    remap = np.full(len(tokens), -1, dtype=np.int32)
    remap[np.array(kept, dtype=np.int64)] = np.arange(len(kept), dtype=np.int32)
    return tuple(tokens[i] for i in kept), counts[np.array(kept, dtype=np.int64)], remap


def _renumber(scratch: Path, target: Path, remap: np.ndarray, line_ends: np.ndarray) -> np.ndarray:
    """Write the final ids to ``target``; returns the line ends in the final stream."""
    provisional = np.memmap(scratch, dtype=np.int32, mode="r")
    new_ends = np.empty(len(line_ends), dtype=np.int64)
    kept_before = 0
    with open(target, "wb") as out:
        for lo in range(0, len(provisional), _REMAP_STEP):
            hi = min(len(provisional), lo + _REMAP_STEP)
            final = remap[provisional[lo:hi]]
            keep = final >= 0
            final[keep].tofile(out)
            kept_cum = np.concatenate([[0], np.cumsum(keep)])
            inside = (line_ends >= lo) & (line_ends <= hi)  # an end at hi is set twice, to the same value
            new_ends[inside] = kept_before + kept_cum[line_ends[inside] - lo]
            kept_before += int(keep.sum())
    return new_ends


def _sentences(line_ends: np.ndarray, max_len: int) -> np.ndarray:
    """Sentence boundaries (S + 1,): non-empty lines, cut into pieces of at most ``max_len``."""
    bounds = np.unique(np.concatenate([[0], line_ends]))
    lo, hi = bounds[:-1], bounds[1:]
    pieces = (hi - lo + max_len - 1) // max_len
    starts = np.repeat(lo, pieces) + max_len * (np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces))
    return np.concatenate([starts, bounds[-1:]]).astype(np.int64)


def _new_file(workdir: str | os.PathLike[str], prefix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".i32", dir=workdir)
    os.close(fd)
    return Path(name)


def encode_corpus(
    path: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    *,
    min_count: int = 5,
    max_vocab: int | None = None,
    max_sentence_length: int = 10_000,
    lowercase: bool = False,
    tokenizer: str | None = None,
    min_words: int = 2,
    errors: str = "replace",
    on_bytes: Callable[[int], None] | None = None,
) -> EncodedCorpus:
    """Read ``path`` once and return it as vocabulary ids stored under ``workdir``.

    Args:
        path: a UTF-8 text file (a byte order mark at its start is skipped).
        workdir: an existing directory for the id file (4 bytes per token); it must outlive the
            returned corpus.
        min_count, max_vocab: words seen fewer times are dropped; then only the ``max_vocab`` most
            frequent are kept.
        max_sentence_length: lines are cut into sentences of at most this many (kept) words.
        lowercase, tokenizer: how lines become tokens (see the module docstring).
        min_words: fewer distinct words than this after ``min_count`` is an error (the noise
            distribution needs a word other than the target).
        errors: ``"replace"``: bytes that are not UTF-8 become U+FFFD and are counted in
            ``replaced``; ``"strict"``: the first one is a DataError naming its byte offset.
        on_bytes: called with the number of bytes read after each block (a progress bar).

    Raises:
        DataError (naming the file): missing file, a directory, a pipe or device, binary content, an empty corpus,
            fewer than ``min_words`` distinct words after ``min_count``, with ``errors="strict"``
            a byte that is not UTF-8.
        ConfigError: a bad ``tokenizer`` name or ``errors`` value.
    """
    source = Path(path)
    if not source.exists():
        raise DataError(f"{where(source)}: no such corpus file; expected a UTF-8 text file")
    check_regular_file(source, expected="a UTF-8 text file")  # a FIFO would block, a device never end
    if isinstance(max_sentence_length, bool) or not isinstance(max_sentence_length, int) or max_sentence_length < 1:
        raise ConfigError(f"max_sentence_length must be an int >= 1, got {max_sentence_length!r}")
    if errors not in ("replace", "strict"):
        raise ConfigError(f"errors {errors!r}: expected 'replace' or 'strict'")
    split = _line_splitter(lowercase, tokenizer)
    scratch = _new_file(workdir, "provisional-")
    try:
        tokens, counts, line_ends, lines, replaced = _first_pass(source, scratch, split, on_bytes, errors == "strict")
        raw_tokens = int(counts.sum())
        if raw_tokens == 0:
            raise DataError(
                f"{where(source)}: the corpus has no words; expected text with words separated by spaces or newlines"
            )
        words, kept_counts, remap = _vocabulary(tokens, counts, min_count, max_vocab)
        if len(words) < min_words:
            raise DataError(
                f"{where(source)}: {len(words)} distinct word(s) occur at least min_count = {min_count} "
                f"times ({len(tokens)} distinct in all); expected at least {min_words} (lower min_count "
                f"or give a larger corpus)"
            )
        target = _new_file(workdir, "ids-")
        new_ends = _renumber(scratch, target, remap, line_ends)
    finally:
        scratch.unlink(missing_ok=True)
    ids = np.memmap(target, dtype=np.int32, mode="r")
    return EncodedCorpus(
        path=str(source),
        ids=ids,
        starts=_sentences(new_ends, max_sentence_length),
        words=words,
        counts=kept_counts,
        raw_tokens=raw_tokens,
        lines=lines,
        replaced=replaced,
    )
