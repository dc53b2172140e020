"""Models over encoded tables: one embedding table per categorical column, then

* ``"mlp"``: entity embeddings (Guo & Berkhahn 2016) concatenated with the numeric features →
  MLP (Linear, ReLU, batch norm, dropout) → one logit per class, or one value;
* ``"mf"``: biased matrix factorisation of the first two categorical columns (user, item):
  ``b + b_u + b_i + <p_u, q_i>``;
* ``"fm"``: a factorisation machine (Rendle 2010) over every column: each categorical or
  multi-valued column is a field with a vector and a weight per row, each numeric feature a field
  scaled by its value; ``b + Σ w_f + Σ_{f<g} <v_f, v_g>`` (pairwise term in O(F·k)).

For "mf" and "fm" each row of a table holds ``factors + 1`` numbers: the vector, then the row's
linear weight (bias), so one table per column is trained by the row-wise optimizers.
All forward passes take ``(categorical (B, C) int64, numeric (B, F) float32, *bags (B, L_j))``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.layers import Embedding, EmbeddingBag
from embedlayer.tabular.columns import FIRST, UNKNOWN

__all__ = ["MODEL_KINDS", "TabularModel", "TabularModelConfig"]

ModelKind = Literal["mlp", "mf", "fm"]
MODEL_KINDS: tuple[str, ...] = ("mlp", "mf", "fm")


@dataclass(frozen=True, kw_only=True)
class TabularModelConfig:
    """Shapes and settings of a `TabularModel` (saved in the model folder)."""

    kind: ModelKind = "mlp"
    tables: tuple[tuple[int, int], ...] = ()  # (rows, width) per single-valued categorical column
    bag_tables: tuple[tuple[int, int], ...] = ()  # (rows, width) per multi-valued column (mean of its rows)
    num_numeric: int = 0  # F, numeric features (values and missing flags)
    num_outputs: int = 1  # classes, or 1 for a value
    hidden: tuple[int, ...] = (256, 128)  # mlp: widths of the hidden layers
    dropout: float = 0.1  # mlp: after each hidden layer
    embedding_dropout: float = 0.0  # mlp: on the concatenated embeddings
    batch_norm: bool = True  # mlp: batch norm after each hidden layer (and on the numeric input)
    factors: int = 64  # mf / fm: width of the factor vectors (each table row holds factors + 1)
    init_std: float = 0.01  # standard deviation of the initial table rows
    sparse: bool = True  # tables get row-wise updates (sparse gradients)
    # Training only: each categorical value is replaced, with this probability, by what a value
    # never seen in training becomes (the unknown row, or a random hash bucket), so those rows
    # learn the column's average effect and unseen values at prediction degrade gracefully.
    unknown_rate: float = 0.0
    # Per entry of `tables`: what an unseen value becomes: 0 the unknown row, H > 0 one of H hash
    # buckets after the reserved rows, -1 never replaced (numeric bins: every number has a bin).
    unseen_rows: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ConfigError(f"model kind {self.kind!r}: expected one of {', '.join(MODEL_KINDS)}")
        if self.kind == "mf" and len(self.tables) < 2:
            raise ConfigError("model 'mf' needs two categorical columns (user, item); got fewer")
        if not 0 <= self.dropout < 1 or not 0 <= self.embedding_dropout < 1:
            raise ConfigError(f"dropout {self.dropout}, {self.embedding_dropout}: expected numbers in [0, 1)")
        if not 0 <= self.unknown_rate < 1:
            raise ConfigError(f"unknown_rate {self.unknown_rate}: expected a number in [0, 1)")
        if self.unseen_rows and len(self.unseen_rows) != len(self.tables):
            raise ConfigError(f"unseen_rows has {len(self.unseen_rows)} entries for {len(self.tables)} tables")
        if self.factors < 1 or any(h < 1 for h in self.hidden):
            raise ConfigError(f"factors {self.factors}, hidden {self.hidden}: expected positive widths")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TabularModelConfig:
        """Inverse of `to_dict` (lists back to tuples); ConfigError on unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, Mapping) or set(data) - names:
            raise ConfigError(f"tabular model config: unknown keys {sorted(set(data) - names)}")
        out = dict(data)
        for key in ("tables", "bag_tables"):
            out[key] = tuple(tuple(t) for t in out.get(key, ()))
        out["hidden"] = tuple(out.get("hidden", ()))
        return cls(**out)


