"""`embedlayer vocab build|show`: vocabularies as files."""

from __future__ import annotations

import argparse

from embedlayer.cli.common import (
    HelpFormatter,
    add_data_args,
    add_output_args,
    check_counts,
    load_examples,
    note,
    output_policy,
    print_json,
)
from embedlayer.errors import ConfigError
from embedlayer.text.tokenizers import TOKENIZER_NAMES
from embedlayer.vocab import OOV_POLICIES


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "vocab",
        help="build or inspect a vocabulary",
        description="Build a vocabulary from text files, or inspect a saved one.",
    )
    cmds = group.add_subparsers(dest="vocab_command", metavar="COMMAND", required=True)
    p = cmds.add_parser(
        "build",
        help="count tokens in files and write vocab.json",
        description="Tokenize the texts of one or more files, count tokens and write a vocabulary: specials "
        "first (<pad>=0, <unk>=1), then tokens by descending count, ties in code-point order. "
        + output_policy(resume=False),
        formatter_class=HelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="text files (txt: one text a line; or tsv/csv/jsonl)")
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="vocabulary file to write (JSON; a new or empty file unless --force)",
    )
    add_data_args(p, label=False)
    p.add_argument("--tokenizer", choices=TOKENIZER_NAMES, default="word")
    p.add_argument("--no-lowercase", dest="lowercase", action="store_false", help="keep case")
    p.add_argument("--min-count", type=int, default=1, help="drop tokens seen fewer times")
    p.add_argument("--max-size", type=int, default=None, help="keep the N most frequent tokens (specials not counted)")
    p.add_argument("--pad-token", default="<pad>")
    p.add_argument("--unk-token", default="<unk>")
    p.add_argument("--oov", choices=OOV_POLICIES, default="unk", help="what unknown tokens become")
    p.add_argument("--buckets", type=int, default=0, help="hash buckets for --oov hash")
    p.add_argument("--json", action="store_true", help="print a summary as one JSON object")
    add_output_args(p, resume=False)
    p.set_defaults(handler=run_build)

    p = cmds.add_parser("show", help="summary and most frequent tokens of a vocab.json")
    p.add_argument("path", metavar="FILE")
    p.add_argument("--top", type=int, default=20, help="how many tokens to list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_show)


def _check_specials(args: argparse.Namespace) -> None:
    """The --oov policy, its tokens and --buckets must fit together (said with the flags)."""
    if args.oov == "hash" and args.buckets < 1:
        raise ConfigError(
            f"--oov hash needs --buckets N with N >= 1 hash buckets for unknown tokens, got --buckets {args.buckets}"
        )
    if args.oov != "hash" and args.buckets:
        raise ConfigError(
            f"--buckets {args.buckets} is only used with --oov hash (got --oov {args.oov}); expected "
            f"no --buckets, or --oov hash"
        )
    if args.oov == "unk" and not args.unk_token:
        raise ConfigError(
            f"--unk-token {args.unk_token!r}: --oov unk needs an unknown token; expected a non-empty "
            f"--unk-token, or --oov error or hash"
        )
    if args.pad_token and args.pad_token == args.unk_token:
        raise ConfigError(f"--pad-token and --unk-token are both {args.pad_token!r}; expected two different tokens")


def run_build(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output
    from embedlayer.text import get_tokenizer
    from embedlayer.vocab import Vocab

    check_counts(args, {"--min-count": 1, "--max-size": 1, "--buckets": 0})
    _check_specials(args)
    tokenizer = (
        get_tokenizer("byte") if args.tokenizer == "byte" else get_tokenizer(args.tokenizer, lowercase=args.lowercase)
    )
    with claim_output(args.out, kind="file", inputs=args.files, force=args.force):
        texts = (ex.text for path in args.files for ex in load_examples(path, args, label=False))
        vocab = Vocab.build(
            (tokenizer.tokenize(text) for text in texts),
            min_count=args.min_count,
            max_size=args.max_size,
            pad_token=args.pad_token or None,
            unk_token=args.unk_token or None,
            oov=args.oov,
            hash_buckets=args.buckets,
        )
        vocab.save(args.out)
    summary = _summary(vocab, 10)
    summary["out"] = args.out
    if args.json:
        print_json(summary)
    else:
        note(f"wrote {args.out}")
        _print_summary(summary)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from embedlayer.vocab import Vocab

    summary = _summary(Vocab.load(args.path), args.top)
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0


def _summary(vocab, top: int) -> dict:
    specials = set(vocab.specials)
    regular = [(t, c) for t, c in zip(vocab.itos, vocab.counts) if t not in specials]
    return {
        "size": len(vocab),
        "num_embeddings": vocab.num_embeddings,
        "specials": list(vocab.specials),
        "pad_id": vocab.pad_id,
        "unk_id": vocab.unk_id,
        "oov": vocab.oov,
        "hash_buckets": vocab.hash_buckets,
        "tokens_counted": sum(c for _, c in regular),
        "top": [[t, c] for t, c in regular[:top]],
    }


def _print_summary(s: dict) -> None:
    print(
        f"{s['size']} entries ({len(s['specials'])} specials: {', '.join(s['specials'])}), "
        f"{s['num_embeddings']} embedding rows, OOV policy {s['oov']}, {s['tokens_counted']} tokens counted"
    )
    for token, count in s["top"]:
        print(f"{count:>10}  {token}")
