"""fastText's native ``.bin`` model: the words, the subword bucket rows and the n-gram settings.

Layout (fastText ``src/fasttext.cc`` ``saveModel``, ``args.cc``, ``dictionary.cc``, ``matrix``),
little-endian::

    int32 magic 793712314, int32 version (11 or 12; files of fastText < 0.2 start at args and
                                        lack the prune index and the two quantization flags)
    args:  int32 dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate,
           float64 t
    dict:  int32 size nwords nlabels, int64 ntokens, int64 pruneidx_size,
           size x (word bytes, NUL, int64 count, int8 type 0=word 1=label),
           pruneidx_size x (int32, int32)
    bool   quant_input                         (quantized .ftz models: not supported)
    input: int64 rows (= nwords + bucket), int64 dim, rows x dim float32
    bool   qout, then the output matrix (not needed for word vectors)

A word's vector is what fastText's ``getWordVector`` computes: the mean of the input rows of the
word itself and of its character n-grams (``embedlayer.subwords``). A word the file lacks gets the
mean of its n-gram rows only, and the zero vector if it has none. The input matrix is memory-mapped,
so a multi-GB model opens without reading its bucket rows.

This module builds no ``Vectors``: ``read_fasttext_bin`` returns a ``FastTextModel`` (words, their
vectors, the input matrix and settings), which ``Vectors.load`` turns into a ``FastTextVectors``
(``embedlayer.vectors.store``, which answers unseen words with ``mean_rows``).
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass

import numpy as np

from embedlayer._io import check_regular_file
from embedlayer.errors import FormatError, where
from embedlayer.subwords import hash_many, ngram_bytes
from embedlayer.vectors.checks import UnicodeErrors, check_read_options

__all__ = ["FastTextArgs", "FastTextModel", "read_fasttext_bin", "mean_rows", "FASTTEXT_MAGIC", "is_fasttext_bin"]

FASTTEXT_MAGIC = 793712314
_VERSIONS = (11, 12)
_EOS = b"</s>"
_ARGS = struct.Struct("<12id")
_DICT = struct.Struct("<iiiqq")
_OLD_DICT = struct.Struct("<iiiq")  # before fastText 0.2: no prune index
_ENTRY = struct.Struct("<qb")
_MATRIX = struct.Struct("<qq")
_WORDS_PER_STEP = 4096


def is_fasttext_bin(head: bytes) -> bool:
    """Whether ``head`` (the file's first bytes) starts with fastText's magic number."""
    return len(head) >= 4 and struct.unpack_from("<i", head)[0] == FASTTEXT_MAGIC


@dataclass(frozen=True, kw_only=True)
class FastTextArgs:
    """The training settings stored in a ``.bin`` (fastText's ``Args``); field names as fastText's."""

    dim: int
    ws: int
    epoch: int
    min_count: int
    neg: int
    word_ngrams: int
    loss: int  # 1 hs, 2 ns, 3 softmax, 4 ova
    model: int  # 1 cbow, 2 skipgram, 3 supervised
    bucket: int  # number of n-gram hash rows after the word rows
    minn: int  # shortest character n-gram
    maxn: int  # longest character n-gram (0: no subwords)
    lr_update_rate: int
    t: float  # sampling threshold
    version: int  # 0 for the pre-0.2 layout without magic number


@dataclass(frozen=True, kw_only=True)
class FastTextModel:
    """What ``read_fasttext_bin`` returns: the (first ``limit``) words and their (N, D) float32
    vectors as fastText computes them, and what unseen words need."""

    words: tuple[str, ...]
    matrix: np.ndarray  # (N, D) the words' vectors
    input_matrix: np.ndarray  # (nwords + bucket, D) memory-mapped, read-only
    args: FastTextArgs
    counts: np.ndarray  # (N,) int64 word counts
    labels: tuple[str, ...]  # a supervised model's labels
    nwords: int  # rows before the buckets (all the file's words, even beyond a limit)
    subwords: bool  # whether unseen words get a vector (n-grams stored and used)


def mean_rows(matrix: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(D,) fastText's average of ``matrix[ids]``: float32 sum in order, then times float32(1 / count);
    the zero vector for no ids."""
    vector = np.zeros(matrix.shape[1], dtype=np.float32)
    for i in ids.tolist():
        vector += matrix[i]
    if len(ids):
        vector *= np.float32(1.0 / len(ids))
    return vector


def read_fasttext_bin(
    path: str | os.PathLike[str],
    limit: int | None = None,
    expected_dim: int | None = None,
    *,
    unicode_errors: UnicodeErrors = "strict",
) -> FastTextModel:
    """Read a fastText ``.bin`` model (unsupervised or supervised, not quantized).

    Args:
        path: the file.
        limit: keep only the first ``limit`` words (unseen words still use every bucket row).
        expected_dim: if given, the model's dimension must equal it.
        unicode_errors: how to decode words that are not valid UTF-8 (``"strict"`` raises).

    Raises:
        ConfigError: bad ``limit``, ``expected_dim`` or ``unicode_errors``.
        FormatError (naming the file and a byte offset): missing file, unknown magic number or
            version, a quantized model, inconsistent counts, a truncated file, invalid UTF-8,
            duplicate words, a matrix whose shape disagrees with the dictionary and settings.
    """
    check_read_options(limit, expected_dim, unicode_errors)
    check_regular_file(path, expected="a fastText .bin model", error=FormatError)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    return _BinReader(path, data, limit, expected_dim, unicode_errors).read()


class _BinReader:
    def __init__(self, path, data, limit, expected_dim, unicode_errors) -> None:
        self.path, self.data, self.limit = path, data, limit
        self.expected_dim, self.unicode_errors = expected_dim, unicode_errors

    def fail(self, offset: int, message: str) -> FormatError:
        return FormatError(f"{where(self.path, offset=offset)}: {message}")

    def unpack(self, layout: struct.Struct, offset: int, what: str) -> tuple:
        if offset + layout.size > len(self.data):
            raise self.fail(
                len(self.data),
                f"file ends inside the {what} ({layout.size} bytes from byte "
                f"{offset}); expected a complete fastText .bin (truncated?)",
            )
        return layout.unpack_from(self.data, offset)

    def read(self) -> FastTextModel:
        magic, version = self.unpack(struct.Struct("<ii"), 0, "magic number and version")
        if magic != FASTTEXT_MAGIC:
            try:  # fastText before 0.2 wrote no magic number: the file starts with the settings
                return self.read_body(0, 0)
            except FormatError as exc:
                raise self.fail(
                    0,
                    f"magic number is {magic}; expected fastText's {FASTTEXT_MAGIC} (and the "
                    f"file does not read as a pre-0.2 model either: {exc})",
                ) from None
        if version not in _VERSIONS:
            raise self.fail(4, f"fastText file version is {version}; expected one of {_VERSIONS}")
        return self.read_body(8, version)

    def read_body(self, pos: int, version: int) -> FastTextModel:
        """Everything after the magic number and version; ``version`` 0 is the pre-0.2 layout
        (no prune index, no quantization flags)."""
        args, pos = self.read_args(pos, version)
        entries, nwords, pos = self.read_dict(args, pos, version)
        if version:
            (quant,) = self.unpack(struct.Struct("<?"), pos, "quantization flag")
            if quant:
                raise self.fail(
                    pos,
                    "quantized .ftz not supported (quant_input is set); expected a plain "
                    "fastText .bin (save it without quantize, or use its .vec)",
                )
            pos += 1
        matrix = self.read_matrix(args, nwords, pos, version)
        return self.build(args, entries, nwords, matrix)

    def read_args(self, pos: int, version: int) -> tuple[FastTextArgs, int]:
        values = self.unpack(_ARGS, pos, "settings (args)")
        names = (
            "dim",
            "ws",
            "epoch",
            "min_count",
            "neg",
            "word_ngrams",
            "loss",
            "model",
            "bucket",
            "minn",
            "maxn",
            "lr_update_rate",
        )
        args = FastTextArgs(**dict(zip(names, values[:12])), t=values[12], version=version)
        if version == 11 and args.model == 3:  # fastText: old supervised models had no char n-grams
            args = FastTextArgs(**{**args.__dict__, "maxn": 0})
        for name in ("dim", "bucket", "minn", "maxn"):
            value = getattr(args, name)
            if value < (1 if name == "dim" else 0):
                bound = ">= 1" if name == "dim" else ">= 0"
                raise self.fail(pos, f"the settings give {name} = {value}; expected {bound}")
        if self.expected_dim is not None and args.dim != self.expected_dim:
            raise self.fail(pos, f"the vectors have dimension {args.dim}, expected_dim is {self.expected_dim}")
        return args, pos + _ARGS.size

    def read_dict(
        self, args: FastTextArgs, pos: int, version: int
    ) -> tuple[list[tuple[bytes, int, int, int]], int, int]:
        layout = _DICT if version else _OLD_DICT
        size, nwords, nlabels, _ntokens, *rest = self.unpack(layout, pos, "dictionary header")
        prune = rest[0] if rest else -1
        if not (0 <= nwords <= size and nlabels == size - nwords):
            raise self.fail(
                pos,
                f"dictionary sizes disagree: size {size}, nwords {nwords}, nlabels {nlabels}; "
                f"expected size = nwords + nlabels >= 0",
            )
        pos += layout.size
        if size * (1 + _ENTRY.size) > len(self.data) - pos:
            raise self.fail(len(self.data), f"file too short for {size} dictionary entries; truncated?")
        data, entries = self.data, []
        for i in range(size):
            end = data.find(b"\0", pos)
            if end < 0:
                raise self.fail(pos, f"dictionary entry {i} of {size} has no NUL after its word; truncated?")
            count, kind = self.unpack(_ENTRY, end + 1, f"dictionary entry {i}")
            if kind != (0 if i < nwords else 1):
                raise self.fail(
                    end + 9,
                    f"dictionary entry {i} has type {kind}; expected "
                    f"{'0 (word)' if i < nwords else '1 (label)'} with nwords {nwords}",
                )
            entries.append((data[pos:end], count, kind, pos))
            pos = end + 1 + _ENTRY.size
        if prune > 0:
            raise self.fail(
                pos,
                f"pruned dictionary ({prune} n-gram ids): quantized .ftz not supported; expected a plain fastText .bin",
            )
        if prune < -1:
            raise self.fail(pos - 8, f"pruneidx size is {prune}; expected -1 or 0")
        self.no_ngrams = prune == 0
        self.version = version  # fastText: an empty prune index keeps no n-gram at all
        return entries, nwords, pos

    def read_matrix(self, args: FastTextArgs, nwords: int, pos: int, version: int) -> np.ndarray:
        rows, dim = self.unpack(_MATRIX, pos, "input matrix shape")
        if rows != nwords + args.bucket or dim != args.dim:
            raise self.fail(
                pos,
                f"input matrix is {rows} x {dim}; expected (nwords + bucket) x dim = "
                f"{nwords + args.bucket} x {args.dim}",
            )
        start = pos + _MATRIX.size
        if start + rows * dim * 4 > len(self.data):
            raise self.fail(
                len(self.data),
                f"file ends inside the input matrix ({rows} x {dim} float32 from byte {start}); truncated?",
            )
        matrix = np.frombuffer(self.data, dtype="<f4", count=rows * dim, offset=start).reshape(rows, dim)
        end = start + rows * dim * 4
        qout = False
        if version:
            (qout,) = self.unpack(struct.Struct("<?"), end, "output quantization flag")
            end += 1
        if not qout:
            out_rows, out_dim = self.unpack(_MATRIX, end, "output matrix shape")
            if out_rows < 0 or out_dim < 0 or end + _MATRIX.size + out_rows * out_dim * 4 > len(self.data):
                raise self.fail(
                    len(self.data),
                    f"file ends inside the output matrix ({out_rows} x {out_dim} "
                    f"from byte {end + _MATRIX.size}); truncated?",
                )
        return matrix

    def build(self, args: FastTextArgs, entries, nwords: int, matrix: np.ndarray) -> FastTextModel:
        keep = nwords if self.limit is None else min(self.limit, nwords)
        words = []
        for raw, _, _, offset in entries[:keep]:
            try:
                words.append(raw.decode("utf-8", self.unicode_errors))
            except UnicodeDecodeError as exc:
                raise self.fail(
                    offset + exc.start,
                    f"the word {raw!r} is not valid UTF-8 ({exc.reason}); "
                    f"expected UTF-8 (or pass unicode_errors='replace')",
                ) from None
        if len(set(words)) != len(words):
            seen: dict[str, int] = {}
            for i, word in enumerate(words):
                if word in seen:
                    raise self.fail(
                        entries[i][3],
                        f"duplicate word {word!r} (entries {seen[word]} and {i}); expected each word once",
                    )
                seen[word] = i
        subwords = args.bucket > 0 and args.maxn > 0 and not self.no_ngrams
        vectors = _word_vectors(
            matrix, [e[0] for e in entries[:keep]], args, nwords, subwords, eos_subwords=self.version == 0
        )
        if not np.isfinite(vectors).all():
            row = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
            raise self.fail(
                entries[row][3],
                f"the vector of word {words[row]!r} has a NaN or infinite value; expected finite numbers",
            )
        labels = tuple(e[0].decode("utf-8", "replace") for e in entries[nwords:])
        counts = np.array([e[1] for e in entries[:keep]], dtype=np.int64)
        return FastTextModel(
            words=tuple(words),
            matrix=vectors,
            input_matrix=matrix,
            args=args,
            counts=counts,
            labels=labels,
            nwords=nwords,
            subwords=subwords,
        )


def _word_vectors(
    matrix: np.ndarray, raw_words: list[bytes], args: FastTextArgs, nwords: int, subwords: bool, *, eos_subwords: bool
) -> np.ndarray:
    """(len(raw_words), D): row i = mean of input rows [i] + n-gram rows of word i, as fastText
    (which gives ``</s>`` no n-grams since 0.2, and did before)."""
    n = len(raw_words)
    out = np.empty((n, args.dim), dtype=np.float32)
    for lo in range(0, n, _WORDS_PER_STEP):
        hi = min(n, lo + _WORDS_PER_STEP)
        groups = []
        for i in range(lo, hi):
            wanted = subwords and (eos_subwords or raw_words[i] != _EOS)
            grams = ngram_bytes(raw_words[i], args.minn, args.maxn) if wanted else []
            groups.append(grams)
        sizes = np.array([1 + len(g) for g in groups], dtype=np.int64)
        flat = [g for grams in groups for g in grams]
        bucket_rows = nwords + (hash_many(flat) % np.uint32(max(args.bucket, 1))).astype(np.int64)
        ids = np.empty(int(sizes.sum()), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        is_word = np.zeros(len(ids), dtype=bool)
        is_word[starts] = True
        ids[is_word] = np.arange(lo, hi)
        ids[~is_word] = bucket_rows
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are reported by the caller
            sums = np.add.reduceat(matrix[ids], starts, axis=0)  # float32 sums in row order, as fastText
            out[lo:hi] = sums * (1.0 / sizes).astype(np.float32)[:, None]
    return out
