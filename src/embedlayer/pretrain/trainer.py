"""``train_word_vectors``: the training run around the kernels (corpus, tables, schedule, progress).

A run is: one streamed pass over the corpus (``corpus.encode_corpus``), the tables initialised from
the seed (input rows uniform in ±0.5/D as word2vec, ±1/D with subwords as fastText; output rows 0),
then ``epochs`` passes. Each pass is cut into *chunks* of about ``_CHUNK_WORDS`` words (whole
sentences); the kernels train ``threads × _CHUNKS_PER_THREAD`` chunks at a time in parallel and come
back here between those *blocks* to report progress and, when due, write a checkpoint. Within a
block, ``threads`` Python threads each take the next chunk not yet started until none is left (the
kernels release the GIL), so a thread slowed by a busy core never holds the others up (gensim's
job queue does the same). A chunk's random draws come from ``(seed, epoch, chunk)`` alone, so a run
resumed at a block boundary with one thread continues exactly as if it had never stopped.

The reported loss is the mean, over the positive examples trained so far in the epoch, of
``-log σ(u·v) - Σ_k log σ(-u·v_k)`` computed in float64 from the scores the update used, i.e. the
noise-contrastive objective itself (gensim's ``get_latest_training_loss`` is a float32 running sum
over the whole run, which neither resets per epoch nor divides by the examples).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba.core import event as numba_event

from embedlayer._io import scratch_dir
from embedlayer.errors import ConfigError
from embedlayer.kernels.memory import memory_limit, zeros_array
from embedlayer.pretrain import kernels
from embedlayer.pretrain.checkpoint import Checkpoint, check_replaceable, load_checkpoint, save_checkpoint
from embedlayer.pretrain.config import PretrainConfig
from embedlayer.pretrain.corpus import EncodedCorpus, encode_corpus
from embedlayer.pretrain.fused import LANES
from embedlayer.pretrain.model import WordVectorModel
from embedlayer.pretrain.sampling import (
    alias_table,
    chunk_seed,
    keep_thresholds,
    noise_distribution,
)
from embedlayer.subwords import subword_rows

__all__ = ["PretrainCompile", "PretrainEpoch", "PretrainPrepare", "PretrainProgress", "train_word_vectors"]

_CHUNK_WORDS = 10_000
_CHUNKS_PER_THREAD = 32


@dataclass(frozen=True)
class PretrainPrepare:
    """Reading the corpus: ``bytes_read`` of ``bytes_total``."""

    bytes_read: int
    bytes_total: int


@dataclass(frozen=True)
class PretrainCompile:
    """The training kernels are being compiled: once per installation (about 20 s; numba caches
    them on disk), before the first ``PretrainProgress``."""


@dataclass(frozen=True)
class PretrainProgress:
    """After each block: words of the whole run done (vocabulary words, before down-sampling),
    words per second since the run started, the learning rate now, and the mean loss per positive
    example over the epoch so far."""

    epoch: int
    epochs: int
    words_done: int
    words_total: int
    words_per_s: float
    lr: float
    loss: float


@dataclass(frozen=True)
class PretrainEpoch:
    """At the end of each epoch: its mean loss, positive examples and seconds."""

    epoch: int
    loss: float
    examples: int
    seconds: float


Event = PretrainPrepare | PretrainCompile | PretrainProgress | PretrainEpoch


class _CompileNotice(numba_event.Listener):
    """Tells ``progress`` once when numba starts compiling ``train_chunk`` (a cache miss)."""

    def __init__(self, progress: Callable[[Event], None]) -> None:
        self.progress, self.told = progress, False

    def on_start(self, event: numba_event.Event) -> None:
        if not self.told and event.data["dispatcher"] is kernels.train_chunk:
            self.told = True
            self.progress(PretrainCompile())

    def on_end(self, event: numba_event.Event) -> None:
        pass


def _chunk_bounds(starts: np.ndarray) -> np.ndarray:
    """Sentence indices cutting the corpus into chunks of about _CHUNK_WORDS words."""
    targets = np.arange(0, int(starts[-1]), _CHUNK_WORDS)
    cuts = np.unique(np.searchsorted(starts, targets, side="left"))
    return np.unique(np.concatenate([cuts, [len(starts) - 1]])).astype(np.int64)


_INIT_ROWS = 1 << 18  # rows of the input table drawn at once


def _init_tables(config: PretrainConfig, nwords: int) -> tuple[np.ndarray, np.ndarray]:
    """(input, output) tables with rows padded to a multiple of ``LANES`` floats, whose extra
    columns start at zero and stay zero (every update there is a multiple of zero): the kernels'
    loops have no scalar remainder, and rows up to ``fused.MAX_WIDTH`` take the fused steps."""
    rows = nwords + (config.buckets if config.subwords else 0)
    bound = (1.0 if config.subwords else 0.5) / config.dim
    rng = np.random.default_rng(config.seed)
    width = -(-config.dim // LANES) * LANES
    syn0 = zeros_array((rows, width), np.float32)  # on huge pages: rows are read at random
    for lo in range(0, rows, _INIT_ROWS):  # the random block and its scaling stay small
        block = rng.random((min(rows - lo, _INIT_ROWS), config.dim), dtype=np.float32)
        syn0[lo : lo + len(block), : config.dim] = block * np.float32(2 * bound) - np.float32(bound)
    return syn0, zeros_array((nwords, width), np.float32)


def check_fits(config: PretrainConfig, nwords: int) -> None:
    """Refuse, before anything is allocated, a run whose input and output tables (``_init_tables``)
    and the blocks that initialise them need more than the memory available (``memory_limit``);
    the error names the estimate (a lower bound of what the run takes)."""
    width = -(-config.dim // LANES) * LANES
    buckets = config.buckets if config.subwords else 0
    tables = (2 * nwords + buckets) * width * 4
    init = 2 * min(nwords + buckets, _INIT_ROWS) * config.dim * 4  # a random block and its scaled copy
    limit = memory_limit()
    if limit is not None and tables + init > limit:
        kinds = [f"{n:,} {kind}" for n, kind in ((nwords, "word"), (buckets, "n-gram")) if n]
        rows = " + ".join(kinds) + " input rows" + (f" + {nwords:,} output rows" if nwords else "")
        raise ConfigError(
            f"PretrainConfig.dim: expected a width whose training tables fit in memory: ({rows}) x {width:,} "
            f"floats x 4 bytes = {tables / 1e9:,.1f} GB, and {init / 1e9:,.1f} GB more while they are filled, "
            f"while {limit / 1e9:,.1f} GB of memory are available (a lower dim, or fewer words or buckets), "
            f"got {config.dim}"
        )


def _subword_tables(config: PretrainConfig, words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    if not config.subwords:
        return np.zeros(1, np.int64), np.zeros(1, np.int64), 1
    offsets, rows = subword_rows(words, *config.subwords, config.buckets)
    return offsets, rows, int(np.diff(offsets).max())


def train_word_vectors(
    corpus: str | os.PathLike[str],
    config: PretrainConfig | None = None,
    *,
    progress: Callable[[Event], None] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: float = 600.0,
    resume: bool = False,
    tokenizer: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    compute_loss: bool = True,
    encoding_errors: str = "replace",
) -> WordVectorModel:
    """Train word vectors on the text file ``corpus`` (see ``PretrainConfig`` for the settings).

    Args:
        progress: called with a ``PretrainPrepare`` while reading, a ``PretrainCompile`` if the
            kernels must be compiled, a ``PretrainProgress`` after every block of chunks and a
            ``PretrainEpoch`` after every epoch.
        checkpoint_dir: where to keep a checkpoint (written every ``checkpoint_every`` seconds
            and after each epoch but the last); None: no checkpoints.
        resume: continue from the checkpoint in ``checkpoint_dir`` (the corpus and settings must
            be the ones it was written with).
        tokenizer: split lines with one of ``embedlayer.text``'s tokenizers instead of whitespace.
        workdir: where the corpus's temporary id file goes (4 bytes a token; default: the system's
            temporary directory), in a scratch folder removed at the end of the run, however it
            ends short of ``kill -9``; the next run in the same ``workdir`` removes one left then.
        compute_loss: track the loss (a few per cent of the time).
        encoding_errors: ``"replace"`` (bytes that are not UTF-8 become U+FFFD and are counted in
            ``stats["invalid_utf8_replaced"]``) or ``"strict"`` (DataError at the first one).

    Raises:
        ConfigError: bad settings, ``resume`` without a usable checkpoint, a ``checkpoint_dir``
            that exists and is not a pretraining checkpoint, tables that cannot fit in memory
            (naming the estimate; checked before they are allocated).
        DataError: a missing, empty, binary or too small corpus (naming the file).
    """
    config = config or PretrainConfig()
    if resume and checkpoint_dir is None:
        raise ConfigError("resume=True needs checkpoint_dir (the directory of the checkpoint to continue)")
    total_bytes = os.path.getsize(corpus) if os.path.isfile(corpus) else 0
    read = [0]

    def on_bytes(n: int) -> None:
        read[0] += n
        if progress is not None:
            progress(PretrainPrepare(read[0], total_bytes))

    if checkpoint_dir is not None:
        check_replaceable(checkpoint_dir)  # before the work: a folder of the user's there stays
    check_fits(config, 0)  # the n-gram buckets alone may not fit: say so before reading the corpus
    with scratch_dir(workdir if workdir is not None else tempfile.gettempdir()) as tmp:
        started = time.perf_counter()
        data = encode_corpus(
            corpus,
            tmp,
            min_count=config.min_count,
            max_vocab=config.max_vocab,
            max_sentence_length=config.max_sentence_length,
            lowercase=config.lowercase,
            tokenizer=tokenizer,
            errors=encoding_errors,
            on_bytes=on_bytes,
        )
        prepared = time.perf_counter() - started
        check_fits(config, len(data.words))
        run = _Run(config, data, compute_loss, progress)
        if resume and checkpoint_dir is not None:  # (resume without one was refused above)
            run.restore(load_checkpoint(checkpoint_dir, config, data))
        with (
            ThreadPoolExecutor(config.threads, thread_name_prefix="embedlayer-pretrain") as pool,
            numba_event.install_listener("numba:compile", _CompileNotice(progress or (lambda _: None))),
        ):
            run.train(pool, checkpoint_dir, checkpoint_every)
        seconds = time.perf_counter() - started
        stats = {
            "corpus": str(corpus),
            "raw_tokens": data.raw_tokens,
            "lines": data.lines,
            "invalid_utf8_replaced": data.replaced,
            "vocabulary": len(data.words),
            "words_per_epoch": data.words_per_epoch,
            "threads": config.threads,
            "tokenizer": tokenizer,
            "seconds": round(seconds, 3),
            "prepare_seconds": round(prepared, 3),
            "raw_words_per_s": round(data.raw_tokens * config.epochs / seconds, 1),
            "epoch_loss": run.epoch_losses,
        }
        dim = config.dim
        model = WordVectorModel(
            config,
            data.words,
            data.counts,
            run.syn0[:, :dim],
            run.syn1[:, :dim],
            stats=stats,
            subword_offsets=run.sub_off if config.subwords else None,
            subword_rows=run.sub_ids if config.subwords else None,
        )
        del data  # the memory map of the id file must close before the directory goes
    return model


class _Run:
    """The mutable state of one training run."""

    def __init__(
        self, config: PretrainConfig, data: EncodedCorpus, compute_loss: bool, progress: Callable[[Event], None] | None
    ) -> None:
        self.config, self.data = config, data
        self.compute_loss, self.progress = compute_loss, progress
        self.syn0, self.syn1 = _init_tables(config, len(data.words))
        self.sub_off, self.sub_ids, self.max_rows = _subword_tables(config, data.words)
        self.noise = alias_table(noise_distribution(data.counts))
        self.keep = keep_thresholds(data.counts, config.sample)
        self.bounds = _chunk_bounds(data.starts)
        self.max_len = int(np.diff(data.starts).max(initial=1))
        self.epoch, self.chunk = 0, 0  # where training continues
        self.epoch_losses: list[float] = []
        self.loss_sum, self.examples = 0.0, 0

    def restore(self, ckpt: Checkpoint) -> None:
        dim = self.config.dim
        if ckpt.input_matrix.shape[0] != self.syn0.shape[0]:
            raise ConfigError(
                f"the checkpoint's input table has {ckpt.input_matrix.shape[0]} rows; this run needs "
                f"{self.syn0.shape[0]}; resume with the settings of the first run"
            )
        self.syn0[:, :dim] = ckpt.input_matrix
        self.syn1[:, :dim] = ckpt.output_matrix
        self.epoch, self.chunk = ckpt.epoch, ckpt.chunk
        self.epoch_losses = list(ckpt.epoch_losses)
        self.loss_sum, self.examples = ckpt.loss_sum, ckpt.examples

    def state(self) -> Checkpoint:
        return Checkpoint(
            epoch=self.epoch,
            chunk=self.chunk,
            epoch_losses=tuple(self.epoch_losses),
            loss_sum=self.loss_sum,
            examples=self.examples,
            input_matrix=self.syn0[:, : self.config.dim],
            output_matrix=self.syn1[:, : self.config.dim],
        )

    def train(self, pool: ThreadPoolExecutor, checkpoint_dir, checkpoint_every: float) -> None:
        cfg, data = self.config, self.data
        per_epoch = data.words_per_epoch
        total = float(per_epoch) * cfg.epochs
        nchunks = len(self.bounds) - 1
        block = cfg.threads * _CHUNKS_PER_THREAD
        start, first_done = time.perf_counter(), self.epoch * per_epoch + int(data.starts[self.bounds[self.chunk]])
        last_save = start
        while self.epoch < cfg.epochs:
            epoch_start = time.perf_counter()
            while self.chunk < nchunks:
                hi = min(nchunks, self.chunk + block)
                self._train_block(pool, self.chunk, hi, self.epoch * per_epoch, total)
                self.chunk = hi
                done = self.epoch * per_epoch + int(data.starts[self.bounds[hi]])
                self._report(done, total, start, first_done)
                if checkpoint_dir is not None and time.perf_counter() - last_save >= checkpoint_every and hi < nchunks:
                    save_checkpoint(checkpoint_dir, self.state(), cfg, data)
                    last_save = time.perf_counter()
            mean = self.loss_sum / max(self.examples, 1) if self.compute_loss else float("nan")
            self.epoch_losses.append(mean)
            if self.progress is not None:
                self.progress(PretrainEpoch(self.epoch, mean, self.examples, time.perf_counter() - epoch_start))
            self.epoch, self.chunk = self.epoch + 1, 0
            self.loss_sum, self.examples = 0.0, 0
            if checkpoint_dir is not None and self.epoch < cfg.epochs:
                save_checkpoint(checkpoint_dir, self.state(), cfg, data)
                last_save = time.perf_counter()

    def _train_block(self, pool: ThreadPoolExecutor, lo: int, hi: int, done_before: int, total: float) -> None:
        """Train chunks ``lo .. hi - 1`` of this epoch: each of ``threads`` workers takes the next
        chunk not yet started until none is left; adds their losses and examples to the epoch's."""
        cfg, data = self.config, self.data
        model = kernels.CBOW if cfg.model == "cbow" else kernels.SKIPGRAM
        losses, counts = np.zeros(hi - lo), np.zeros(hi - lo, dtype=np.int64)
        todo, lock, stop = iter(range(lo, hi)), threading.Lock(), threading.Event()

        def work() -> None:
            while not stop.is_set():
                with lock:
                    c = next(todo, None)
                if c is None:
                    return
                losses[c - lo], counts[c - lo], _ = kernels.train_chunk(
                    data.ids,
                    data.starts,
                    self.bounds[c],
                    self.bounds[c + 1],
                    done_before,
                    total,
                    cfg.start_lr,
                    cfg.min_lr,
                    self.syn0,
                    self.syn1,
                    self.keep,
                    self.noise,
                    cfg.window,
                    cfg.negative,
                    model,
                    self.sub_off,
                    self.sub_ids,
                    bool(cfg.subwords),
                    self.max_rows,
                    self.max_len,
                    self.compute_loss,
                    chunk_seed(cfg.seed, self.epoch, c),
                )

        if cfg.threads == 1:
            work()
        else:
            workers = [pool.submit(work) for _ in range(cfg.threads)]
            try:
                for worker in workers:
                    worker.result()
            finally:  # on an error or Ctrl-C, the others stop after their current chunk
                stop.set()
        self.loss_sum += float(losses.sum())
        self.examples += int(counts.sum())

    def _report(self, done: int, total: float, start: float, first_done: int) -> None:
        if self.progress is None:
            return
        cfg = self.config
        lr = max(cfg.min_lr, cfg.start_lr - (cfg.start_lr - cfg.min_lr) * done / total)
        elapsed = max(time.perf_counter() - start, 1e-9)
        loss = self.loss_sum / max(self.examples, 1) if self.compute_loss else float("nan")
        self.progress(
            PretrainProgress(self.epoch, cfg.epochs, done, int(total), (done - first_done) / elapsed, lr, loss)
        )
