"""The input rows of a fastText-style classifier: words, hashed word n-grams, char n-grams.

A text's rows, in fastText's order (``Dictionary::getLine``): for each token, its word row (when
the vocabulary has it; an unknown word has none, as in fastText) followed, with char n-grams, by
the rows of its n-grams (``nwords + fasttext_hash(gram) % buckets``, see
:mod:`embedlayer.subwords`); then the word n-grams of the whole token sequence
(``Dictionary::addWordNgrams``): for each start ``i`` and ``i < j < i + n``,

    h = hash[i];  h = h * 116049371 + hash[j]  (uint64 arithmetic)
    row = nwords + h % buckets

where ``hash[k]`` is ``fasttext_hash(token_k)`` stored in an ``int32`` and widened to ``uint64``
with sign extension (fastText keeps the token hashes in a ``std::vector<int32_t>``). Unknown tokens
take part in the n-grams, as in fastText. Word n-grams and char n-grams share the same buckets.

With ``RowScheme.combine == "word"`` each row also gets a weight (:func:`build_weighted_rows`):
a word with ``m`` rows (its own and its char n-grams) gives each ``1 / m``, a word n-gram row 1,
and the weights of a text are scaled to sum to 1, so the text's vector is the mean over its words
and word n-grams of each one's mean row (a typo'd word's many n-grams count as one word).

The rows of many texts are built at once into a CSR pair ``(ids, offsets)``: text ``t`` has the
rows ``ids[offsets[t]:offsets[t + 1]]``. Each distinct token is hashed once (vectorised); the
assembly is one compiled pass.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from embedlayer._jit import njit_cached
from embedlayer.errors import ConfigError
from embedlayer.subwords import hash_many, ngram_bytes

__all__ = ["EOS", "NGRAM_PRIME", "RowScheme", "build_rows", "build_weighted_rows", "gc_paused", "sign_extended_hashes"]

#: fastText's multiplier in ``Dictionary::addWordNgrams``.
NGRAM_PRIME = 116049371
#: fastText's end-of-line token (``Dictionary::EOS``).
EOS = "</s>"


@dataclass(frozen=True)
class RowScheme:
    """Which rows a text uses: ``nwords`` word rows, then ``buckets`` hashed rows shared by word
    n-grams (2..``word_ngrams``; 1 means words only) and char n-grams (``minn``..``maxn``; 0 off).
    ``eos``: every text ends with fastText's end-of-line token ``</s>`` (a row of its own, and the
    last word n-grams); its row is the vocabulary's when it has one, else the bucket of its hash.
    ``combine``: "row" (fastText: every row one term of the mean) or "word" (one term per word and
    per word n-gram, see the module's docstring)."""

    nwords: int
    buckets: int
    word_ngrams: int = 2
    minn: int = 0
    maxn: int = 0
    eos: bool = False
    combine: str = "row"

    def __post_init__(self) -> None:
        for name, least in (("nwords", 1), ("buckets", 0), ("word_ngrams", 1), ("minn", 0), ("maxn", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"RowScheme.{name}: expected an integer >= {least}, got {value!r}")
        if self.maxn and not 1 <= self.minn <= self.maxn:
            raise ConfigError(f"RowScheme: char n-grams {self.minn}-{self.maxn}: expected 1 <= min <= max")
        if not isinstance(self.eos, bool):
            raise ConfigError(f"RowScheme.eos: expected True or False, got {self.eos!r}")
        if self.combine not in ("row", "word"):
            raise ConfigError(f"RowScheme.combine: expected 'row' or 'word', got {self.combine!r}")
        if self.buckets == 0 and (self.word_ngrams > 1 or self.maxn):
            raise ConfigError("RowScheme.buckets: expected >= 1 with word or char n-grams, got 0")

    @property
    def num_rows(self) -> int:
        """Rows of the table: words then buckets."""
        return self.nwords + self.buckets


def sign_extended_hashes(tokens: Sequence[str]) -> np.ndarray:
    """fastText's hash of each token as its n-gram code sees it: (N,) uint64, the uint32 FNV-1a
    value read as int32 and sign-extended to 64 bits."""
    raw = hash_many([t.encode("utf-8", "surrogatepass") for t in tokens])
    return raw.view(np.int32).astype(np.int64).view(np.uint64)


@njit_cached(nogil=True)
def _assemble(types, bounds, wid, hashes, sub_off, sub_ids, word_ngrams, nwords, buckets, eos, offsets, out, inv, fill):
    """One pass over texts: count (``fill`` False: ``offsets[t + 1]`` = rows of text t) or write
    the rows into ``out`` at ``offsets`` (``fill`` True) and, when ``inv`` is not empty, 1 / (rows
    of its word) into ``inv`` (1 for a word n-gram row). types (T,) int64 token type per token,
    bounds (N + 1,) int64 text bounds in ``types``; wid/hashes/sub_off per type; ``eos`` the type
    every text ends with (-1: none)."""
    weigh = fill and inv.shape[0] > 0
    nb = np.uint64(buckets)
    prime = np.uint64(NGRAM_PRIME)
    extra = 1 if eos >= 0 else 0
    for t in range(bounds.shape[0] - 1):
        lo, hi = bounds[t], bounds[t + 1]
        end = hi + extra
        k = offsets[t] if fill else 0
        for i in range(lo, end):
            ty = types[i] if i < hi else eos
            share = np.float32(1.0 / max(1, (1 if wid[ty] >= 0 else 0) + sub_off[ty + 1] - sub_off[ty]))
            if wid[ty] >= 0:
                if fill:
                    out[k] = wid[ty]
                if weigh:
                    inv[k] = share
                k += 1
            for s in range(sub_off[ty], sub_off[ty + 1]):
                if fill:
                    out[k] = sub_ids[s]
                if weigh:
                    inv[k] = share
                k += 1
        for i in range(lo, end):
            h = hashes[types[i] if i < hi else eos]
            for j in range(i + 1, min(end, i + word_ngrams)):
                h = h * prime + hashes[types[j] if j < hi else eos]
                if fill:
                    out[k] = nwords + np.int64(h % nb)
                if weigh:
                    inv[k] = 1.0
                k += 1
        if not fill:
            offsets[t + 1] = k


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (restored after). Building lists of token lists makes
    the collector walk every object of the process again and again: 5x slower on SST-2."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _type_table(token_lists: Sequence[Sequence[str]], max_len: int | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(types (T,) int64, bounds (N + 1,) int64, the distinct tokens): each token as the index of
    its distinct form, texts truncated to ``max_len`` tokens."""
    index: dict[str, int] = {}
    put = index.setdefault
    lists = token_lists
    if max_len is not None and any(len(toks) > max_len for toks in token_lists):
        lists = [toks[:max_len] for toks in token_lists]
    with gc_paused():
        types = np.array([put(tok, len(index)) for toks in lists for tok in toks], dtype=np.int64)
    bounds = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=bounds[1:])
    return types, bounds, list(index)


def _char_rows(tokens: list[str], scheme: RowScheme, eos: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR (offsets (K + 1,), rows) of the char n-gram rows of each distinct token (none for the
    end-of-line type ``eos``, as in fastText)."""
    if not scheme.maxn:
        return np.zeros(len(tokens) + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    grams = [ngram_bytes(t.encode("utf-8", "surrogatepass"), scheme.minn, scheme.maxn) for t in tokens]
    if eos >= 0:
        grams[eos] = []
    flat = hash_many([g for gs in grams for g in gs])
    rows = scheme.nwords + (flat % np.uint32(scheme.buckets)).astype(np.int64)
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, grams), dtype=np.int64, count=len(grams)), out=offsets[1:])
    return offsets, rows


