"""SubwordEmbedding: a word's vector from its own row and its hashed character n-grams (fastText's).

Table layout, ``(num_words + buckets, D)``::

    [ word rows: one per id of the vocabulary (specials included) | n-gram hash buckets ]
      0 .. num_words-1                                                num_words .. num_words+buckets-1

Word ``i``'s *bag* is its own row ``i`` (with ``word_rows``) followed by the rows
``num_words + fasttext_hash(g) % buckets`` of its n-grams ``g`` (``embedlayer.subwords``:
``<word>`` wrapping, UTF-8 characters, FNV-1a over signed chars, exactly fastText's). Its vector is
the sum, or the mean (``combine="mean"``, fastText's ``get_word_vector``), of the bag's rows.
Specials (``<pad>``, ``<unk>``, ...), a vocabulary's own OOV hash rows and ``</s>`` have no
n-grams; the padding id's bag is empty, so padding gives zeros.

The bags of the vocabulary are computed once (CSR: ``bag_offsets`` (V + 1,), ``bag_rows``), so a
forward pass is one :func:`~embedlayer.kernels.bag.embedding_bag` over the looked-up bags: the
gradient reaches only the rows used, as a sparse tensor (``sparse=True``) or through a bound
row-wise optimizer of :mod:`embedlayer.sparse` (``LazyAdam(layer).bind()``). The bags are derived
from the words, never saved: a saved model stores the weight and its vocabulary.

A word outside the vocabulary gets the bag of its n-grams only (fastText's vector for an unknown
word): :meth:`SubwordEmbedding.embed_words`, or :meth:`SubwordEmbedding.word_ids`, which gives
such words ids ``num_words + k`` that forward then accepts (the text classifier's path: its
``encode`` extends the id space with the unseen words of the texts it reads).

Initialisation: word rows as :class:`~embedlayer.layers.embedding.Embedding` draws them, n-gram
rows **zero**, so that at the start every vocabulary word has the vector a word-only table would
give it (with ``combine="mean"`` the word row is scaled by its bag size to keep that true) and an
n-gram row only ever holds what training taught it: an unseen word is never given noise.
:meth:`~SubwordEmbedding.from_fasttext` copies a fastText model's rows (word and n-gram) as they
are; :meth:`~SubwordEmbedding.from_vectors` fills the word rows from plain word vectors, the
same way (n-gram rows zero).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from embedlayer.errors import ConfigError
from embedlayer.kernels.checks import check_ids
from embedlayer.layers.bag import EmbeddingBag
from embedlayer.layers.embedding import Embedding, InitScheme
from embedlayer.subwords import DEFAULT_BUCKETS, SubwordSpec, hash_many, ngram_bytes
from embedlayer.vocab import Vocab

if TYPE_CHECKING:
    from embedlayer.vectors import FastTextVectors, Vectors

__all__ = ["SubwordEmbedding", "ngram_bags"]

_NO_NGRAMS = "</s>"  # fastText gives its end-of-sentence token no n-grams
_STEP = 4096


def ngram_bags(
    words: Sequence[str | None],
    own: Sequence[int] | None,
    spec: SubwordSpec,
    first_bucket: int,
    *,
    eos_ngrams: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Bags of rows in CSR form: word ``i`` has ``own[i]`` (when ``own`` is given and it is >= 0)
    then ``first_bucket + fasttext_hash(g) % spec.buckets`` for each n-gram ``g`` of ``words[i]``
    (none for ``None``, nor for ``"</s>"`` unless ``eos_ngrams``), in fastText's order.

    Returns:
        (offsets, rows): (N + 1,) int64 and (offsets[-1],) int64.
    """
    n = len(words)
    sizes = np.zeros(n, dtype=np.int64)
    parts: list[np.ndarray] = []
    skip = () if eos_ngrams else (_NO_NGRAMS,)
    for lo in range(0, n, _STEP):
        chunk = words[lo : lo + _STEP]
        grams = [
            ngram_bytes(w.encode("utf-8"), spec.min_n, spec.max_n) if w is not None and w not in skip else []
            for w in chunk
        ]
        counts = np.array([len(g) for g in grams], dtype=np.int64)
        mine = np.array([-1 if own is None else own[lo + i] for i in range(len(chunk))], dtype=np.int64)
        has_own = mine >= 0
        sizes[lo : lo + len(chunk)] = counts + has_own
        hashed = first_bucket + (hash_many([g for gs in grams for g in gs]) % np.uint32(spec.buckets)).astype(np.int64)
        block = np.empty(int((counts + has_own).sum()), dtype=np.int64)
        starts = np.cumsum(counts + has_own) - (counts + has_own)
        is_own = np.zeros(len(block), dtype=bool)
        is_own[starts[has_own]] = True
        block[is_own] = mine[has_own]
        block[~is_own] = hashed
        parts.append(block)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return offsets, (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))


