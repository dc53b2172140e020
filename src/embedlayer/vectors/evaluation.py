"""Intrinsic evaluation of word vectors, in gensim's conventions so the numbers are comparable.

``evaluate_word_analogies`` follows ``KeyedVectors.evaluate_word_analogies`` (3CosAdd):

- only the first ``restrict_vocab`` rows count; with ``case_insensitive`` words are upper-cased and
  a word's vector is that of its first (most frequent) case variant;
- a question with a word outside that vocabulary is "OOV": skipped, or counted incorrect with
  ``dummy4unknown``; ``oov_ratio`` is the percentage of OOV questions among all questions;
- the answer is the first of the 5 best words (the question words excluded) whose upper-cased form
  is not a question word; the last section is "Total accuracy" over all sections.

``evaluate_word_pairs`` follows ``KeyedVectors.evaluate_word_pairs``: lines starting with "#" are
comments, a line that does not split into exactly word, word, number is skipped (so the header of
SimLex-style files is skipped), OOV pairs are skipped or scored 0.0 with ``dummy4unknown``.
Pearson and Spearman (average ranks for ties) are computed with numpy; their p-values only when
scipy is importable (else ``None``).

On the same vectors both return gensim's numbers (to ~1e-7). The analogy questions are answered in
batches with one matrix product per block of rows, which is what makes this fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlayer._io import check_regular_file
from embedlayer.errors import ConfigError, DataError, where
from embedlayer.vectors.similarity import SimilarityMixin

__all__ = [
    "AnalogyResult",
    "AnalogyOutcomes",
    "PairsResult",
    "analogy_outcomes",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
    "gensim_test_file",
]

#: ``progress(done, total)``, called as questions are answered.
Progress = Callable[[int, int], None]
_BATCH = 256


@dataclass(frozen=True, kw_only=True)
class AnalogyResult:
    score: float  # accuracy over all answered questions (the "Total accuracy" section)
    sections: list[dict[str, Any]]  # {section, correct, incorrect, accuracy}, the last is "Total accuracy"
    questions: int  # well-formed questions in the file
    oov: int  # questions with a word outside the first restrict_vocab words
    oov_ratio: float  # 100 * oov / questions, a percentage as gensim reports it
    path: str
    source: str = "file"  # "file", or "gensim test data" when no path was given

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class PairsResult:
    pearson: tuple[float, float | None]  # (r, two-sided p-value or None without scipy)
    spearman: tuple[float, float | None]  # (rho, p-value or None)
    oov_ratio: float  # percentage of pairs with an OOV word, as gensim computes it
    pairs: int  # pairs scored (OOV pairs included with dummy4unknown)
    oov: int
    path: str
    source: str = "file"
    skipped_lines: list[int] = field(default_factory=list)  # 1-based lines that were not word, word, number

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gensim_test_file(name: str) -> Path | None:
    """Path of ``gensim/test/test_data/<name>`` in an installed gensim wheel (found without
    importing gensim), or None."""
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution("gensim")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(f"gensim/test/test_data/{name}")))
    return path if path.is_file() else None


def _resolve(path: str | os.PathLike[str] | None, default: str, what: str) -> tuple[Path, str]:
    if path is not None:
        return check_regular_file(path, expected=f"a {what} file"), "file"
    found = gensim_test_file(default)
    if found is None:
        raise ConfigError(
            f"no {what} file given and gensim (whose wheel ships {default}) is not installed; "
            f"pass the path of a {what} file"
        )
    return found, "gensim test data"


def _ok_vocab(vectors: SimilarityMixin, restrict_vocab: int, case_insensitive: bool) -> dict[str, int]:
    """word (upper-cased when case-insensitive) -> row, over the first ``restrict_vocab`` rows; the
    first row wins among case variants."""
    if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, int) or restrict_vocab < 1:
        raise ConfigError(f"restrict_vocab must be a positive int, got {restrict_vocab!r}")
    vocab: dict[str, int] = {}
    for row, word in enumerate(vectors.index_to_key[:restrict_vocab]):
        vocab.setdefault(word.upper() if case_insensitive else word, row)
    return vocab


# --- analogies -----------------------------------------------------------------------------------
#: One analogy question, its four words (upper-cased when case-insensitive), as gensim lists them.
Question = tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AnalogyOutcomes:
    """Every question's outcome: ``sections`` holds ``(name, correct, incorrect)`` lists of
    questions per section of the file, then ``"Total accuracy"`` (what gensim's
    ``evaluate_word_analogies`` returns, as lists instead of dicts)."""

    sections: list[tuple[str, list[Question], list[Question]]]
    questions: int  # well-formed questions in the file
    oov: int  # questions with a word outside the first restrict_vocab words
    path: str
    source: str

    @property
    def score(self) -> float:
        """Accuracy over all answered questions (the "Total accuracy" section); 0.0 for none."""
        _, correct, incorrect = self.sections[-1]
        answered = len(correct) + len(incorrect)
        return len(correct) / answered if answered else 0.0


def analogy_outcomes(
    vectors: SimilarityMixin,
    path: str | os.PathLike[str] | None = None,
    *,
    restrict_vocab: int = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    progress: Progress | None = None,
) -> AnalogyOutcomes:
    """Answer analogy questions "a b c d" (a is to b as c is to d) in ``: section`` blocks and list
    which were answered correctly. Arguments and errors as ``evaluate_word_analogies``."""
    file, source = _resolve(path, "questions-words.txt", "analogies")
    ok_vocab = _ok_vocab(vectors, restrict_vocab, case_insensitive)
    names, questions, quadruplets, oov = _read_questions(file, ok_vocab, case_insensitive)
    if quadruplets == 0:
        raise DataError(f"{where(file)}: no question found; expected lines 'a b c d' after ': section' lines")
    answerable = [i for i, q in enumerate(questions) if q[2] is not None]
    rows = np.array([questions[i][2] for i in answerable], dtype=np.int64).reshape(-1, 3)  # (Q, 3) a, b, c
    correct = np.zeros(len(questions), dtype=bool)
    if answerable:  # else every question is OOV: nothing to answer, the score is 0.0 as gensim's
        correct[answerable] = _answer(
            vectors,
            rows,
            [questions[i][1] for i in answerable],
            min(restrict_vocab, len(vectors)),
            case_insensitive,
            progress,
        )
    sections: list[tuple[str, list[Question], list[Question]]] = [(name, [], []) for name in names]
    for (section, words, q_rows), ok in zip(questions, correct.tolist()):
        if q_rows is not None or dummy4unknown:  # an OOV question counts (as wrong) only with dummy4unknown
            sections[section][1 if ok else 2].append(words)
    total = ("Total accuracy", [q for s in sections for q in s[1]], [q for s in sections for q in s[2]])
    return AnalogyOutcomes(sections=[*sections, total], questions=quadruplets, oov=oov, path=str(file), source=source)


def evaluate_word_analogies(
    vectors: SimilarityMixin,
    path: str | os.PathLike[str] | None = None,
    *,
    restrict_vocab: int = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    progress: Progress | None = None,
) -> AnalogyResult:
    """Accuracy on analogy questions "a b c d" (a is to b as c is to d) in ``: section`` blocks.

    Args:
        vectors: a ``Vectors``.
        path: the questions file; ``None`` uses gensim's ``questions-words.txt`` if gensim is installed.

    Raises:
        ConfigError: no path and no gensim; bad ``restrict_vocab``.
        DataError (``file:line``): a question before any ``: section`` line, bad UTF-8, no question.
        OSError: the file cannot be read.
    """
    out = analogy_outcomes(
        vectors,
        path,
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
        progress=progress,
    )
    return AnalogyResult(
        score=out.score,
        sections=[_section(name, len(c), len(i)) for name, c, i in out.sections],
        questions=out.questions,
        oov=out.oov,
        oov_ratio=100.0 * out.oov / out.questions,
        path=out.path,
        source=out.source,
    )


def _section(name: str, correct: int, incorrect: int) -> dict[str, Any]:
    answered = correct + incorrect
    return {
        "section": name,
        "correct": correct,
        "incorrect": incorrect,
        "accuracy": correct / answered if answered else 0.0,
    }


def _read_questions(file: Path, ok_vocab: dict[str, int], case_insensitive: bool):
    """-> (section names, [(section, words, rows or None if OOV)], well-formed count, OOV count)."""
    names: list[str] = []
    questions: list[tuple[int, tuple[str, ...], tuple[int, int, int] | None]] = []
    quadruplets = oov = 0
    with open(file, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{where(file, line_no)}: not valid UTF-8 ({exc.reason}); expected UTF-8 text"
                ) from None
            if line.startswith(": "):
                names.append(line.lstrip(": ").strip())
                continue
            if not names:
                raise DataError(
                    f"{where(file, line_no)}: question before any ': section' line; expected a section header first"
                )
            words = line.split()
            if len(words) != 4:
                continue  # gensim skips lines that are not four words
            if case_insensitive:
                words = [w.upper() for w in words]
            quadruplets += 1
            if any(w not in ok_vocab for w in words):
                oov += 1
                questions.append((len(names) - 1, tuple(words), None))
            else:
                rows = (ok_vocab[words[0]], ok_vocab[words[1]], ok_vocab[words[2]])
                questions.append((len(names) - 1, tuple(words), rows))
    return names, questions, quadruplets, oov


def _answer(
    vectors: SimilarityMixin,
    rows: np.ndarray,
    words: list[tuple[str, ...]],
    limit: int,
    case_insensitive: bool,
    progress: Progress | None,
) -> np.ndarray:
    """Whether each question (rows a, b, c) is answered with its 4th word, as gensim decides."""
    norms = vectors.norms()
    unit = vectors.matrix[rows.ravel()].reshape(len(rows), 3, -1) / norms[rows][:, :, None]  # (Q, 3, D)
    query = (unit[:, 1].astype(np.float64) + unit[:, 2] - unit[:, 0]) / 3  # b + c - a, gensim's weighted mean
    lengths = np.linalg.norm(query, axis=1, keepdims=True)
    query = (query / np.where(lengths > 0, lengths, 1.0)).astype(np.float32)
    out = np.zeros(len(rows), dtype=bool)
    keys = vectors.index_to_key
    for start in range(0, len(rows), _BATCH):
        stop = min(start + _BATCH, len(rows))
        _, best = vectors._batch_topk(query[start:stop], rows[start:stop], limit, min(5, limit))
        for i, candidates in zip(range(start, stop), best.tolist()):
            ignore, expected, predicted = set(words[i][:3]), words[i][3], None
            for r in candidates:  # the first of the 5 best that is not a question word
                predicted = keys[r].upper() if case_insensitive else keys[r]
                if predicted not in ignore:
                    break
            out[i] = predicted == expected
        if progress is not None:
            progress(stop, len(rows))
    return out


# --- word pairs ----------------------------------------------------------------------------------
def evaluate_word_pairs(
    vectors: SimilarityMixin,
    path: str | os.PathLike[str] | None = None,
    *,
    delimiter: str = "\t",
    restrict_vocab: int = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    encoding: str = "utf-8",
) -> PairsResult:
    """Correlation of cosine similarities with human judgements, lines ``word1<delim>word2<delim>score``.

    Args:
        vectors: a ``Vectors``.
        path: the pairs file; ``None`` uses gensim's ``wordsim353.tsv`` if gensim is installed.

    Raises:
        ConfigError: no path and no gensim; bad ``restrict_vocab``.
        DataError: undecodable text, or no valid in-vocabulary pair (naming the file).
        OSError: the file cannot be read.
    """
    file, source = _resolve(path, "wordsim353.tsv", "word-pairs")
    ok_vocab = _ok_vocab(vectors, restrict_vocab, case_insensitive)
    gold: list[float] = []
    model: list[float] = []
    skipped: list[int] = []
    oov = 0
    try:
        with open(file, encoding=encoding) as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line or line.startswith("#"):
                    continue
                parts = line.split(delimiter)
                try:
                    a, b, sim = parts
                    score = float(sim)
                except ValueError:
                    skipped.append(line_no)
                    continue
                if case_insensitive:
                    a, b = a.upper(), b.upper()
                if a not in ok_vocab or b not in ok_vocab:
                    oov += 1
                    if dummy4unknown:
                        gold.append(score)
                        model.append(0.0)
                    continue
                gold.append(score)
                model.append(_cosine(vectors, ok_vocab[a], ok_vocab[b]))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where(file)}: not valid {encoding} ({exc.reason} at byte {exc.start}); expected {encoding} text"
        ) from None
    if not gold:
        raise DataError(
            f"{where(file)}: no valid similarity judgement found (invalid format, or every pair "
            f"out of vocabulary); expected lines word1, word2, score separated by {delimiter!r}"
        )
    oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    return PairsResult(
        pearson=_pearson(gold, model),
        spearman=_spearman(gold, model),
        oov_ratio=oov_ratio,
        pairs=len(gold),
        oov=oov,
        path=str(file),
        source=source,
        skipped_lines=skipped,
    )


def _cosine(vectors: SimilarityMixin, r1: int, r2: int) -> float:
    norms = vectors.norms()
    a = vectors.matrix[r1].astype(np.float64) / norms[r1]
    b = vectors.matrix[r2].astype(np.float64) / norms[r2]
    return float(a @ b)


def pearson_r(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> float:
    """Pearson's correlation coefficient in float64 (NaN when a side is constant)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt((dx @ dx) * (dy @ dy))
    return float(np.clip(dx @ dy / denom, -1.0, 1.0)) if denom > 0 else float("nan")


def average_ranks(x: np.ndarray | list[float]) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks (scipy's ``rankdata``)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])  # first index of each run of equal values
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # mean of ranks start+1 .. end
    return ranks


def _pearson(x: list[float], y: list[float]) -> tuple[float, float | None]:
    return pearson_r(x, y), _p_value("pearsonr", x, y)


def _spearman(x: list[float], y: list[float]) -> tuple[float, float | None]:
    return pearson_r(average_ranks(x), average_ranks(y)), _p_value("spearmanr", x, y)


def _p_value(test: str, x: list[float], y: list[float]) -> float | None:
    """Two-sided p-value from scipy.stats when scipy is installed (it is not a dependency)."""
    try:
        from scipy import stats
    except ImportError:
        return None
    if len(x) < 3:
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(getattr(stats, test)(x, y).pvalue)
