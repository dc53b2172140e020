"""`embedlayer plot`: a projection scatter of word vectors, or the pictures of a training run folder."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

from embedlayer.cli.common import (
    add_output_args,
    add_unicode_errors,
    errors_in_flags,
    note,
    output_policy,
    print_json,
)
from embedlayer.cli.progress import Steps
from embedlayer.errors import ConfigError
from embedlayer.vectors.formats import FORMATS as VECTOR_FORMATS
from embedlayer.viz.projection import METHODS

#: the library's keyword arguments that plot's errors may suggest, as flags
_FLAGS = {"format": "--format", "unicode_errors": "--unicode-errors"}
_METHOD_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}
_DESCRIPTION = """\
Draw a picture of word vectors or of a training run.

SOURCE is a vectors file (GloVe, word2vec text or binary, fastText .vec/.bin, a native directory):
the chosen words are projected to 2-D or 3-D (PCA built in; UMAP or t-SNE with the `viz` extra)
and drawn as a scatter with non-overlapping labels, coloured by --labels or by k-means clusters
found in the full space, into --out (.png, .svg or .pdf).

SOURCE may also be a run folder: `embedlayer demo`'s folder, or a `classify train` model folder.
Then --out is a folder that receives learning_curves.png and neighbours.png (nearest neighbours
before and after fine-tuning; for a model folder, pass the pretrained vectors it started from
with --vectors).

A `tabular train` or `recommend train` model folder gives learning_curves.png and COLUMN.png for
each categorical column with at least 3 categories: a PCA of the column's learned rows labelled by
category (the --max-labels most frequent, default 100, where they fit). --columns a,b chooses the
columns (binned numeric columns too).

examples:
  embedlayer plot glove.txt --words king,queen,man,woman,paris,france --out words.png
  embedlayer plot glove.txt --top 300 --method umap --out top300.png
  embedlayer plot glove.txt --from-file animals.tsv --labels animals.tsv --out animals.png
  embedlayer plot runs/demo-1/ --out runs/demo-1/plots/
  embedlayer plot sst2-model/ --vectors glove.6B.50d.txt --out sst2-model/plots/
  embedlayer plot adult-model/ --columns occupation,education --out adult-plots/