def _strings(words: Vocab | Sequence[str]) -> tuple[list[str | None], dict[str, int], int]:
    """(the string of each id, None where it has no n-grams; word -> id; number of ids)."""
    if isinstance(words, Vocab):
        specials = set(words.specials) | {t for t in (words.pad_token, words.unk_token) if t is not None}
        strings: list[str | None] = [None if w in specials else w for w in words.itos]
        strings += [None] * (words.num_embeddings - len(words.itos))  # the vocabulary's OOV hash rows
        return strings, dict(words.stoi), words.num_embeddings
    words = list(words)
    if not all(isinstance(w, str) for w in words):
        bad = next(w for w in words if not isinstance(w, str))
        raise ConfigError(f"SubwordEmbedding: words must be strings, got {bad!r}")
    index = {w: i for i, w in enumerate(words)}
    if len(index) != len(words):
        raise ConfigError("SubwordEmbedding: words must be distinct; expected each word once")
    return list(words), index, len(words)


class SubwordEmbedding(EmbeddingBag):
    """Vectors of a vocabulary's words from their own rows and hashed character n-grams.

    Args:
        words: a :class:`~embedlayer.vocab.Vocab` (ids as ``vocab.encode`` gives them; specials
            without n-grams) or a sequence of distinct words (id ``i`` is ``words[i]``).
        embedding_dim: D.
        min_n, max_n: character n-gram lengths (fastText's minn, maxn).
        buckets: n-gram hash rows after the word rows.
        combine: ``"sum"`` or ``"mean"`` (fastText's average) of a word's rows.
        word_rows: whether a word has its own row in its bag (False: n-grams only).
        padding_idx: the id that pads (its bag is empty: zeros); ``"vocab"``: the Vocab's pad id
            (None for a plain word list).
        eos_ngrams: give ``</s>`` n-grams too (fastText models older than 0.2 did; newer ones and
            this layer by default do not).
        init, std, sparse, freeze, generator, dtype: as :class:`~embedlayer.layers.embedding.Embedding`,
            for the word rows (n-gram rows start at zero; see the module docstring).

    Raises:
        ConfigError: bad n-gram settings (see :class:`~embedlayer.subwords.SubwordSpec`), repeated
            or non-string words, or a bad Embedding setting.
    """

    bag_offsets: Tensor  # (num_words + 1,) int64
    bag_rows: Tensor  # (offsets[-1],) int64 table rows

    def __init__(
        self,
        words: Vocab | Sequence[str],
        embedding_dim: int,
        *,
        min_n: int = 3,
        max_n: int = 6,
        buckets: int = DEFAULT_BUCKETS,
        combine: str = "sum",
        word_rows: bool = True,
        padding_idx: int | None | str = "vocab",
        eos_ngrams: bool = False,
        init: InitScheme = "normal",
        std: float = 1.0,
        sparse: bool = False,
        freeze: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        _weight: Tensor | None = None,
    ) -> None:
        spec = SubwordSpec(min_n=min_n, max_n=max_n, buckets=buckets, combine=combine, word_rows=word_rows)
        strings, index, num_words = _strings(words)
        if padding_idx == "vocab":
            padding_idx = words.pad_id if isinstance(words, Vocab) else None
        if isinstance(padding_idx, str):
            raise ConfigError(f"SubwordEmbedding: padding_idx must be an int, None or 'vocab', got {padding_idx!r}")
        if num_words < 1:
            raise ConfigError("SubwordEmbedding: expected at least one word, got none")
        if padding_idx is not None and not (isinstance(padding_idx, int) and 0 <= padding_idx < num_words):
            raise ConfigError(f"SubwordEmbedding: padding_idx {padding_idx!r} is not a word id in [0, {num_words})")
        fresh = _weight is None
        if _weight is None:
            weight = torch.zeros(num_words + spec.buckets, embedding_dim, dtype=dtype)
        else:
            weight = _weight.to(dtype)
        super().__init__(
            num_words + spec.buckets,
            embedding_dim,
            mode=combine,
            padding_idx=padding_idx,
            init=init,
            std=std,
            sparse=sparse,
            freeze=freeze,
            dtype=dtype,
            _weight=weight,
        )
        self.spec, self.num_words, self.strings, self.index = spec, num_words, strings, index
        own = [-1 if i == padding_idx or not word_rows else i for i in range(num_words)]
        pad_free = [None if i == padding_idx else s for i, s in enumerate(strings)]
        offsets, rows = ngram_bags(pad_free, own, spec, num_words, eos_ngrams=eos_ngrams)
        self.register_buffer("bag_offsets", torch.from_numpy(offsets), persistent=False)
        self.register_buffer("bag_rows", torch.from_numpy(rows), persistent=False)
        self._extra: tuple[Tensor, Tensor] | None = None  # the bags with those of words outside the vocabulary
        self._extra_index: dict[str, int] = {}  # such words -> their ids (word_ids)
        if fresh:
            self.reset_parameters(generator)

    # --- initialisation ---------------------------------------------------------------------------
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Word rows drawn as an Embedding of ``num_words`` rows draws them, n-gram rows zero; with
        ``combine="mean"`` each word row is scaled by its bag size, so a word's initial vector is
        its draw (see the module docstring)."""
        if not hasattr(self, "spec"):  # called by Embedding.__init__ before the bags exist
            return
        draw = Embedding(
            self.num_words, self.embedding_dim, padding_idx=None, init=self.init, std=self.std, generator=generator
        )
        with torch.no_grad():
            self.weight.zero_()
            self.weight[: self.num_words] = draw.weight.detach().to(self.weight.dtype)
        self.scale_word_rows()
        self.zero_padding_row()

    def bag_sizes(self) -> Tensor:
        """(num_words,) int64: the rows in each word's bag."""
        return self.bag_offsets[1:] - self.bag_offsets[:-1]

    def scale_word_rows(self) -> None:
        """With ``combine="mean"`` and word rows, multiply word ``i``'s row by its bag size: a word
        whose n-gram rows are zero then has its row's value as vector (no-op otherwise)."""
        if self.spec.combine != "mean" or not self.spec.word_rows or self.weight.is_meta:
            return
        with torch.no_grad():
            scale = self.bag_sizes().clamp(min=1).to(torch.float32).unsqueeze(1)  # (V, 1)
            self.weight[: self.num_words] = (self.weight[: self.num_words].float() * scale).to(self.weight.dtype)

    # --- lookup -----------------------------------------------------------------------------------
    def _bags(self) -> tuple[Tensor, Tensor]:
        if self._extra is None:
            return self.bag_offsets, self.bag_rows
        return self._extra

    def forward(self, ids: Tensor) -> Tensor:  # type: ignore[override]
        """Word vectors: ids (...,) of the vocabulary (or of ``extra_words``) -> (..., D) float32.

        Raises:
            ConfigError: non-integer ids.
            IdOutOfRangeError: an id outside the vocabulary (and the extra words).
        """
        offsets, rows = self._bags()
        ids = check_ids(ids, offsets.shape[0] - 1)
        flat = ids.reshape(-1).long()
        if flat.numel() == 0:
            return torch.zeros(*ids.shape, self.embedding_dim)
        starts = offsets[flat]  # (N,)
        sizes = offsets[flat + 1] - starts  # (N,)
        bag_starts = torch.cumsum(sizes, 0) - sizes  # (N,) where each bag begins in the gathered ids
        total = int(bag_starts[-1] + sizes[-1])
        gather = torch.arange(total) + torch.repeat_interleave(starts - bag_starts, sizes, output_size=total)
        out = super().forward(rows[gather], bag_starts)  # (N, D)
        return out.reshape(*ids.shape, self.embedding_dim)

    def word_ids(self, words: Sequence[str]) -> list[int]:
        """The id of each word: its vocabulary id, else an id ``num_words + k`` whose bag is the
        word's n-grams only. Such ids are kept (the id space grows with each new word; a copy or a
        saved model does not keep them), so the same word always gets the same id."""
        fresh = [w for w in dict.fromkeys(words) if w not in self.index and w not in self._extra_index]
        if fresh:
            offsets, rows = ngram_bags(fresh, None, self.spec, self.num_words)
            base_offsets, base_rows = self._bags()
            self._extra = (
                torch.cat([base_offsets, base_offsets[-1] + torch.from_numpy(offsets[1:])]),
                torch.cat([base_rows, torch.from_numpy(rows)]),
            )
            first = self.num_words + len(self._extra_index)
            self._extra_index.update((w, first + k) for k, w in enumerate(fresh))
        return [self.index[w] if w in self.index else self._extra_index[w] for w in words]

    @contextmanager
    def extra_words(self, words: Sequence[str] = ()) -> Iterator[list[int]]:
        """The ids of ``words`` (see :meth:`word_ids`), and of any word ``word_ids`` is asked for
        within the block, valid until its end; yields the ids of ``words``."""
        saved = self._extra, dict(self._extra_index)
        try:
            yield self.word_ids(words)
        finally:
            self._extra, self._extra_index = saved

    def embed_words(self, words: Sequence[str]) -> Tensor:
        """(N, D) vectors of any words: a vocabulary word's bag, else the bag of its n-grams (a word
        without n-grams in ``min_n..max_n`` gets zeros); the id space is left as it was."""
        with self.extra_words(words) as ids:
            return self(torch.tensor(ids, dtype=torch.long))

    def extra_repr(self) -> str:
        s = self.spec
        return (
            f"{self.num_words} words + {s.buckets} buckets, {self.embedding_dim}, n-grams {s.min_n}-{s.max_n}, "
            f"combine={s.combine!r}, word_rows={s.word_rows}, padding_idx={self.padding_idx}"
        )

    # --- other constructors -----------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> SubwordEmbedding:
        """Not available: a subword table needs its words; use ``from_fasttext`` or ``from_vectors``."""
        raise ConfigError(
            "SubwordEmbedding.from_pretrained: a subword table needs its words; expected "
            "SubwordEmbedding.from_fasttext(...) or SubwordEmbedding.from_vectors(vectors, vocab)"
        )

    from_weight = from_pretrained

    @classmethod
    def from_fasttext(
        cls,
        source: str | Any,
        vocab: Vocab | Sequence[str] | None = None,
        *,
        combine: str = "mean",
        **layer_kwargs: Any,
    ) -> SubwordEmbedding:
        """A layer whose rows are a fastText model's: ``source`` is a ``.bin`` (fastText's, or
        ``embedlayer pretrain --subwords``'s model.bin, or that output folder) or a loaded
        :class:`~embedlayer.vectors.FastTextVectors`. Its n-gram settings and bucket rows are
        taken as they are; see :func:`embedlayer.layers.subword_init.from_fasttext`."""
        from embedlayer.layers.subword_init import from_fasttext

        return from_fasttext(cls, source, vocab, combine=combine, **layer_kwargs)

    @classmethod
    def from_vectors(
        cls,
        vectors: Vectors | FastTextVectors,
        vocab: Vocab,
        **kwargs: Any,
    ) -> SubwordEmbedding:
        """Word rows from plain word ``vectors`` (aligned as ``Embedding.from_vectors``), n-gram
        rows zero; see :func:`embedlayer.layers.subword_init.from_vectors`."""
        from embedlayer.layers.subword_init import from_vectors

        return from_vectors(cls, vectors, vocab, **kwargs)
