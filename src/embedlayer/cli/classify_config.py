"""What the options of `embedlayer classify train` become: the pipeline and training configs, each
value checked before any work, and errors that name the flag instead of the library's setting."""

from __future__ import annotations

import argparse
from typing import Any

from embedlayer.cli.classify_fasttext import FASTTEXT_DEFAULTS, fasttext_encoder_args
from embedlayer.cli.classify_subwords import embedding_dim, subword_spec
from embedlayer.cli.common import errors_in_flags, setting_flags
from embedlayer.errors import ConfigError
from embedlayer.train.config import SPARSE_OPTIMIZER_NAMES

# Defaults of `classify train` where the flag's default is None (measured on SST-2 with GloVe 50d,
# README "SST-2 sentiment"): a 2 x 256 BiLSTM, light dropout on the token vectors, a faster rate for
# the embedding rows (Adam-family optimizers), and the most frequent pretrained words in the vocabulary.
RNN_DEFAULTS = {"hidden": 256, "layers": 2, "epochs": 5}
DEFAULT_EPOCHS = 10
DEFAULT_EMBEDDING_DROPOUT = 0.2
EMBEDDING_LR_FACTOR = 3.0
DEFAULT_VECTORS_VOCAB = 100_000
_ADAM_ROWS = ("torch", "adam")  # --sparse-optimizer choices whose rate scales like Adam's


def embedding_lr(args: argparse.Namespace) -> float:
    """--embedding-lr, or its default: EMBEDDING_LR_FACTOR x --lr for Adam-family row optimizers
    (SparseAdam, lazy Adam, dense Adam), --lr for sgd/adagrad/rowwise-adagrad."""
    if args.embedding_lr is not None:
        return float(args.embedding_lr)
    return args.lr * (EMBEDDING_LR_FACTOR if args.sparse_optimizer in _ADAM_ROWS else 1.0)


def epochs(args: argparse.Namespace) -> int:
    """--epochs, or its default: RNN_DEFAULTS["epochs"] for --encoder rnn (each epoch costs the most
    there; the linear decay then ends sooner), DEFAULT_EPOCHS for the other encoders."""
    if args.epochs is not None:
        return int(args.epochs)
    if args.encoder == "fasttext":
        return int(FASTTEXT_DEFAULTS["epochs"])
    return RNN_DEFAULTS["epochs"] if args.encoder == "rnn" else DEFAULT_EPOCHS


def vectors_vocab(args: argparse.Namespace) -> int:
    """--vectors-vocab, or its default: DEFAULT_VECTORS_VOCAB with --vectors, else 0."""
    if args.vectors_vocab is not None:
        return int(args.vectors_vocab)
    return DEFAULT_VECTORS_VOCAB if args.vectors else 0


def _encoder_config(args: argparse.Namespace) -> Any:
    from embedlayer.models import EncoderConfig

    try:
        widths = tuple(int(w) for w in args.cnn_widths.split(","))
    except ValueError:
        raise ConfigError(f"--cnn-widths {args.cnn_widths!r}: expected comma-separated integers like 3,4,5") from None
    kw: dict = {
        "kind": args.encoder,
        "dropout": args.dropout,
        "cnn_widths": widths,
        "cnn_channels": args.cnn_channels,
        "rnn_cell": args.rnn_cell,
        "rnn_hidden": args.hidden if args.hidden is not None else RNN_DEFAULTS["hidden"],
    }
    if args.pooling is not None:
        kw["rnn_pooling" if args.encoder == "rnn" else "pooling"] = args.pooling
    if args.encoder == "rnn":
        kw["rnn_layers"] = args.layers if args.layers is not None else RNN_DEFAULTS["layers"]
    kw.update(fasttext_encoder_args(args))
    if args.encoder == "transformer":
        if args.layers is not None:
            kw["tf_layers"] = args.layers
        if args.heads is not None:
            kw["tf_heads"] = args.heads
    return EncoderConfig(**kw)


# The library's names of the settings the options of `classify train` set (its errors name them).
FLAGS = {
    **setting_flags("PipelineConfig", "tokenizer", "min_count", "max_vocab", "max_len", "missing", "vectors_vocab"),
    **setting_flags("PipelineConfig", "dropout", "embedding_dropout", "seed"),
    **setting_flags("PipelineConfig", "tokenizer_vocab", "tokenizer_file"),
    **setting_flags("ClassifierConfig", "dropout", "embedding_dropout"),
    **setting_flags("EncoderConfig", "dropout", "cnn_widths", "cnn_channels", "rnn_cell"),
    **setting_flags("TrainConfig", "epochs", "batch_size", "lr", "embedding_lr", "optimizer", "weight_decay"),
    **setting_flags("TrainConfig", "schedule", "clip_norm", "patience", "seed", "sparse_optimizer"),
    **setting_flags("TrainConfig", "embedding_weight_decay"),
    "PipelineConfig.embedding_dim": "--dim",
    "ClassifierConfig.embedding_dim": "--dim",
    "EncoderConfig.kind": "--encoder",
    "EncoderConfig.ft_word_ngrams": "--word-ngrams",
    "EncoderConfig.ft_buckets": "--buckets",
    "EncoderConfig.pooling": "--pooling",
    "EncoderConfig.rnn_pooling": "--pooling",
    "EncoderConfig.rnn_hidden": "--hidden",
    "EncoderConfig.rnn_layers": "--layers",
    "EncoderConfig.tf_layers": "--layers",
    "EncoderConfig.tf_heads": "--heads",
}

