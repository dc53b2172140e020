"""`embedlayer embeddings export`: a tabular or recommender model's learned entity rows as a
vectors file, for `vectors neighbors`, `plot` and `explore`."""

from __future__ import annotations

import argparse

from embedlayer.cli.common import HelpFormatter, add_output_args, output_policy, print_json
from embedlayer.vectors.formats import WRITABLE_FORMATS


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "embeddings",
        help="export the learned entity embeddings of a tabular or recommender model",
        description="Entity embeddings of a model's categorical columns as vectors files.",
    )
    cmds = group.add_subparsers(dest="embeddings_command", metavar="COMMAND", required=True)
    p = cmds.add_parser(
        "export",
        help="one column's learned rows as a vectors file",
        description="Write the learned rows of --column (one per category seen in training), keyed by category "
        "or by --name-template over a --names table, in a vectors format. " + output_policy(resume=False),
        formatter_class=HelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="folder written by `tabular train` or `recommend train`")
    p.add_argument("--column", required=True, help="a categorical or multi-valued column of the model")
    p.add_argument("--out", required=True, metavar="PATH", help="vectors file (or folder for native) to write")
    p.add_argument("--format", choices=WRITABLE_FORMATS, default="word2vec", help="vectors format to write")
    p.add_argument("--names", metavar="FILE", help="table giving each category a readable name (e.g. items)")
    p.add_argument("--key-col", metavar="COL", help="--names column holding the category (default: --column)")
    p.add_argument(
        "--name-template",
        metavar="TEXT",
        help='name from --names columns, e.g. "{movie_title} ({release_year})"; in text formats spaces become _',
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_output_args(p, resume=False)
    p.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output
    from embedlayer.errors import ConfigError
    from embedlayer.tabular import TabularPipeline, read_table
    from embedlayer.tabular.export import column_vectors, entity_names

    if (args.names is None) != (args.name_template is None):
        raise ConfigError("--names and --name-template go together: the table and how to name each category")
    pipeline = TabularPipeline.load(args.model)
    names = None
    if args.names is not None:
        names = entity_names(read_table(args.names), args.key_col or args.column, args.name_template)
    vectors = column_vectors(pipeline, args.column, names=names, text_keys=args.format != "native")
    native = args.format == "native"
    with claim_output(
        args.out, kind="dir" if native else "file", inputs=(args.model, args.names), force=args.force, swapped=native
    ):
        vectors.save(args.out, format=args.format)
    summary = {
        "out": args.out,
        "column": args.column,
        "format": args.format,
        "count": len(vectors),
        "dim": vectors.vector_size,
    }
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {len(vectors)} vectors of {vectors.vector_size} dimensions ({args.column}) to {args.out}")
    return 0
