"""`embedlayer vectors info|convert|neighbors|analogy|evaluate`: pretrained word vectors as files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from embedlayer.cli.common import (
    HelpFormatter,
    add_output_args,
    add_unicode_errors,
    check_counts,
    errors_in_flags,
    note,
    output_policy,
    print_json,
)
from embedlayer.vectors.formats import FORMATS, WRITABLE_FORMATS

_FORMAT_HELP = "vectors format (default: detected from the content)"


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "vectors",
        help="inspect, convert, query and evaluate word vectors",
        description="Inspect, convert, query and evaluate word vectors (GloVe, word2vec text and "
        "binary, fastText .vec/.bin, or embedlayer's native directory).",
    )
    cmds = group.add_subparsers(dest="vectors_command", metavar="COMMAND", required=True)

    p = cmds.add_parser("info", help="format, size, dimension, a few words and norm statistics")
    _add_source(p)
    p.add_argument("--words", type=int, default=10, metavar="N", help="how many of the first words to show")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_checked(run_info, counts={"--words": 0}))

    p = cmds.add_parser(
        "convert",
        help="write vectors in another format",
        description="Read SRC and write it to DST in --to FORMAT (written atomically). " + output_policy(resume=False),
        formatter_class=HelpFormatter,
    )
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST", help="file to write (a folder for --to native); new or empty unless --force")
    p.add_argument("--to", required=True, choices=WRITABLE_FORMATS, help="output format")
    p.add_argument("--from", dest="format", default=None, choices=FORMATS, help=_FORMAT_HELP)
    p.add_argument("--limit", type=int, default=None, metavar="N", help="convert only the first N words")
    add_unicode_errors(p)
    p.add_argument("--json", action="store_true")
    add_output_args(p, resume=False, what="DST")
    p.set_defaults(handler=_checked(run_convert, counts={}, format_flag="--from"))

    p = cmds.add_parser(
        "neighbors",
        help="nearest words by cosine",
        description="The nearest words by cosine similarity of each WORD (exact search).",
    )
    _add_source(p, model=True)
    p.add_argument("words", nargs="+", metavar="WORD")
    p.add_argument("--topn", type=int, default=10)
    p.add_argument("--restrict-vocab", type=int, default=None, metavar="N", help="search only the first N words")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_checked(run_neighbors, counts={"--topn": 1, "--restrict-vocab": 1}))

    p = cmds.add_parser(
        "analogy",
        help="A is to B as C is to ?",
        description="Answer 'A is to B as C is to ?' with gensim's 3CosAdd convention: the words "
        "closest to B - A + C (most_similar(positive=[B, C], negative=[A])), the question words "
        "excluded. Example: man king woman -> queen.",
    )
    _add_source(p)
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    p.add_argument("--topn", type=int, default=5)
    p.add_argument("--restrict-vocab", type=int, default=None, metavar="N", help="search only the first N words")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_checked(run_analogy, counts={"--topn": 1, "--restrict-vocab": 1}))

    p = cmds.add_parser(
        "evaluate",
        help="analogy accuracy and word-similarity correlations",
        description="Evaluate in gensim's conventions: analogy accuracy (questions-words format) "
        "and Spearman/Pearson on word-pair files. Without --analogies and --pairs, the sets that ship "
        "in the gensim wheel are used when gensim is installed.",
    )
    _add_source(p)
    p.add_argument("--analogies", metavar="FILE", help="analogy questions (': section' blocks of 'a b c d' lines)")
    p.add_argument("--pairs", nargs="+", default=[], metavar="FILE", help="word-pair files 'w1<TAB>w2<TAB>score'")
    p.add_argument("--restrict-vocab", type=int, default=300000, metavar="N", help="use only the first N words")
    p.add_argument("--case-sensitive", action="store_true", help="do not upper-case words before lookup")
    p.add_argument("--dummy4unknown", action="store_true", help="count OOV questions as wrong and OOV pairs as 0")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_checked(run_evaluate, counts={"--restrict-vocab": 1}))


def _add_source(p: argparse.ArgumentParser, *, model: bool = False) -> None:
    what = "vectors file, native directory" + (" or a `classify train` model folder (its words)" if model else "")
    p.add_argument("path", metavar="PATH", help=what)
    p.add_argument("--format", default=None, choices=FORMATS, help=_FORMAT_HELP)
    p.add_argument("--limit", type=int, default=None, metavar="N", help="read only the first N words")
    add_unicode_errors(p)


def _checked(
    run: Callable[[argparse.Namespace], int], *, counts: dict[str, int], format_flag: str = "--format"
) -> Callable[[argparse.Namespace], int]:
    """``run`` after ``--limit`` and its ``counts`` (flag -> smallest value) are checked, its errors
    naming flags instead of the library's keyword arguments (``unicode_errors='replace'``,
    ``format='word2vec'``)."""

    def handler(args: argparse.Namespace) -> int:
        check_counts(args, {"--limit": 1, **counts})
        with errors_in_flags(args, {"unicode_errors": "--unicode-errors", "format": format_flag}):
            return run(args)

    return handler


def _load(path: str, args: argparse.Namespace, fmt: str | None = None):
    """The vectors at ``path`` read with the command's options (``fmt``: the format, if known)."""
    from embedlayer.vectors import Vectors

    return Vectors.load(path, fmt or args.format, args.limit, unicode_errors=args.unicode_errors)


