"""A table model end to end: columns → spec → rows and numbers → `TabularModel` → predictions.

`TabularPipeline` ties the spec (how every column is read) to the model and the training loop
(`embedlayer.train.fit`: early stopping, checkpoints, exact resume, row-wise table optimizers),
and saves both as one folder, in the manner of the text classifier's::

    model.safetensors   the weights (no pickle)
    spec.json           the table spec (see `TableSpec.to_dict`)
    config.json         format, the model config, extra records, and the size and SHA-256 of the
                        two files above (removed first and written last: a half save is no model)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import torch
from torch import Tensor

from embedlayer._io import atomic_write
from embedlayer.errors import ConfigError, DataError, ModelError
from embedlayer.tabular.model import ModelKind, TabularModel, TabularModelConfig
from embedlayer.tabular.read import Table, TableFile
from embedlayer.tabular.spec import Encoded, SpecOptions, TableSpec
from embedlayer.tasks.model_folder import build_for_state, check_files, finish_unit, read_manifest, start_unit
from embedlayer.train import TrainConfig, TrainResult, evaluate, evaluate_regression, fit

__all__ = ["FORMAT", "ModelSettings", "TabularBatch", "TabularPipeline"]

FORMAT, VERSION = "embedlayer.tabular", 1
UNIT = ("spec.json", "model.safetensors")


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """The model to build over the spec (everything but the columns' shapes)."""

    kind: ModelKind = "mlp"  # mlp (entity embeddings + MLP) | mf (user, item) | fm (all columns)
    hidden: tuple[int, ...] = (256, 128)  # mlp: hidden widths
    dropout: float = 0.1  # mlp: after each hidden layer
    embedding_dropout: float = 0.0  # mlp: on the concatenated embeddings
    batch_norm: bool = True  # mlp: batch norm after each hidden layer
    factors: int = 64  # mf / fm: factor width
    init_std: float = 0.01  # initial table rows ~ N(0, init_std²)
    unknown_rate: float = 0.0  # training: categorical values seen as unseen with this probability
    seed: int = 0  # the initial weights


@dataclass(frozen=True)
class TabularBatch:
    """A batch for `fit`: the model's inputs and the targets (see `embedlayer.train.loop`)."""

    inputs: tuple[Tensor, ...]  # categorical (B, C) int64, numeric (B, F) float32, bags (B, L_j) int64
    labels: Tensor | None  # (B,) int64 class ids or float32 values

    def __len__(self) -> int:
        return len(self.inputs[0])

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> TabularBatch:
        labels = None if self.labels is None else self.labels.to(device, non_blocking=non_blocking)
        return TabularBatch(tuple(x.to(device, non_blocking=non_blocking) for x in self.inputs), labels)


class Batches(Sequence[TabularBatch]):
    """The batches of `make_batches`, each cut from the arrays (ids widened to int64) only when it
    is reached, so an epoch holds one batch more than the data, not a second copy of it."""

    def __init__(self, data: Encoded, order: np.ndarray, starts: list[int]) -> None:
        self.cat, self.num = torch.from_numpy(data.categorical), torch.from_numpy(data.numeric)
        self.bags = [torch.from_numpy(b) for b in data.bags]  # int32 when streamed
        self.y = None if data.target is None else torch.from_numpy(data.target)
        self.order, self.bounds = order, list(zip(starts, [*starts[1:], len(order)]))

    def __len__(self) -> int:
        return len(self.bounds)

    @overload
    def __getitem__(self, i: int) -> TabularBatch: ...
    @overload
    def __getitem__(self, i: slice) -> list[TabularBatch]: ...
    def __getitem__(self, i: int | slice) -> TabularBatch | list[TabularBatch]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        start, end = self.bounds[i]
        idx = torch.from_numpy(self.order[start:end])
        inputs = (self.cat[idx].long(), self.num[idx], *(b[idx].long() for b in self.bags))
        return TabularBatch(inputs, None if self.y is None else self.y[idx])


def make_batches(data: Encoded, batch_size: int, *, shuffle: bool = False, seed: int = 0, epoch: int = 0) -> Batches:
    """Batches of ``data`` in file order, or shuffled from ``(seed, epoch)`` (then a last batch of
    one row joins the one before it)."""
    n = len(data.categorical)
    order = np.arange(n)
    if shuffle:
        order = np.random.default_rng([seed, epoch]).permutation(n)
    starts = list(range(0, n, batch_size))
    if shuffle and len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()  # a training batch of one row would break batch norm: it joins the batch before
    return Batches(data, order, starts)


class TabularPipeline:
    """Spec and model of a table; `build` from training data or `load` a saved folder."""

    def __init__(self, spec: TableSpec, model: TabularModel) -> None:
        self.spec = spec
        self.model = model
        self.config: dict[str, Any] = {}  # config.json of a loaded folder (its extra records)

    @classmethod
    def build(
        cls, train: Table | Iterable[Table], options: SpecOptions, settings: ModelSettings = ModelSettings()
    ) -> TabularPipeline:
        """Build the spec from ``train`` (a table, or its chunks: a `TableFile`) and an untrained
        model over it (seeded by ``settings.seed``)."""
        spec = TableSpec.build(train, options)
        with torch.random.fork_rng(devices=[]):  # the dense layers draw from torch's global RNG
            torch.manual_seed(settings.seed)
            model = TabularModel(model_config(spec, settings), generator=torch.Generator().manual_seed(settings.seed))
        return cls(spec, model)

    # ------------------------------------------------------------------ training and use
    def fit(
        self,
        train: Table | TableFile | Encoded,
        dev: Table | TableFile | Encoded | None,
        config: TrainConfig = TrainConfig(),
        *,
        progress: Callable[[Any], None] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        run_info: dict[str, Any] | None = None,
        group: Any = None,
        shard_layout: str = "auto",
    ) -> TrainResult:
        """Train on ``train``; early stopping and the weights kept follow ``dev`` (accuracy, or
        RMSE for regression). A `TableFile` is encoded chunk by chunk (`TableSpec.encode_chunks`);
        an `Encoded` is used as it is. Checkpoints record ``run_info`` and the spec (resume refuses others).
        ``group`` (a `ShardGroup`): the tables are sharded over its ranks for the run
        (`embedlayer.tabular.sharded.fit_sharded`, ``shard_layout`` "auto", "row" or "table"; no
        checkpoints); every rank passes the same data and the model ends whole on every rank."""
        data = self._encode(train)
        if len(data) < 2:
            raise DataError(f"{getattr(train, 'source', 'train')}: {len(data)} training row(s); expected at least 2")
        dev_batches = None if dev is None else make_batches(self._encode(dev), max(config.batch_size, 1024))

        def train_batches(epoch: int) -> Batches:
            return make_batches(data, config.batch_size, shuffle=True, seed=config.seed, epoch=epoch)

        if group is not None:
            from embedlayer.tabular.sharded import fit_sharded

            if checkpoint_dir is not None or resume:
                raise ConfigError("fit with a shard group: checkpoints and resume are not supported; expected neither")
            return fit_sharded(
                self.model, train_batches, dev_batches, config, group=group, layout=shard_layout, progress=progress
            )
        record = {**(run_info or {}), "spec": self.spec.to_dict(), "model": self.model.config.to_dict()}
        return fit(
            self.model,
            train_batches,  # type: ignore[arg-type]  # TabularBatch: the loop's duck-typed batch
            dev_batches,  # type: ignore[arg-type]
            config,
            progress=progress,
            checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir),
            resume=resume,
            run_info=record,
        )

    def _encode(self, data: Table | TableFile | Encoded, *, with_target: bool = True) -> Encoded:
        if isinstance(data, Encoded):
            return data
        if isinstance(data, Table):
            return self.spec.encode(data, with_target=with_target)
        return self.spec.encode_chunks(data, with_target=with_target)

    def _stream(self, data: Table | TableFile | Encoded, batch_size: int, *, with_target: bool) -> Iterator[Encoded]:
        """The data encoded a chunk at a time and cut into pieces of ``batch_size`` rows (the last
        fewer) whatever the chunks, so the batches are those of the data held whole."""
        if not isinstance(data, TableFile):
            yield self._encode(data, with_target=with_target)
            return
        held: list[Encoded] = []
        for chunk in data:
            held.append(self.spec.encode(chunk, with_target=with_target))
            if sum(len(p) for p in held) >= batch_size:
                rows = Encoded.concat(held)
                whole = len(rows) - len(rows) % batch_size
                yield rows.select(np.arange(whole))
                rest = rows.select(np.arange(whole, len(rows)))  # its unseen values are counted above
                held = [dataclasses.replace(rest, unseen=dict.fromkeys(rows.unseen, 0))] if len(rest) else []
        if held:
            yield Encoded.concat(held)

    def evaluate(self, table: Table | TableFile | Encoded, *, batch_size: int = 4096) -> dict[str, Any]:
        """Metrics on a labelled table: accuracy, macro-F1 and loss (classification) or RMSE and
        MAE in the target's units (regression); ``unseen``: per column, values training never saw.
        A `TableFile` is read, encoded and scored a chunk at a time."""
        unseen: dict[str, int] = {}
        rows = 0

        def batches() -> Iterator[TabularBatch]:
            nonlocal rows
            for part in self._stream(table, batch_size, with_target=True):
                rows += len(part)
                for k, v in part.unseen.items():
                    unseen[k] = unseen.get(k, 0) + v
                yield from make_batches(part, batch_size)

        out: dict[str, Any]
        if self.spec.task == "regression":
            result = evaluate_regression(self.model, batches())  # type: ignore[arg-type]
            scale = self.spec.target_std
            out = {"rmse": result.rmse * scale, "mae": result.mae * scale, "examples": rows}
        else:
            metrics = evaluate(self.model, batches()).to_dict()  # type: ignore[arg-type]
            out = {**metrics, "labels": list(self.spec.labels)}
        return {**out, "unseen": unseen}

    @torch.no_grad()
    def predict(self, table: Table | TableFile | Encoded, *, batch_size: int = 4096) -> np.ndarray:
        """(N, C) class probabilities, or (N,) values in the target's units (regression)."""
        outs = list(self.predict_chunks(table, batch_size=batch_size))
        if outs:
            return np.concatenate(outs)
        return np.zeros(0) if self.spec.task == "regression" else np.zeros((0, self.spec.num_outputs), np.float32)

    @torch.no_grad()
    def predict_chunks(self, table: Table | TableFile | Encoded, *, batch_size: int = 4096) -> Iterator[np.ndarray]:
        """`predict` a batch at a time, a `TableFile` read a chunk at a time (for output written as it comes)."""
        self.model.eval()
        for part in self._stream(table, batch_size, with_target=False):
            for batch in make_batches(part, batch_size):
                logits = self.model(*batch.inputs)
                if self.spec.task == "regression":
                    yield (logits[:, 0] * self.spec.target_std + self.spec.target_mean).numpy()
                else:
                    yield torch.softmax(logits, dim=1).numpy()

    def column_vectors(self, name: str) -> tuple[list[str], np.ndarray]:
        """(categories, (K, D) float32 rows) of a categorical column's learned table, one row per
        category kept in training (rare, missing and unknown rows left out)."""
        col = self.spec.column(name)
        if col.kind == "numeric":
            raise ConfigError(f"column {name!r} is numeric: it has no embedding table; expected a categorical column")
        group = self.spec.tables if col.kind == "categorical" else self.spec.multi
        index = [c.name for c in group].index(name)
        table = self.model.column_vectors(index, bag=col.kind == "multi").numpy()
        rows = col.row_of()
        return list(col.categories), np.ascontiguousarray(table[[rows[c] for c in col.categories]], dtype=np.float32)

    # ------------------------------------------------------------------ files
    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        extra: dict[str, Any] | None = None,
        attachments: dict[str, Any] | None = None,
    ) -> Path:
        """Write the folder as one unit (config.json removed first, written last). ``attachments``:
        more JSON files (name -> object) written with the unit and vouched for by config.json."""
        out = start_unit(directory, self.model)
        for name, obj in {"spec.json": self.spec.to_dict(), **(attachments or {})}.items():
            with atomic_write(out / name) as fh:
                json.dump(obj, fh, ensure_ascii=False)
        config = {"format": FORMAT, "version": VERSION, "model": self.model.config.to_dict(), **(extra or {})}
        return finish_unit(out, config, (*UNIT, *(attachments or {})))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TabularPipeline:
        """Read a folder written by `save`; ModelError when it is another kind of model or its parts disagree."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(directory)
        if not (folder / "config.json").is_file():
            raise ModelError(
                f"{folder}: no config.json; expected a folder written by `tabular train` or `recommend train`"
            )
        config = read_manifest(folder / "config.json", FORMAT, VERSION, ("model", "files"))
        unit = tuple(config["files"]) if isinstance(config["files"], dict) else UNIT
        if any(Path(name).name != name or name.startswith(".") for name in unit):
            raise ModelError(f"{folder / 'config.json'}: files {list(unit)}: expected plain file names in the folder")
        for name in (*UNIT, *unit):
            if not (folder / name).is_file():
                raise ModelError(f"{folder}: {name} is missing; expected the files `tabular train` wrote together")
        check_files(folder, config, unit, writer="tabular train")
        try:
            spec = TableSpec.from_dict(json.loads((folder / "spec.json").read_text(encoding="utf-8")))
            model_config = TabularModelConfig.from_dict(config["model"])
            state = load_file(str(folder / "model.safetensors"))
        except (ConfigError, ValueError, SafetensorError, OSError) as exc:
            raise ModelError(f"{folder}: unreadable model ({' '.join(str(exc).split())})") from exc
        model = build_for_state(lambda: TabularModel(model_config), state, folder)
        model.eval()
        pipeline = cls(spec, model)
        pipeline.config = config
        return pipeline


def model_config(spec: TableSpec, settings: ModelSettings) -> TabularModelConfig:
    """The model's shapes from the spec; ConfigError for an MF model without two categorical columns."""
    fields = {f.name for f in dataclasses.fields(TabularModelConfig)}
    shared = {k: v for k, v in dataclasses.asdict(settings).items() if k in fields}
    return TabularModelConfig(
        **shared,
        tables=tuple((c.num_rows, c.embedding_dim) for c in spec.tables),
        unseen_rows=tuple(-1 if c.kind == "numeric" else c.hash_buckets for c in spec.tables),
        bag_tables=tuple((c.num_rows, c.embedding_dim) for c in spec.multi),
        num_numeric=sum(c.width for c in spec.numeric),
        num_outputs=spec.num_outputs,
    )


def split_dev(table: Table | Encoded, fraction: float, seed: int, source: str = "data") -> tuple[Any, Any]:
    """(train, dev) rows of ``table`` (a `Table`, or an `Encoded` streamed file: the same rows):
    a seeded random ``fraction`` held out for early stopping."""
    if not 0 < fraction < 1:
        raise ConfigError(f"--valid-fraction {fraction}: expected a number between 0 and 1")
    n = len(table)
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, int(round(n * fraction)))
    if k >= n:
        raise DataError(
            f"{getattr(table, 'source', source)}: {n} row(s) are too few to hold {fraction:.0%} out for validation"
        )
    return table.select(np.sort(order[k:])), table.select(np.sort(order[:k]))
