"""`embedlayer pretrain`: learn word vectors on a text corpus (skip-gram / CBOW, optional subwords)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from embedlayer.cli.common import (
    HelpFormatter,
    add_encoding_arg,
    add_output_args,
    errors_in_flags,
    note,
    output_policy,
    print_json,
    setting_flags,
)
from embedlayer.pretrain.config import PRETRAIN_MODELS
from embedlayer.text.tokenizers import TOKENIZER_NAMES

# The settings of PretrainConfig that are options of their own name (the library's errors name the
# setting, the command's the flag).
_FLAGS = setting_flags(
    "PretrainConfig", "model", "dim", "window", "negative", "min_count", "max_vocab", "sample", "epochs", "lr"
) | setting_flags("PretrainConfig", "min_lr", "threads", "buckets", "seed", "max_sentence_length")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="train word vectors on a text corpus (skip-gram/CBOW, negative sampling, subwords)",
        description="Train word vectors on CORPUS (UTF-8 text, words separated by whitespace; a line is a "
        "sentence, and lines of any length stream through) and write them to --out as a vectors directory "
        "that every `embedlayer vectors` command reads. With --subwords the directory also holds model.bin, "
        "a fastText model that gives vectors to words never seen in training "
        "(`embedlayer vectors neighbors OUT/model.bin WORD`). " + output_policy(resume=True),
        formatter_class=HelpFormatter,
    )
    p.add_argument("corpus", metavar="CORPUS", help="text file to train on")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write the vectors to")
    p.add_argument(
        "--model",
        choices=PRETRAIN_MODELS,
        default="skipgram",
        help="skipgram: a word predicts its neighbours; cbow: the neighbours predict the word",
    )
    p.add_argument("--dim", type=int, default=100, help="vector width")
    p.add_argument("--window", type=int, default=5, help="largest distance to a context word")
    p.add_argument("--negative", type=int, default=5, help="noise words per positive example")
    p.add_argument("--min-count", type=int, default=5, help="drop words seen fewer times")
    p.add_argument("--max-vocab", type=int, default=None, help="keep only the N most frequent words")
    p.add_argument("--sample", type=float, default=1e-3, help="down-sampling threshold of frequent words (0: off)")
    p.add_argument("--epochs", type=int, default=5, help="passes over the corpus")
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="starting learning rate, falling linearly to --min-lr "
        "(default: 0.025 skipgram, 0.03 skipgram with --subwords, 0.05 cbow)",
    )
    p.add_argument("--min-lr", type=float, default=1e-4, help="learning rate at the end of training")
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="worker threads (1 with a fixed --seed gives identical vectors every run)",
    )
    p.add_argument(
        "--subwords",
        metavar="MIN-MAX",
        default=None,
        help="character n-grams of these lengths, fastText-style (e.g. 3-6)",
    )
    p.add_argument("--buckets", type=int, default=2_000_000, help="hash buckets for the n-grams")
    p.add_argument("--seed", type=int, default=1, help="seed of the initial vectors and all random draws")
    p.add_argument("--lowercase", action="store_true", help="lowercase the text first")
    p.add_argument(
        "--tokenizer",
        choices=TOKENIZER_NAMES,
        default=None,
        help="split lines with one of our tokenizers (default: at whitespace, as word2vec)",
    )
    p.add_argument(
        "--max-sentence-length", type=int, default=10_000, help="cut longer lines into pieces of this many words"
    )
    p.add_argument(
        "--checkpoint-every",
        type=float,
        default=10.0,
        metavar="MINUTES",
        help="write DIR/checkpoint this often (and after each epoch); 0: only after epochs",
    )
    p.add_argument("--no-loss", dest="loss", action="store_false", help="do not track the loss (a little faster)")
    p.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="where the corpus's temporary id file goes (4 bytes a word; default: the --out folder); "
        "it is removed when the run ends, or by the next run if this one is killed",
    )
    add_encoding_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the run's statistics as one JSON object")
    add_output_args(p, resume=True)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output
    from embedlayer.errors import ConfigError
    from embedlayer.pretrain import PretrainConfig, parse_subwords
    from embedlayer.pretrain.checkpoint import remove_checkpoint

    out = Path(args.out)
    if args.checkpoint_every < 0:
        raise ConfigError(f"--checkpoint-every: expected minutes >= 0, got {args.checkpoint_every}")
    with errors_in_flags(args, _FLAGS):
        config = PretrainConfig(
            model=args.model,
            dim=args.dim,
            window=args.window,
            negative=args.negative,
            min_count=args.min_count,
            max_vocab=args.max_vocab,
            sample=args.sample,
            epochs=args.epochs,
            lr=args.lr,
            min_lr=args.min_lr,
            threads=args.threads,
            subwords=parse_subwords(args.subwords) if args.subwords else None,
            buckets=args.buckets,
            seed=args.seed,
            lowercase=args.lowercase,
            max_sentence_length=args.max_sentence_length,
        )
    checkpoint = out / "checkpoint"
    with claim_output(
        out, kind="dir", inputs=(args.corpus,), force=args.force, resume=args.resume, can_resume=True
    ) as claim:
        if claim.state == "replace":
            remove_checkpoint(checkpoint)  # the old run's, if it is one (else training refuses to touch it)
        with errors_in_flags(args, _FLAGS):  # a --dim whose tables cannot fit in memory
            model = _train(args, config, checkpoint)
        model.save(out)
        remove_checkpoint(checkpoint)  # ours (state.json says so): the vectors are written
    stats = model.stats
    if stats["invalid_utf8_replaced"]:
        note(
            f"{args.corpus}: {stats['invalid_utf8_replaced']} byte(s) that are not UTF-8 replaced; "
            f"--strict-encoding makes this an error"
        )
    if args.json:
        print_json({"out": str(out), "words": len(model.words), "dim": config.dim, "config": config.to_dict(), **stats})
        return 0
    rate = stats["raw_words_per_s"]
    subwords = f", subwords {config.subwords[0]}-{config.subwords[1]}" if config.subwords else ""
    print(
        f"trained {len(model.words):,} words x {config.dim} ({config.model}{subwords}) "
        f"on {stats['raw_tokens']:,} tokens, "
        f"{config.epochs} epoch(s) in {stats['seconds']:.1f}s ({rate:,.0f} words/s, {stats['threads']} thread(s))"
    )
    losses = ", ".join(f"{x:.4f}" for x in stats["epoch_loss"])
    if args.loss:
        print(f"loss per epoch: {losses}")
    print(f"wrote {out}/ (vectors.npy, words.txt, meta.json, pretrain.json{', model.bin' if config.subwords else ''})")
    target = out / "model.bin" if config.subwords else out
    print(f"next: embedlayer vectors neighbors {target} {model.words[min(100, len(model.words) - 1)]}")
    return 0


def _train(args: argparse.Namespace, config: Any, checkpoint: Path) -> Any:
    """The training run; an interruption (Ctrl-C, SIGTERM) says what it kept."""
    from embedlayer.pretrain import train_word_vectors
    from embedlayer.pretrain.checkpoint import is_checkpoint

    progress = _Progress(enabled=not args.quiet)
    try:
        return train_word_vectors(
            args.corpus,
            config,
            progress=progress,
            checkpoint_dir=checkpoint,
            checkpoint_every=args.checkpoint_every * 60 or float("inf"),
            resume=args.resume,
            tokenizer=args.tokenizer,
            workdir=args.workdir or args.out,
            compute_loss=args.loss,
            encoding_errors="strict" if args.strict_encoding else "replace",
        )
    except KeyboardInterrupt as exc:
        if is_checkpoint(checkpoint):
            exc.add_note(f"the checkpoint in {checkpoint} is kept: run the same command with --resume to continue")
        raise
    finally:
        progress.close()


class _Progress:
    """tqdm bars on stderr: bytes while reading, words while training; a line per epoch."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.kind = ""

    def __call__(self, event: Any) -> None:
        from embedlayer.pretrain import (
            PretrainCompile,
            PretrainEpoch,
            PretrainPrepare,
            PretrainProgress,
        )

        if not self.enabled:
            return
        if isinstance(event, PretrainCompile):
            self.close()
            note("compiling the training kernels (once: about 20 s; later runs load them from numba's cache)")
        elif isinstance(event, PretrainPrepare):
            if self._bar("read", event.bytes_total, "B", "reading corpus", unit_scale=True):
                self.bar.update(event.bytes_read - self.bar.n)
        elif isinstance(event, PretrainProgress):
            if self._bar("train", event.words_total, "w", "training", unit_scale=True):
                # the bar itself shows words/s
                self.bar.set_postfix(
                    epoch=f"{event.epoch + 1}/{event.epochs}",
                    lr=f"{event.lr:.5f}",
                    loss=f"{event.loss:.4f}",
                    refresh=False,
                )
                self.bar.update(event.words_done - self.bar.n)
        elif isinstance(event, PretrainEpoch) and self.bar is not None:
            self.bar.write(
                f"epoch {event.epoch + 1}: loss {event.loss:.4f}, {event.examples:,} examples, {event.seconds:.1f}s",
                file=sys.stderr,
            )

    def _bar(self, kind: str, total: int, unit: str, desc: str, **kw: Any) -> bool:
        """Make sure the bar of ``kind`` is showing; False when there can be none."""
        if self.kind == kind:
            return self.bar is not None
        self.close()
        try:
            from tqdm import tqdm
        except ImportError:
            self.enabled = False
            note("(install tqdm for a progress bar: pip install 'embedlayer[cli]')")
            return False
        self.kind = kind
        self.bar = tqdm(
            total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True, mininterval=0.5, leave=False, **kw
        )
        return True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