def _detect(path: str, fmt: str | None) -> str:
    from embedlayer.vectors import detect_vectors_format

    return fmt if fmt is not None else detect_vectors_format(path)


# ------------------------------------------------------------------------------------ commands
def run_info(args: argparse.Namespace) -> int:
    import numpy as np

    fmt = _detect(args.path, args.format)
    vectors = _load(args.path, args, fmt)
    norms = _true_norms(vectors.matrix)
    info: dict[str, Any] = {
        "path": args.path,
        "format": fmt,
        "count": len(vectors),
        "dim": vectors.vector_size,
        "dtype": str(vectors.matrix.dtype),
        "words": list(vectors.index_to_key[: max(0, args.words)]),
        "norms": {
            "min": float(norms.min()),
            "mean": float(norms.mean()),
            "median": float(np.median(norms)),
            "max": float(norms.max()),
            "zero_rows": int((norms == 0).sum()),
        }
        if len(norms)
        else None,
    }
    if args.json:
        print_json(info)
        return 0
    print(f"{info['path']}: {info['format']}, {info['count']} words x {info['dim']} ({info['dtype']})")
    if info["norms"]:
        n = info["norms"]
        print(
            f"norms: min {n['min']:.4f}  mean {n['mean']:.4f}  median {n['median']:.4f}  max {n['max']:.4f}"
            f"  zero rows {n['zero_rows']}"
        )
    print("first words: " + " ".join(info["words"]))
    return 0


def _true_norms(matrix):
    import numpy as np

    out = np.empty(len(matrix), dtype=np.float32)
    step = 1 << 16
    for start in range(0, len(matrix), step):
        out[start : start + step] = np.linalg.norm(matrix[start : start + step], axis=1)
    return out


