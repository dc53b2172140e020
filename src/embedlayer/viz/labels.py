"""Files that say which words to show and how to colour them.

A label file has one ``word<TAB>label`` per line (a line without a tab is split at its first run
of whitespace); blank lines and lines starting with ``#`` are skipped. A word list has one word a
line (only the first whitespace-separated field is used, so a label file is also a word list).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from embedlayer._io import check_regular_file
from embedlayer.errors import DataError, VocabError, where

__all__ = ["LabelSet", "check_words", "read_labels", "read_word_list"]


@dataclass(frozen=True)
class LabelSet:
    """Word -> label, read from ``source``.

    Attributes:
        by_word: read-only mapping word -> label.
        names: the distinct labels, most frequent first (ties by name), which fixes their colours.
        source: the file it came from (for messages).
    """

    by_word: Mapping[str, str]
    names: tuple[str, ...]
    source: str

    def ids(self, words: Sequence[str]) -> np.ndarray:
        """(N,) int32 index into ``names`` of each word's label; -1 for a word without one."""
        index = {name: i for i, name in enumerate(self.names)}
        return np.array([index[self.by_word[w]] if w in self.by_word else -1 for w in words], dtype=np.int32)

    def coverage(self, words: Sequence[str]) -> int:
        """How many of ``words`` have a label."""
        return sum(1 for w in words if w in self.by_word)


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of the lines that are neither blank nor comments.

    Raises:
        DataError: the file is missing, not a regular file (a pipe or device), unreadable or not
            UTF-8 (naming file:line).
    """
    check_regular_file(path, expected="a text file")
    try:
        with open(path, encoding="utf-8") as fh:
            for number, raw in enumerate(fh, 1):
                text = raw.rstrip("\r\n")
                if text.strip() and not text.lstrip().startswith("#"):
                    yield number, text
    except UnicodeDecodeError as exc:
        raise DataError(f"{where(path)}: bytes that are not UTF-8 ({exc.reason}); expected UTF-8 text") from None


def read_labels(path: str | os.PathLike[str]) -> LabelSet:
    """Read a ``word<TAB>label`` file.

    Raises:
        DataError: a line without a label, a word given two different labels (naming both lines),
            or a file without any labelled word.
    """
    by_word: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, text in _lines(path):
        word, sep, label = text.partition("\t")
        if not sep:
            parts = text.split(None, 1)
            word, label = parts[0], parts[1] if len(parts) > 1 else ""
        word, label = word.strip(), label.strip()
        if not label:
            raise DataError(f"{where(path, number)}: {text.strip()!r} has no label; expected 'word<TAB>label'")
        if word in by_word and by_word[word] != label:
            raise DataError(
                f"{where(path, number)}: word {word!r} has label {label!r} but line "
                f"{first_line[word]} gave it {by_word[word]!r}; expected one label per word"
            )
        by_word.setdefault(word, label)
        first_line.setdefault(word, number)
    if not by_word:
        raise DataError(f"{where(path)}: no labelled words; expected lines 'word<TAB>label'")
    counts = Counter(by_word.values())
    names = tuple(sorted(counts, key=lambda name: (-counts[name], name)))
    return LabelSet(by_word=MappingProxyType(by_word), names=names, source=os.fspath(path))


def read_word_list(path: str | os.PathLike[str]) -> list[str]:
    """The words of a one-word-a-line file, in order, duplicates dropped.

    Raises:
        DataError: missing, unreadable or empty file.
    """
    words = list(dict.fromkeys(text.split()[0] for _, text in _lines(path)))
    if not words:
        raise DataError(f"{where(path)}: no words; expected one word a line")
    return words


def check_words(
    words: Sequence[str], known: Mapping[str, int] | object, *, source: str, skip_missing: bool = False
) -> tuple[list[str], list[str]]:
    """Split ``words`` into (present, missing) for a vocabulary ``known`` (anything with ``in``).

    Raises:
        VocabError: some words are missing and ``skip_missing`` is False (naming up to 10 of them),
            or none of the words is present.
    """
    present = [w for w in words if w in known]  # type: ignore[operator]
    missing = [w for w in words if w not in known]  # type: ignore[operator]
    shown = ", ".join(repr(w) for w in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
    if missing and not present:
        raise VocabError(f"none of the {len(words)} requested word(s) is in {source} (missing: {shown})")
    if missing and not skip_missing:
        raise VocabError(
            f"{len(missing)} requested word(s) are not in {source}: {shown}; "
            f"expected words of the vectors (--skip-missing leaves them out)"
        )
    return present, missing