# Options a resumed run may change; every other one must be what the checkpoint was made with.
MAY_CHANGE = ("epochs", "quiet", "json", "threads", "resume", "force", "out", "train", "dev", "vectors", "debug")


def check_options(args: argparse.Namespace) -> None:
    """Combinations the library would refuse in its own (Python) words: refuse them with the flags."""
    _check_tokenizer(args)
    for flag, on in (("--freeze", args.freeze), ("--static-channel", args.static_channel)):
        if on and args.vectors is None:
            raise ConfigError(
                f"{flag} needs --vectors: it keeps pretrained rows fixed, and a frozen random table never learns"
            )
    if args.embedding_weight_decay and args.sparse_optimizer == "torch":
        raise ConfigError(
            f"--embedding-weight-decay {args.embedding_weight_decay} needs a row-wise --sparse-optimizer "
            f"({', '.join(SPARSE_OPTIMIZER_NAMES)}): torch's SparseAdam has no weight decay"
        )
    if args.sparse_optimizer != "torch" and not args.sparse:
        raise ConfigError(
            f"--sparse-optimizer {args.sparse_optimizer} updates sparse embedding rows, and --dense-grad "
            f"makes their gradients dense; expected one of the two"
        )


def _check_tokenizer(args: argparse.Namespace) -> None:
    """--tokenizer, --tokenizer-vocab and --tokenizer-file together; a tokenizer.json is read now, so
    a file that is not one is refused before any work."""
    from embedlayer.text.tokenizers import TRAINED_TOKENIZER_NAMES

    trained = args.tokenizer in TRAINED_TOKENIZER_NAMES
    if args.tokenizer_file is not None and args.tokenizer is not None:
        raise ConfigError(
            f"--tokenizer {args.tokenizer} and --tokenizer-file {args.tokenizer_file}: expected one of the two "
            "(a tokenizer.json is the tokenizer)"
        )
    if args.tokenizer_vocab is not None and not trained:
        given = (
            f"--tokenizer-file {args.tokenizer_file}"
            if args.tokenizer_file
            else f"--tokenizer {args.tokenizer or 'word'}"
        )
        raise ConfigError(
            f"--tokenizer-vocab {args.tokenizer_vocab}: expected it with --tokenizer "
            f"{', '.join(TRAINED_TOKENIZER_NAMES)} (a tokenizer trained on --train), got {given}"
        )
    if trained or args.tokenizer_file is not None:
        from embedlayer.text.hf import HFTokenizer, require_tokenizers

        require_tokenizers()
        if args.tokenizer_file is not None:
            try:
                HFTokenizer.from_file(args.tokenizer_file)
            except ConfigError as exc:
                raise ConfigError(f"--tokenizer-file {exc}") from None


def configs(args: argparse.Namespace) -> tuple[Any, Any]:
    """(PipelineConfig, TrainConfig) of the options, each value checked: errors name the flag."""
    from embedlayer.tasks import PipelineConfig
    from embedlayer.train import TrainConfig

    with errors_in_flags(args, FLAGS):
        config = PipelineConfig(
            tokenizer=args.tokenizer or "word",
            tokenizer_vocab=args.tokenizer_vocab,
            tokenizer_file=args.tokenizer_file,
            lowercase=args.lowercase,
            min_count=args.min_count,
            max_vocab=args.max_vocab,
            max_len=args.max_len,
            embedding_dim=embedding_dim(args),
            encoder=_encoder_config(args),
            dropout=args.dropout,
            embedding_dropout=DEFAULT_EMBEDDING_DROPOUT if args.embedding_dropout is None else args.embedding_dropout,
            freeze=args.freeze,
            missing=args.missing,
            vectors_vocab=vectors_vocab(args),
            static_channel=args.static_channel,
            sparse=args.sparse,
            seed=args.seed,
            subwords=subword_spec(args),
        )
        train_config = TrainConfig(
            epochs=epochs(args),
            batch_size=args.batch_size,
            lr=args.lr,
            embedding_lr=embedding_lr(args),
            optimizer=args.optimizer,
            weight_decay=args.weight_decay,
            schedule=args.schedule,
            clip_norm=args.clip_norm or None,
            patience=args.patience,
            seed=args.seed,
            sparse_optimizer=None if args.sparse_optimizer == "torch" else args.sparse_optimizer,
            embedding_weight_decay=args.embedding_weight_decay,
        )
        if args.vectors is None:  # the embedding dimension is --dim: check what depends on it now
            config.encoder.check_input_dim(config.embedding_dim * (2 if args.static_channel else 1))
    return config, train_config