def build_rows(
    token_lists: Sequence[Sequence[str]],
    stoi: Mapping[str, int],
    scheme: RowScheme,
    *,
    max_len: int | None = None,
    skip: frozenset[int] = frozenset(),
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of every text as CSR: ``(ids (M,) int64, offsets (N + 1,) int64)``.

    ``stoi`` maps a token to its word row (< ``scheme.nwords``); tokens it lacks, and rows in
    ``skip`` (e.g. the padding and unknown-word rows of a Vocab), give no word row. Texts are cut
    to their first ``max_len`` tokens before anything else (None: whole).
    """
    ids, offsets, _ = _build(token_lists, stoi, scheme, max_len, skip, False)
    return ids, offsets


def build_weighted_rows(
    token_lists: Sequence[Sequence[str]],
    stoi: Mapping[str, int],
    scheme: RowScheme,
    *,
    max_len: int | None = None,
    skip: frozenset[int] = frozenset(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`build_rows` plus each row's weight in its text's vector, (M,) float32 summing to 1
    per text, for ``scheme.combine == "word"`` with char n-grams (see the module's docstring); None
    for "row" or without char n-grams (the plain mean: every word then has one row)."""
    return _build(token_lists, stoi, scheme, max_len, skip, scheme.combine == "word" and scheme.maxn > 0)


def _build(
    token_lists: Sequence[Sequence[str]],
    stoi: Mapping[str, int],
    scheme: RowScheme,
    max_len: int | None,
    skip: frozenset[int],
    weigh: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`build_weighted_rows` with the weights only when ``weigh``."""
    types, bounds, tokens = _type_table(token_lists, max_len)
    eos = -1
    if scheme.eos:
        eos = tokens.index(EOS) if EOS in tokens else len(tokens)
        tokens += [] if eos < len(tokens) else [EOS]
    wid = np.fromiter((stoi.get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))
    if skip:
        wid[np.isin(wid, np.fromiter(skip, dtype=np.int64))] = -1
    if wid.size and int(wid.max()) >= scheme.nwords:
        raise ConfigError(f"build_rows: a word row {int(wid.max())} is beyond nwords={scheme.nwords}")
    if eos >= 0 and wid[eos] < 0 and scheme.buckets:  # no row in the vocabulary: the bucket of its hash
        wid[eos] = scheme.nwords + int(hash_many([EOS.encode()])[0]) % scheme.buckets
    hashes = sign_extended_hashes(tokens) if scheme.word_ngrams > 1 else np.zeros(len(tokens), dtype=np.uint64)
    sub_off, sub_ids = _char_rows(tokens, scheme, eos)
    offsets = np.zeros(len(bounds), dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    nwords, buckets = scheme.nwords, max(scheme.buckets, 1)
    common = (types, bounds, wid, hashes, sub_off, sub_ids, scheme.word_ngrams, nwords, buckets, eos)
    _assemble(*common, offsets, empty, np.zeros(0, dtype=np.float32), False)
    np.cumsum(offsets, out=offsets)
    ids = np.empty(int(offsets[-1]), dtype=np.int64)
    inv = np.empty(len(ids) if weigh else 0, dtype=np.float32)
    _assemble(*common, offsets, ids, inv, True)
    if not weigh:
        return ids, offsets, None
    text = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))  # (M,) the text of each row
    totals = np.bincount(text, weights=inv, minlength=len(offsets) - 1)  # (N,) terms per text
    return ids, offsets, (inv / totals[text]).astype(np.float32)
