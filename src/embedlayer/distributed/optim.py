"""Training sharded tables: one row-wise optimizer over the local shards, and DDP for the rest.

``make_sharded_optimizer("adam", [model.users, model.items], lr=1e-3)`` builds one optimizer of
:mod:`embedlayer.sparse` (SGD, Adagrad, row-wise Adagrad, lazy Adam) over the shards this rank
holds and binds it: in the backward pass each owner receives the gradient rows of its shard from
every rank and, with ``fused=True`` (default), the optimizer updates the touched rows once at the
end of ``backward()`` (every lookup of a table in that backward summed into one update), exactly
as a bound single-process table; ``step()`` then has nothing left to do. With ``fused=False``
backward only records, and ``step()`` applies.

The dense parameters train as usual under ``DistributedDataParallel``; the shards must not go
through DDP (they differ between ranks): call :func:`exclude_from_ddp` on the model before
wrapping it, and build the dense optimizer from :func:`dense_parameters`.

Loss scaling: DDP averages dense gradients over ranks, while each shard row receives the *sum* of
its gradients from every rank. To train as one process on the concatenated batches with a mean
loss, scale each rank's loss so that the row gradients match (e.g. sum losses, divide by the global
batch size) and keep DDP's average consistent with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.sparse.optim import SparseOptimizer
from embedlayer.sparse.optimizers import make_sparse_optimizer

__all__ = ["ShardedOptimizer", "dense_parameters", "exclude_from_ddp", "make_sharded_optimizer", "sharded_modules"]


def sharded_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every sharded table in ``model`` (itself included)."""
    return [(name, m) for name, m in model.named_modules() if hasattr(m, "local") and hasattr(m, "shard")]


def _sharded_names(model: nn.Module) -> set[str]:
    return {f"{name}.weight" if name else "weight" for name, _ in sharded_modules(model)}


def dense_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    """The parameters of ``model`` that are not shards of sharded tables (for DDP and a dense optimizer)."""
    skip = _sharded_names(model)
    return (p for name, p in model.named_parameters() if name not in skip)


def exclude_from_ddp(model: nn.Module) -> list[str]:
    """Tell ``DistributedDataParallel`` to leave the shards of ``model`` alone (call before wrapping
    ``model``); returns their parameter names."""
    from torch.nn.parallel import DistributedDataParallel

    names = sorted(_sharded_names(model))
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, names)
    return names


class ShardedOptimizer:
    """A row-wise optimizer over the local shards of sharded tables, bound to their lookups.

    Args:
        name: "sgd", "adagrad", "rowwise-adagrad" or "adam" (:data:`embedlayer.sparse.SPARSE_OPTIMIZERS`).
        modules: the sharded tables (``ShardedEmbedding`` / ``ShardedEmbeddingBag``), or one.
        lr, weight_decay, fused, kwargs: as the optimizer's (e.g. ``betas`` for "adam").

    Attributes:
        sparse: the :class:`~embedlayer.sparse.optim.SparseOptimizer` over the shards (its
            ``param_groups`` take LR schedules).

    Raises:
        ConfigError: an unknown optimizer, a bad hyperparameter, a module that is not sharded,
            or a shard already bound to another optimizer.
    """

    def __init__(
        self,
        name: str,
        modules: Any,
        *,
        lr: float,
        weight_decay: float = 0.0,
        fused: bool = True,
        **kwargs: Any,
    ) -> None:
        mods = [modules] if isinstance(modules, nn.Module) else list(modules)
        for i, m in enumerate(mods):
            if not (hasattr(m, "local") and hasattr(m, "shard")):
                raise ConfigError(
                    f"ShardedOptimizer: module {i} is a {type(m).__name__}; expected a ShardedEmbedding or "
                    f"ShardedEmbeddingBag (use embedlayer.sparse optimizers for single-process tables)"
                )
        self.modules = mods
        self.sparse: SparseOptimizer = make_sparse_optimizer(
            name, [m.local for m in mods], lr=lr, weight_decay=weight_decay, fused=fused, **kwargs
        ).bind()

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The sparse optimizer's param groups (``lr`` and the other hyperparameters)."""
        return self.sparse.param_groups

    def step(self) -> None:
        """Apply what backward recorded (``fused=False``); nothing when fused."""
        self.sparse.step()

    def zero_grad(self) -> None:
        """Forget recorded lookups (``fused=False``)."""
        self.sparse.zero_grad()

    def state_for(self, module: nn.Module) -> dict[str, Tensor]:
        """The per-row state of ``module``'s shard: name -> tensor whose first axis is the shard's
        rows (the live tensors; empty before the first update). The step count is left out (it is
        per table, see :meth:`step_count`).

        Raises:
            ConfigError: ``module`` is not one of this optimizer's tables.
        """
        weight = self._local(module).weight
        return {k: v for k, v in self.sparse.state.get(weight, {}).items() if isinstance(v, Tensor)}

    def step_count(self, module: nn.Module) -> int:
        """How many updates ``module``'s shard has had (0 before the first)."""
        return int(self.sparse.state.get(self._local(module).weight, {}).get("step", 0))

    def state_dict(self) -> dict[str, Any]:
        """The sparse optimizer's ``state_dict`` (this rank's shards only)."""
        return self.sparse.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` of the same optimizer over shards of the same shapes."""
        self.sparse.load_state_dict(state_dict)

    def unbind(self) -> None:
        """Return the shards to plain autograd (a sparse gradient on their weight)."""
        self.sparse.unbind()

    def _local(self, module: nn.Module) -> Any:
        for m in self.modules:
            if m is module:
                return m.local
        raise ConfigError(
            f"ShardedOptimizer: {type(module).__name__} is not one of its {len(self.modules)} table(s); "
            f"expected a module it was built with"
        )


def make_sharded_optimizer(
    name: str, modules: Iterable[nn.Module] | nn.Module, *, lr: float, **kwargs: Any
) -> ShardedOptimizer:
    """:class:`ShardedOptimizer` ``name`` over ``modules``, bound (see the module docstring).

    Raises:
        ConfigError: as :class:`ShardedOptimizer`.
    """
    return ShardedOptimizer(name, modules, lr=lr, **kwargs)
