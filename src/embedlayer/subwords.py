"""Character n-grams and their hash buckets, byte-compatible with fastText.

fastText (``src/dictionary.cc``, ``computeSubwords`` and ``hash``) gives a word these subwords:

1. wrap it as ``"<" + word + ">"`` and take its UTF-8 bytes;
2. a *character* starts at every byte that is not a continuation byte (``b & 0xC0 != 0x80``), so
   n-grams never split a multi-byte character (fastText walks bytes, not code points; for valid
   UTF-8 the two agree);
3. every run of ``n`` consecutive characters, ``minn <= n <= maxn``, is an n-gram, except the
   single characters ``"<"`` and ``">"`` themselves (fastText skips an n-gram of length 1 that starts
   at the first byte or ends at the last one). The whole ``"<word>"`` *is* an n-gram when its length
   is within ``minn..maxn``;
4. an n-gram's row is ``nwords + fasttext_hash(ngram) % bucket``: the buckets follow the word rows.

``fasttext_hash`` is 32-bit FNV-1a with one twist that matters for non-ASCII text: each byte is
XORed in as a *signed* char, i.e. sign-extended from int8 to uint32 (``0xE9`` enters as
``0xFFFFFFE9``). Released fastText models were trained that way, so matching it is what makes
``.bin`` files give the right vectors for unseen Cyrillic or accented words. (The vocabulary's
``fnv1a_32`` is the standard unsigned variant; the two agree on ASCII.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlayer.errors import ConfigError

__all__ = [
    "DEFAULT_BUCKETS",
    "SUBWORD_COMBINES",
    "SubwordSpec",
    "char_ngrams",
    "fasttext_hash",
    "fasttext_hash_bytes",
    "hash_many",
    "ngram_bytes",
    "subword_ids",
    "subword_rows",
]

BOW = b"<"
EOW = b">"
_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


def fasttext_hash_bytes(data: bytes) -> int:
    """fastText's FNV-1a of ``data`` in [0, 2**32): bytes >= 0x80 enter sign-extended (signed char)."""
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ (b | 0xFFFFFF00 if b & 0x80 else b)) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def fasttext_hash(s: str) -> int:
    """fastText's FNV-1a hash of the UTF-8 bytes of ``s``, in [0, 2**32).

    >>> fasttext_hash("<wh")
    1048167652
    """
    return fasttext_hash_bytes(s.encode("utf-8"))


def hash_many(items: Sequence[bytes]) -> np.ndarray:
    """``fasttext_hash_bytes`` of every item, as a (len(items),) uint32 array.

    Vectorised: the items are grouped by length and each group is hashed one byte column at a
    time with numpy, so hashing the n-grams of a million-word dictionary takes seconds, not minutes.
    """
    out = np.empty(len(items), dtype=np.uint32)
    if not items:
        return out
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    for length in np.unique(lengths).tolist():
        where = np.flatnonzero(lengths == length)
        h = np.full(len(where), _FNV_OFFSET, dtype=np.uint32)
        if length:
            block = np.frombuffer(b"".join([items[i] for i in where.tolist()]), dtype=np.int8)
            block = block.reshape(len(where), length).astype(np.int32).view(np.uint32)  # sign-extend
            for column in range(length):
                h ^= block[:, column]
                h *= np.uint32(_FNV_PRIME)  # wraps modulo 2**32, as uint32 arithmetic in C does
        out[where] = h
    return out


