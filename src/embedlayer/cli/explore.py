"""`embedlayer explore`: a web page to look around a vector space, served on 127.0.0.1 or written as one file."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

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

_DESCRIPTION = """\
Explore word vectors in a browser: the first --points words (the most frequent, in GloVe and
word2vec order) are projected to 2-D/3-D and drawn (WebGL, or canvas 2D where WebGL is missing);
search a word (with completion) or click a point to see its k nearest neighbours by cosine in the
full space, with their scores; try analogies a − b + c; colour points by a label file; zoom, pan,
and rotate the 3-D view.

Without --html, a read-only server answers on http://127.0.0.1:PORT/ only (never on other
interfaces) until Ctrl-C; every asset comes from the package, nothing from the internet. With
--html, one self-contained file is written instead: it embeds the drawn words' vectors and
computes neighbours and analogies in the page, offline (queries then search the drawn words
only; at most 8,000,000 numbers, i.e. points × dimensions).

examples:
  embedlayer explore glove.6B.50d.txt                      # http://127.0.0.1:8765/
  embedlayer explore glove/ --points 20000 --labels topics.tsv --port 9000
  embedlayer explore glove.txt --points 10000 --html glove-explorer.html

""" + textwrap.fill(output_policy(resume=False), 100)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explore",
        help="explore word vectors in a browser (local server or offline HTML file)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="VECTORS", help="vectors file or native directory")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free port)")
    p.add_argument("--html", metavar="FILE", help="write a self-contained offline HTML file instead of serving")
    p.add_argument(
        "--points",
        type=int,
        default=50_000,
        metavar="N",
        help="draw the N first words (default 50,000); queries search every word read",
    )
    p.add_argument("--labels", metavar="FILE", help="colour points by the labels of FILE ('word<TAB>label' lines)")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="pca",
        help="projection (default pca; umap and tsne need `pip install 'embedlayer[viz]'` and take "
        "minutes for 50,000 points)",
    )
    p.add_argument(
        "--dim",
        type=int,
        choices=[2, 3],
        default=None,
        help="components: 3 gives a rotatable 3-D view besides the 2-D one (default: 3 for pca, 2 else)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of UMAP / t-SNE")
    p.add_argument("--format", choices=VECTOR_FORMATS, default=None, help="vectors format (default: detected)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="read only the first N vectors")
    add_unicode_errors(p)
    p.add_argument("--open", action="store_true", help="open the page in the default web browser")
    p.add_argument("--log", action="store_true", help="print one line per request on stderr")
    p.add_argument("--json", action="store_true", help="with --html: print one JSON object describing the file")
    add_output_args(p, resume=False, what="--html")
    p.set_defaults(handler=run_explore)


def run_explore(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output
    from embedlayer.viz.server import ExplorerServer

    if args.points < 1:
        raise ConfigError(f"--points {args.points}: expected a positive number of words to draw")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit {args.limit}: expected a positive number")
    if args.html is not None:
        with claim_output(args.html, kind="file", what="--html", inputs=(args.source, args.labels), force=args.force):
            return _write_html(args)
    if args.force:
        raise ConfigError("--force applies to --html FILE (the file to replace); the server writes nothing")
    server = ExplorerServer(args.port, log=note if args.log else None)  # a busy port fails here, before any work
    try:
        data = _build(args)
        note(f"serving {server.url}  ({_describe(data)}); Ctrl-C to stop")
        if args.open:
            import threading
            import webbrowser

            threading.Timer(0.5, webbrowser.open, (server.url,)).start()
        try:
            server.serve(data)
        except KeyboardInterrupt:
            note("stopped")
    finally:
        server.close()
    return 0


def _build(args: argparse.Namespace):
    from embedlayer.vectors import load_vectors
    from embedlayer.viz.explorer import build_explorer
    from embedlayer.viz.labels import read_labels

    dim = args.dim or (3 if args.method == "pca" else 2)
    with Steps(["read", "project"]) as steps:
        steps.start("reading the vectors")
        labels = read_labels(args.labels) if args.labels else None
        with errors_in_flags(args, {"format": "--format", "unicode_errors": "--unicode-errors"}):
            vectors = load_vectors(args.source, args.format, args.limit, unicode_errors=args.unicode_errors)
        if args.html is not None:
            from embedlayer.viz.offline import check_offline_size

            check_offline_size(min(args.points, len(vectors)), vectors.vector_size)
        steps.start(f"projecting with {args.method}")
        data = build_explorer(
            vectors,
            source=args.source,
            points=args.points,
            method=args.method,
            dim=dim,
            labels=labels,
            seed=args.seed,
            log=note,
        )
    if labels is not None:
        shown = data.vectors.index_to_key[: data.shown]
        found = labels.coverage(shown)
        if not found:
            raise ConfigError(
                f"--labels {args.labels}: none of the {data.shown:,} drawn words has a label; "
                f"expected 'word<TAB>label' lines for some of them"
            )
        note(f"labels: {found:,} of {data.shown:,} drawn words have one ({len(labels.names)} label(s))")
    return data


def _describe(data) -> str:
    drawn = f"{data.shown:,} of {len(data.vectors):,}" if data.shown < len(data.vectors) else f"{data.shown:,}"
    return f"{drawn} words drawn, {data.projection.describe()}"


def _write_html(args: argparse.Namespace) -> int:
    from embedlayer.viz.offline import write_offline_html

    data = _build(args)
    path = write_offline_html(data, args.html)
    size = Path(path).stat().st_size
    if args.json:
        print_json(
            {
                "html": str(path),
                "bytes": size,
                "points": data.shown,
                "dim": data.vectors.vector_size,
                "projection": data.projection.describe(),
            }
        )
    else:
        print(f"wrote {path} ({size / 1e6:.1f} MB: {_describe(data)}; works offline)")
    return 0