""" + textwrap.fill(output_policy(resume=False), 100)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="scatter plot of word vectors, or curves and neighbours of a run folder",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="vectors file or native directory, or a run folder")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--words", metavar="W1,W2,...", help="comma-separated words to draw")
    pick.add_argument("--top", type=int, metavar="N", help="draw the N first (most frequent) words")
    pick.add_argument("--from-file", metavar="FILE", help="draw the words of FILE (one a line; first field)")
    p.add_argument("--labels", metavar="FILE", help="colour by the labels of FILE ('word<TAB>label' lines)")
    p.add_argument(
        "--clusters",
        type=int,
        default=None,
        metavar="K",
        help="without --labels: colour by K k-means clusters (cosine, full space); 0: one colour "
        "(default: about sqrt(N/4), 2 to 8)",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default="pca",
        help="projection (default pca; umap and tsne need `pip install 'embedlayer[viz]'`)",
    )
    p.add_argument("--dim", type=int, choices=[2, 3], default=2, help="2-D scatter or a 3-D view (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of UMAP / t-SNE and k-means")
    p.add_argument("--format", choices=VECTOR_FORMATS, default=None, help="vectors format (default: detected)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="read only the first N vectors")
    add_unicode_errors(p)
    p.add_argument(
        "--skip-missing",
        action="store_true",
        help="leave out requested words the vectors lack (default: an error naming them)",
    )
    p.add_argument(
        "--max-labels",
        type=int,
        default=None,
        metavar="M",
        help="with --top: write the words of at most the M first points, where they fit (default 400); "
        "a table model's column: label the M most frequent categories (default 100)",
    )
    p.add_argument("--title", default=None, help="title (default: says what was projected)")
    p.add_argument("--size", default=None, metavar="WxH", help="figure size in inches, e.g. 12x9")
    p.add_argument("--dpi", type=int, default=150, help="resolution of a PNG (default 150)")
    p.add_argument(
        "--vectors",
        metavar="FILE",
        help="run folder of `classify train`: the pretrained vectors "
        "its embedding started from (the 'before' of the neighbour picture)",
    )
    p.add_argument("--topn", type=int, default=5, help="run folder: neighbours per word (default 5)")
    p.add_argument(
        "--columns",
        metavar="A,B,...",
        help="`tabular train` / `recommend train` folder: the columns to draw (default: every categorical "
        "column with at least 3 categories)",
    )
    p.add_argument(
        "--out",
        metavar="PATH",
        help="image file (.png/.svg/.pdf); for a run folder, the folder to write into (default: SOURCE/plots)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object describing what was written")
    add_output_args(p, resume=False)
    p.set_defaults(handler=run_plot)


def _size(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        w, h = (float(x) for x in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {text!r}: expected WIDTHxHEIGHT in inches, e.g. 12x9") from None
    if not (1 <= w <= 100 and 1 <= h <= 100):
        raise ConfigError(f"--size {text!r}: expected each side from 1 to 100 inches")
    return (w, h)


def _check_counts(args: argparse.Namespace) -> None:
    for name in ("top", "limit", "max_labels"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "max_labels" else 1):
            raise ConfigError(f"--{name.replace('_', '-')} {value}: expected a positive number")
    if args.clusters is not None and args.clusters < 0:
        raise ConfigError(f"--clusters {args.clusters}: expected 0 (one colour) or a positive number")
    if not 20 <= args.dpi <= 1200:
        raise ConfigError(f"--dpi {args.dpi}: expected 20 to 1200")
    size = _size(args.size)
    if size is not None:
        from embedlayer.viz.plot import check_figure_size

        check_figure_size(size, args.dpi, what=f"--size {args.size} at --dpi {args.dpi}")
    if args.topn < 1:
        raise ConfigError(f"--topn {args.topn}: expected a positive number")


def run_plot(args: argparse.Namespace) -> int:
    from embedlayer.viz.runplots import folder_kind

    _check_counts(args)
    kind = folder_kind(args.source)
    if kind is not None:
        return _run_folder(args, kind)
    return _run_vectors(args)


def _columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    columns = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not columns:
        raise ConfigError(f"--columns {text!r}: expected comma-separated column names, e.g. occupation,education")
    return columns


def _run_folder(args: argparse.Namespace, kind: str) -> int:
    from embedlayer._io import claim_output
    from embedlayer.vectors import load_vectors
    from embedlayer.viz.runplots import TABLE_KINDS, plot_run

    if args.top is not None or args.from_file is not None or args.labels is not None:
        raise ConfigError(
            f"{args.source} is a run folder: --top, --from-file and --labels apply to vectors files; "
            f"expected --words, --vectors, --topn or --out"
        )
    table = kind in TABLE_KINDS
    if table and (args.words is not None or args.vectors is not None):
        raise ConfigError(
            f"{args.source} is a `{kind} train` model folder: --words and --vectors apply to a `classify train` "
            f"or demo folder; expected --columns, --max-labels or --out"
        )
    if not table and args.columns is not None:
        raise ConfigError(
            f"--columns applies to a `tabular train` or `recommend train` model folder, and {args.source} is "
            f"{'a demo run folder' if kind == 'demo' else 'a `classify train` model folder'}"
        )
    columns = _columns(args.columns)
    out = Path(args.out) if args.out else Path(args.source) / "plots"
    with (
        claim_output(out, kind="dir", inputs=(args.source, args.vectors), force=args.force),
        Steps(["read", "draw"]) as steps,
    ):
        steps.start("reading the vectors" if args.vectors else "drawing")
        with errors_in_flags(args, _FLAGS):
            vectors = (
                load_vectors(args.vectors, args.format, args.limit, unicode_errors=args.unicode_errors)
                if args.vectors
                else None
            )
        steps.start("drawing")
        words = _split_words(args.words) if args.words else None
        written = plot_run(
            args.source,
            out,
            vectors=vectors,
            words=words,
            topn=args.topn,
            columns=columns,
            max_labels=100 if args.max_labels is None else args.max_labels,
            size=_size(args.size),
            dpi=args.dpi,
            log=note,
        )
    if args.json:
        print_json({"source": args.source, "written": [str(p) for p in written]})
    else:
        for path in written:
            print(f"wrote {path}")
        if kind == "classifier" and len(written) == 1 and not args.vectors:
            note(
                "no neighbour picture: for a `classify train` folder pass --vectors with the pretrained vectors "
                "the model started from"
            )
    return 0


def _split_words(text: str) -> list[str]:
    words = list(dict.fromkeys(w.strip() for w in text.split(",") if w.strip()))
    if not words:
        raise ConfigError(f"--words {text!r}: expected comma-separated words, e.g. king,queen,man")
    return words


def _run_vectors(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output
    from embedlayer.viz.plot import check_image_path

    if args.out is None:
        raise ConfigError("--out is required: the image file to write (.png, .svg or .pdf)")
    if args.words is None and args.top is None and args.from_file is None:
        raise ConfigError("choose the words to draw: --words W1,W2,..., --top N or --from-file FILE")
    if args.vectors is not None:
        raise ConfigError(f"--vectors applies to a run folder, and {args.source} is a vectors file")
    if args.columns is not None:
        raise ConfigError(f"--columns applies to a table model folder, and {args.source} is a vectors file")
    if args.max_labels is None:
        args.max_labels = 400
    check_image_path(args.out)
    with (
        claim_output(args.out, kind="file", inputs=(args.source, args.labels, args.from_file), force=args.force),
        Steps(["read", "project", "colour", "draw"]) as steps,
    ):
        summary = _draw_vectors(args, steps)
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {summary['out']} ({summary['points']} words, {summary['labelled']} labelled, "
            f"{summary['projection']})"
        )
        if summary["skipped_labels"]:
            note(
                f"{summary['skipped_labels']} label(s) had no free space and were left out (draw fewer with "
                f"--max-labels, or a bigger --size)"
            )
    return 0


def _draw_vectors(args: argparse.Namespace, steps: Steps) -> dict[str, Any]:
    import numpy as np

    from embedlayer.vectors import load_vectors
    from embedlayer.viz.labels import check_words, read_labels, read_word_list
    from embedlayer.viz.plot import plot_scatter
    from embedlayer.viz.projection import project

    steps.start("reading the vectors")
    labels = read_labels(args.labels) if args.labels else None
    requested = _split_words(args.words) if args.words else read_word_list(args.from_file) if args.from_file else None
    limit = args.limit if requested is not None or args.limit is not None else args.top
    with errors_in_flags(args, _FLAGS):
        vectors = load_vectors(args.source, args.format, limit, unicode_errors=args.unicode_errors)
    name = Path(args.source).name or args.source
    if requested is not None:
        words, missing = check_words(
            requested, vectors.key_to_index, source=f"{name} ({len(vectors):,} words)", skip_missing=args.skip_missing
        )
        if missing:
            note(
                f"left out {len(missing)} word(s) not in {name}: {', '.join(missing[:10])}"
                f"{' ...' if len(missing) > 10 else ''}"
            )
        rows = [vectors.key_to_index[w] for w in words]
        what = f"{len(words)} words"
    else:
        words = list(vectors.index_to_key[: args.top])
        rows = list(range(len(words)))
        what = f"the {len(words)} first words"
    matrix = np.asarray(vectors.matrix[rows], dtype=np.float32)  # (N, D)
    steps.start(f"projecting with {args.method}")
    projection = project(matrix, args.dim, args.method, seed=args.seed, source=args.source, log=note)
    steps.start("colouring")
    groups, names, legend, colour_text = _groups(args, matrix, words, labels)
    steps.start("drawing")
    label = np.ones(len(words), bool)
    required: Any = True
    if requested is None:  # --top: the first --max-labels words, where they fit
        label[args.max_labels :] = False
        required = False
    title = args.title or (
        f"{_METHOD_NAMES[args.method]} of {what} from {name}: {vectors.vector_size}-d "
        f"→ {args.dim}-d{_variance(projection)} · {colour_text}"
    )
    result = plot_scatter(
        projection,
        words,
        args.out,
        title=title,
        groups=groups,
        group_names=names,
        group_title=legend,
        label=label,
        required=required,
        size=_size(args.size),
        dpi=args.dpi,
    )
    return {
        "out": str(result.path),
        "source": args.source,
        "points": len(words),
        "labelled": len(result.labelled),
        "skipped_labels": len(result.skipped),
        "overlaps": result.overlaps,
        "projection": projection.describe(),
        "colours": colour_text,
        "size_px": list(result.size_px),
        "title": title,
    }


def _variance(projection) -> str:
    if projection.explained is None:
        return ""
    return f", {sum(projection.explained):.0%} of variance"


def _groups(args, matrix, words, labels):
    """(groups, names, legend title, colour description) for the scatter."""
    import numpy as np

    from embedlayer.viz.clusters import auto_clusters, kmeans_cosine

    if labels is not None:
        ids = labels.ids(words)
        if not (ids >= 0).any():
            raise ConfigError(
                f"--labels {args.labels}: none of the {len(words)} drawn words has a label; "
                f"expected 'word<TAB>label' lines for some of them"
            )
        used = sorted(set(ids[ids >= 0].tolist()), key=lambda i: i)
        remap = {old: new for new, old in enumerate(used)}
        groups = np.array([remap.get(int(i), -1) for i in ids], dtype=np.int32)
        names = [labels.names[i] for i in used]
        return groups, names, Path(args.labels).name, f"colours: labels from {Path(args.labels).name}"
    k = auto_clusters(len(words)) if args.clusters is None else args.clusters
    if k < 2:
        return None, [], "", "one colour"
    if k > len(words):
        raise ConfigError(f"--clusters {k}: expected at most the number of words drawn ({len(words)})")
    groups = kmeans_cosine(matrix, k, seed=args.seed)
    return groups, [f"cluster {i + 1}" for i in range(k)], "k-means (cosine)", f"colours: {k} k-means clusters"