def _check(minn: int, maxn: int) -> None:
    for name, value in (("minn", minn), ("maxn", maxn)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a non-negative int, got {value!r}")


def ngram_bytes(word: bytes, minn: int, maxn: int) -> list[bytes]:
    """The n-grams of ``b"<" + word + b">"`` as UTF-8 byte strings, in fastText's order
    (by start character, then by length). ``word`` is raw bytes, as stored in a ``.bin``."""
    _check(minn, maxn)
    wrapped = BOW + word + EOW
    size = len(wrapped)
    out: list[bytes] = []
    for i in range(size):
        if wrapped[i] & 0xC0 == 0x80:
            continue  # a continuation byte: not the start of a character
        j, n = i, 1
        while j < size and n <= maxn:
            j += 1
            while j < size and wrapped[j] & 0xC0 == 0x80:
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == size)):
                out.append(wrapped[i:j])
            n += 1
    return out


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of ``"<" + word + ">"`` that fastText uses, ``minn <= n <= maxn``.

    >>> char_ngrams("where", 3, 4)[:5]
    ['<wh', '<whe', 'whe', 'wher', 'her']

    Raises:
        ConfigError: ``minn`` or ``maxn`` is not a non-negative int.
    """
    return [g.decode("utf-8") for g in ngram_bytes(word.encode("utf-8"), minn, maxn)]


def subword_ids(word: str | bytes, minn: int, maxn: int, buckets: int, nwords: int) -> np.ndarray:
    """Rows of the n-grams of ``word`` in a fastText input matrix: ``nwords + hash % buckets``.

    Returns:
        (K,) int64 array, one id per n-gram of ``char_ngrams(word, minn, maxn)``, in that order
        (repeated n-grams repeat, as in fastText). Empty when ``buckets`` is 0.

    Raises:
        ConfigError: a negative or non-int ``minn``, ``maxn``, ``buckets`` or ``nwords``.
    """
    for name, value in (("buckets", buckets), ("nwords", nwords)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a non-negative int, got {value!r}")
    raw = word.encode("utf-8") if isinstance(word, str) else bytes(word)
    grams = ngram_bytes(raw, minn, maxn)
    if buckets == 0 or not grams:
        _check(minn, maxn)
        return np.zeros(0, dtype=np.int64)
    return nwords + (hash_many(grams) % np.uint32(buckets)).astype(np.int64)


def subword_rows(
    words: Sequence[str], minn: int, maxn: int, buckets: int, *, step: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Input rows of every word of a vocabulary, as fastText lays them out (CSR form).

    Word ``i`` uses row ``i`` (its own) followed by ``len(words) + fasttext_hash(g) % buckets``
    for each n-gram ``g`` of ``char_ngrams(words[i], minn, maxn)``, in that order.

    Returns:
        (offsets, rows): (V + 1,) int64 and (offsets[-1],) int64; word ``i``'s rows are
        ``rows[offsets[i]:offsets[i + 1]]``.
    """
    _check(minn, maxn)
    nwords = len(words)
    sizes = np.empty(nwords, dtype=np.int64)
    parts: list[np.ndarray] = []
    for lo in range(0, nwords, step):
        grams = [ngram_bytes(w.encode("utf-8"), minn, maxn) for w in words[lo : lo + step]]
        hashed = nwords + (hash_many([g for gs in grams for g in gs]) % np.uint32(buckets)).astype(np.int64)
        counts = np.array([len(gs) for gs in grams], dtype=np.int64)
        sizes[lo : lo + len(grams)] = counts + 1
        firsts = np.cumsum(counts + 1) - (counts + 1)  # where each word's own row goes
        block = np.empty(int((counts + 1).sum()), dtype=np.int64)
        own = np.zeros(len(block), dtype=bool)
        own[firsts] = True
        block[own] = np.arange(lo, lo + len(grams))
        block[~own] = hashed
        parts.append(block)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return offsets, (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))


#: fastText's default number of n-gram hash buckets.
DEFAULT_BUCKETS = 2_000_000
#: How a word's rows (its own and its n-grams') become one vector.
SUBWORD_COMBINES: tuple[str, ...] = ("sum", "mean")