class TabularModel(nn.Module):
    """Embedding tables per column and an MLP, MF or FM on top (see the module docstring)."""

    def __init__(self, config: TabularModelConfig, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = c = config
        width = (lambda w: w) if c.kind == "mlp" else (lambda w: c.factors + 1)

        def table(rows: int, w: int, bag: bool) -> Embedding:
            cls = EmbeddingBag if bag else Embedding
            return cls(rows, width(w), padding_idx=0, sparse=c.sparse, std=c.init_std, generator=generator)

        self.tables = nn.ModuleList(table(r, w, False) for r, w in c.tables)
        self.bags = nn.ModuleList(table(r, w, True) for r, w in c.bag_tables)
        if c.kind == "mlp":
            emb = sum(w for _, w in c.tables) + sum(w for _, w in c.bag_tables)
            self.numeric_norm = nn.BatchNorm1d(c.num_numeric) if c.batch_norm and c.num_numeric else nn.Identity()
            self.embedding_dropout = nn.Dropout(c.embedding_dropout)
            layers: list[nn.Module] = []
            last = emb + c.num_numeric
            for h in c.hidden:
                layers += [nn.Linear(last, h), nn.ReLU()]
                layers += [nn.BatchNorm1d(h)] if c.batch_norm else []
                layers += [nn.Dropout(c.dropout)] if c.dropout else []
                last = h
            layers.append(nn.Linear(last, c.num_outputs))
            self.mlp = nn.Sequential(*layers)
        else:
            self.bias = nn.Parameter(torch.zeros(c.num_outputs))
            # numeric features as FM fields: a vector and a weight each
            self.numeric_factors = nn.Parameter(
                torch.randn(c.num_numeric, c.factors + 1, generator=generator) * c.init_std
            )

    def forward(self, categorical: Tensor, numeric: Tensor, *bags: Tensor) -> Tensor:
        """categorical (B, C) int64, numeric (B, F) float32, bags (B, L_j) int64 → (B, outputs)."""
        if self.training and self.config.unknown_rate > 0:
            categorical = self._as_unseen(categorical)
        fields = [t(categorical[:, j]) for j, t in enumerate(self.tables)]  # each (B, W_j)
        fields += [t(ids) for t, ids in zip(self.bags, bags)]  # each (B, W_j)
        if self.config.kind == "mlp":
            x = self.embedding_dropout(torch.cat(fields, dim=1)) if fields else numeric.new_zeros(len(numeric), 0)
            return self.mlp(torch.cat([x, self.numeric_norm(numeric)], dim=1))  # (B, outputs)
        if self.config.kind == "mf":
            user, item = fields[0], fields[1]  # (B, k + 1)
            dot = (user[:, :-1] * item[:, :-1]).sum(dim=1)  # (B,)
            return self.bias + (dot + user[:, -1] + item[:, -1]).unsqueeze(1)  # (B, 1)
        v = torch.stack(fields, dim=1) if fields else numeric.new_zeros(len(numeric), 0, self.config.factors + 1)
        if self.config.num_numeric:
            v = torch.cat([v, numeric.unsqueeze(2) * self.numeric_factors], dim=1)  # (B, fields, k + 1)
        vec, linear = v[..., :-1], v[..., -1]  # (B, fields, k), (B, fields)
        pairs = 0.5 * (vec.sum(dim=1).pow(2) - vec.pow(2).sum(dim=1)).sum(dim=1)  # (B,)
        return self.bias + (linear.sum(dim=1) + pairs).unsqueeze(1)  # (B, 1)

    def _as_unseen(self, categorical: Tensor) -> Tensor:
        """(B, C) ids with a random ``unknown_rate`` of the categorical ones replaced as unseen
        values would be (drawn from torch's RNG, which `fit` seeds and checkpoints)."""
        out = categorical.clone()
        for j, rows in enumerate(self.config.unseen_rows):
            if rows < 0:
                continue
            hit = torch.rand(len(out)) < self.config.unknown_rate  # (B,)
            new = UNKNOWN if rows == 0 else FIRST + torch.randint(rows, (int(hit.sum()),))
            out[hit, j] = new
        return out

    def column_vectors(self, index: int, *, bag: bool = False) -> Tensor:
        """(rows, D) learned vectors of categorical column ``index`` (or multi-valued column);
        MF/FM tables without their last number (the row's linear weight)."""
        table = (self.bags if bag else self.tables)[index]
        assert isinstance(table, Embedding)
        weight = table.weight.detach()  # (rows, W)
        return weight if self.config.kind == "mlp" else weight[:, :-1]