def run_convert(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output

    native = args.to == "native"  # a folder, written beside and swapped in whole
    with claim_output(
        args.dst, kind="dir" if native else "file", what="DST", inputs=(args.src,), force=args.force, swapped=native
    ):
        vectors = _load(args.src, args)
        vectors.save(args.dst, format=args.to)
    summary = {"src": args.src, "dst": args.dst, "format": args.to, "count": len(vectors), "dim": vectors.vector_size}
    if args.json:
        print_json(summary)
    else:
        note(f"wrote {len(vectors)} x {vectors.vector_size} vectors to {args.dst} ({args.to})")
    return 0


def run_neighbors(args: argparse.Namespace) -> int:
    vectors = _model_vectors(args) if _is_model_folder(args.path) else _load(args.path, args)
    results = vectors.most_similar_batch(args.words, topn=args.topn, restrict_vocab=args.restrict_vocab)
    if args.json:
        print_json({"topn": args.topn, "neighbors": {w: [[n, s] for n, s in r] for w, r in zip(args.words, results)}})
        return 0
    for word, result in zip(args.words, results):
        print(f"{word}:")
        for neighbour, score in result:
            print(f"  {score:.4f}  {neighbour}")
    return 0


def _is_model_folder(path: str) -> bool:
    """Whether ``path`` is a folder written by `classify train` (its config.json says so)."""
    import json
    from pathlib import Path

    config = Path(path) / "config.json"
    try:
        return Path(path).is_dir() and json.loads(config.read_text(encoding="utf-8")).get("format") == (
            "embedlayer.text-classifier"
        )
    except (OSError, ValueError, AttributeError):
        return False


def _model_vectors(args: argparse.Namespace) -> Any:
    """The token vectors of the classifier in the folder ``args.path``: its vocabulary words, and with
    subwords any word (from its n-grams). A word it cannot answer is one line naming it."""
    from embedlayer.errors import VocabError
    from embedlayer.tasks import TextClassificationPipeline
    from embedlayer.tasks.subword import token_vectors

    vectors = token_vectors(TextClassificationPipeline.load(args.path))
    for word in args.words:
        if word not in vectors:
            raise VocabError(
                f"{word!r} is not in the vocabulary of the model {args.path}, which has no subword table to "
                f"compute it from (trained without --subwords); expected one of its {len(vectors):,} words"
            )
    return vectors


def run_analogy(args: argparse.Namespace) -> int:
    vectors = _load(args.path, args)
    result = vectors.most_similar(
        positive=[args.b, args.c], negative=[args.a], topn=args.topn, restrict_vocab=args.restrict_vocab
    )
    if args.json:
        print_json({"question": [args.a, args.b, args.c], "answers": [[w, s] for w, s in result]})
        return 0
    print(f"{args.a} is to {args.b} as {args.c} is to:")
    for word, score in result:
        print(f"  {score:.4f}  {word}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from embedlayer.errors import ConfigError
    from embedlayer.vectors.evaluation import evaluate_word_analogies, evaluate_word_pairs, gensim_test_file

    analogies, pairs, sets = args.analogies, list(args.pairs), "given"
    if analogies is None and not pairs:  # the sets in the gensim wheel
        found = {name: gensim_test_file(name) for name in ("questions-words.txt", "wordsim353.tsv", "simlex999.txt")}
        if any(p is None for p in found.values()):
            raise ConfigError(
                "no --analogies or --pairs given and gensim (whose wheel ships the standard sets) "
                "is not installed; pass --analogies FILE and/or --pairs FILE"
            )
        note("no --analogies/--pairs given: using the evaluation sets that ship in the gensim wheel")
        analogies = str(found["questions-words.txt"])
        pairs = [str(found["wordsim353.tsv"]), str(found["simlex999.txt"])]
        sets = "gensim test data"
    vectors = _load(args.path, args)
    common = {
        "restrict_vocab": args.restrict_vocab,
        "case_insensitive": not args.case_sensitive,
        "dummy4unknown": args.dummy4unknown,
    }
    report: dict[str, Any] = {
        "path": args.path,
        "count": len(vectors),
        "restrict_vocab": args.restrict_vocab,
        "sets": sets,
    }
    if analogies is not None:
        with _Bar("analogies") as bar:
            report["analogies"] = evaluate_word_analogies(vectors, analogies, progress=bar, **common).to_dict()
    report["pairs"] = [evaluate_word_pairs(vectors, p, **common).to_dict() for p in pairs]
    if args.json:
        print_json(report)
        return 0
    if "analogies" in report:
        a = report["analogies"]
        print(
            f"analogies {a['path']}: accuracy {a['score']:.4f}  ({a['questions']} questions, OOV {a['oov_ratio']:.1f}%)"
        )
        for s in a["sections"]:
            print(f"  {s['section']:<32} {s['accuracy']:.4f}  ({s['correct']}/{s['correct'] + s['incorrect']})")
    for p in report["pairs"]:
        print(
            f"pairs {p['path']}: spearman {p['spearman'][0]:.4f}  pearson {p['pearson'][0]:.4f}  "
            f"({p['pairs']} pairs, OOV {p['oov_ratio']:.1f}%)"
        )
    return 0


class _Bar:
    """A tqdm bar on stderr for a long evaluation when tqdm is installed and stderr is a terminal."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: Any = None  # a tqdm bar once the first call finds a terminal

    def __enter__(self) -> _Bar:
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if not sys.stderr.isatty():
                return
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, desc=self.desc, unit="q", leave=False, file=sys.stderr, mininterval=0.5)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