@dataclass(frozen=True, kw_only=True)
class SubwordSpec:
    """The n-gram settings of a subword embedding (``embedlayer.layers.subword``), checked once.

    ``min_n``..``max_n``: character n-gram lengths (fastText's minn, maxn); ``buckets``: hash rows
    after the word rows; ``combine``: ``"sum"`` or ``"mean"`` (fastText's) of a word's rows;
    ``word_rows``: whether a vocabulary word also has its own row (fastText: yes).
    The one parser of the CLI's ``--subwords MIN-MAX --buckets N --subword-combine C`` is :meth:`parse`.

    Raises:
        ConfigError: naming the field, the value and what was expected.
    """

    min_n: int = 3
    max_n: int = 6
    buckets: int = DEFAULT_BUCKETS
    combine: str = "sum"
    word_rows: bool = True

    def __post_init__(self) -> None:
        for name, least in (("min_n", 1), ("max_n", 1), ("buckets", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"SubwordSpec.{name}: expected an integer >= {least}, got {value!r}")
        if self.min_n > self.max_n:
            raise ConfigError(
                f"SubwordSpec.min_n: expected min_n <= max_n, got min_n {self.min_n} > max_n {self.max_n}"
            )
        if self.combine not in SUBWORD_COMBINES:
            raise ConfigError(
                f"SubwordSpec.combine: expected one of {', '.join(map(repr, SUBWORD_COMBINES))}, got {self.combine!r}"
            )
        if not isinstance(self.word_rows, bool):
            raise ConfigError(f"SubwordSpec.word_rows: expected True or False, got {self.word_rows!r}")

    @classmethod
    def parse(
        cls,
        text: str,
        buckets: int | None = None,
        combine: str = "sum",
        *,
        flags: tuple[str, str, str] = ("--subwords", "--buckets", "--subword-combine"),
    ) -> SubwordSpec:
        """``"3-6"`` (or ``"4"`` for 4-4) with ``buckets`` (None: :data:`DEFAULT_BUCKETS`) and ``combine``.

        Errors name the command-line ``flags`` (for --subwords, --buckets, --subword-combine).

        >>> SubwordSpec.parse("3-6", 1000)
        SubwordSpec(min_n=3, max_n=6, buckets=1000, combine='sum', word_rows=True)

        Raises:
            ConfigError: ``--subwords x``, ``--subwords 6-3``, ``--subwords 0-3``, ``--buckets 0``, a bad combine.
        """
        flag, bucket_flag, combine_flag = flags
        lo, sep, hi = str(text).strip().partition("-")
        try:
            min_n = int(lo)
            max_n = int(hi) if sep else min_n
        except ValueError:
            raise ConfigError(f"{flag} {text!r}: expected MIN-MAX character n-gram lengths such as 3-6") from None
        if min_n < 1 or min_n > max_n:
            raise ConfigError(
                f"{flag} {text}: expected 1 <= MIN <= MAX (n-gram lengths in characters, e.g. 3-6), "
                f"got MIN {min_n} and MAX {max_n}"
            )
        if buckets is not None and (isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1):
            raise ConfigError(f"{bucket_flag} {buckets}: expected a number of n-gram hash buckets >= 1")
        if combine not in SUBWORD_COMBINES:
            raise ConfigError(f"{combine_flag} {combine}: expected one of {', '.join(SUBWORD_COMBINES)}")
        return cls(min_n=min_n, max_n=max_n, buckets=DEFAULT_BUCKETS if buckets is None else buckets, combine=combine)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; ``from_dict`` inverts it."""
        return {
            "min_n": self.min_n,
            "max_n": self.max_n,
            "buckets": self.buckets,
            "combine": self.combine,
            "word_rows": self.word_rows,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubwordSpec:
        """Build from ``to_dict`` output. Raises ConfigError on unknown keys or bad values."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"SubwordSpec.from_dict: expected a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - {"min_n", "max_n", "buckets", "combine", "word_rows"})
        if unknown:
            raise ConfigError(f"SubwordSpec: unknown key(s) {', '.join(map(repr, unknown))}")
        return cls(**dict(data))

    def describe(self) -> str:
        """``3-6 x 2,000,000 buckets (sum)``, for messages."""
        return f"{self.min_n}-{self.max_n} x {self.buckets:,} buckets ({self.combine})"
