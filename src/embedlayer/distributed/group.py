"""The process group the sharded tables talk over, and its collectives with clear failures.

``ShardGroup`` wraps a ``torch.distributed`` process group (gloo on CPU, NCCL on GPUs) and runs
the few collectives the sharded tables need. Every one of them either completes or raises
:class:`~embedlayer.errors.DistributedError` naming this rank, the collective and the timeout:
a rank that dies or never joins makes every other rank fail within the group's timeout, never
hang (gloo honours the process-group timeout in every collective; a peer that exits closes its
connections and the others fail at once).

Under NCCL the tensors of a collective are moved to the group's device (``cuda:LOCAL_RANK``) and
back; everything else is the same code as under gloo. NCCL reports a failed peer asynchronously:
its watchdog aborts the waiting process after the timeout (``TORCH_NCCL_ASYNC_ERROR_HANDLING``,
on by default) rather than raising, so there the error is the watchdog's, in the process's log.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from embedlayer.errors import ConfigError, DistributedError

__all__ = ["DEFAULT_TIMEOUT_S", "ShardGroup"]

#: Seconds a collective (or joining the group) may wait for the other ranks before failing.
DEFAULT_TIMEOUT_S = 300.0
_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
_timeouts: dict[Any, datetime.timedelta] = {}  # the timeout each group was created with (from_env)


class ShardGroup:
    """A process group and the collectives of the sharded tables.

    Attributes:
        rank, world_size: this process's place in the group.
        backend: "gloo" or "nccl".
        device: where collective tensors live: ``cpu`` under gloo, ``cuda:LOCAL_RANK`` under NCCL.
        timeout: how long a collective waits for the other ranks (the group's own timeout).

    Args:
        process_group: a ``torch.distributed`` group; None: the default (world) group.
        timeout_s: the group's timeout in seconds, for messages; None: the one it was created with
            by :meth:`from_env`, else :data:`DEFAULT_TIMEOUT_S`.

    Raises:
        DistributedError: torch.distributed is not initialised.
    """

    def __init__(self, process_group: Any = None, *, timeout_s: float | None = None) -> None:
        if not dist.is_available() or not dist.is_initialized():
            raise DistributedError(
                "torch.distributed is not initialised; expected a process group (start the script with "
                "torchrun and call ShardGroup.from_env(), or call torch.distributed.init_process_group first)"
            )
        self.process_group = process_group
        self.rank = dist.get_rank(process_group)
        self.world_size = dist.get_world_size(process_group)
        self.backend = str(dist.get_backend(process_group)).lower()
        if self.backend == "nccl":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        else:
            self.device = torch.device("cpu")
        key = "world" if process_group is None else id(process_group)
        known = _timeouts.get(key, datetime.timedelta(seconds=DEFAULT_TIMEOUT_S))
        self.timeout = known if timeout_s is None else datetime.timedelta(seconds=_seconds(timeout_s))

    @classmethod
    def from_env(cls, backend: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> ShardGroup:
        """The default group, initialised from torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR,
        MASTER_PORT) unless it already is. ``backend`` None: "nccl" when CUDA is available, else
        "gloo". Joining waits at most ``timeout_s`` for the other ranks.

        Raises:
            ConfigError: a variable is missing, a bad backend or timeout.
            DistributedError: the other ranks did not join within the timeout.
        """
        seconds = _seconds(timeout_s)
        if dist.is_available() and dist.is_initialized():
            return cls(timeout_s=seconds)
        missing = [name for name in _ENV if name not in os.environ]
        if missing:
            raise ConfigError(
                f"ShardGroup.from_env: environment variable(s) {', '.join(missing)} not set; expected "
                f"a process started by torchrun (torchrun --nproc-per-node N script.py)"
            )
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend not in ("gloo", "nccl"):
            raise ConfigError(f"ShardGroup.from_env: backend must be 'gloo' or 'nccl', got {backend!r}")
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        timeout = datetime.timedelta(seconds=seconds)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        try:
            dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world, timeout=timeout)
        except (RuntimeError, ValueError) as exc:  # DistStoreError / DistBackendError derive from RuntimeError
            raise DistributedError(
                f"rank {rank} of {world}: joining the process group at {os.environ['MASTER_ADDR']}:"
                f"{os.environ['MASTER_PORT']} ({backend}) failed within the timeout of {seconds:g} s: "
                f"{_first_line(exc)}; expected all {world} ranks to start"
            ) from exc
        _timeouts["world"] = timeout
        return cls(timeout_s=seconds)

    @classmethod
    def current(cls, *, timeout_s: float | None = None) -> ShardGroup:
        """The default (world) group, already initialised.

        Raises:
            DistributedError: torch.distributed is not initialised.
        """
        return cls(timeout_s=timeout_s)

    # ------------------------------------------------------------------ collectives
    def all_to_all(self, tensor: Tensor, send: Sequence[int], recv: Sequence[int], *, what: str) -> Tensor:
        """Rank r sends ``tensor[sum(send[:j]):sum(send[:j+1])]`` to rank j and receives
        ``recv[j]`` rows from rank j: tensor (sum(send), ...) -> (sum(recv), ...), same dtype and
        device as ``tensor``. ``what`` names the exchange in errors.

        Raises:
            DistributedError: another rank died, left or timed out.
        """
        source = tensor.contiguous().to(self.device)
        out = torch.empty((sum(recv), *tensor.shape[1:]), dtype=tensor.dtype, device=self.device)
        send_list, recv_list = [int(s) for s in send], [int(r) for r in recv]
        self._run(
            f"all_to_all_single ({what})",
            lambda: dist.all_to_all_single(out, source, recv_list, send_list, group=self.process_group),
        )
        return out.to(tensor.device)

    def all_gather(self, tensor: Tensor, *, what: str) -> list[Tensor]:
        """Every rank's ``tensor`` (same shape on every rank), in rank order.

        Raises:
            DistributedError: another rank died, left or timed out.
        """
        source = tensor.contiguous().to(self.device)
        parts = [torch.empty_like(source) for _ in range(self.world_size)]
        self._run(f"all_gather ({what})", lambda: dist.all_gather(parts, source, group=self.process_group))
        return [p.to(tensor.device) for p in parts]

    def all_reduce_max(self, tensor: Tensor, *, what: str) -> Tensor:
        """The element-wise maximum of ``tensor`` over the ranks (a new tensor).

        Raises:
            DistributedError: another rank died, left or timed out.
        """
        out = tensor.clone().to(self.device)
        self._run(
            f"all_reduce ({what})",
            lambda: dist.all_reduce(out, op=dist.ReduceOp.MAX, group=self.process_group),
        )
        return out.to(tensor.device)

    def barrier(self) -> None:
        """Wait until every rank arrives.

        Raises:
            DistributedError: another rank died, left or timed out.
        """
        self.all_reduce_max(torch.zeros(1), what="barrier")

    def _run(self, what: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except RuntimeError as exc:  # gloo/NCCL failures: RuntimeError or its DistBackendError
            raise DistributedError(
                f"rank {self.rank} of {self.world_size}: {what} over {self.backend} failed (timeout "
                f"{self.timeout.total_seconds():g} s): {_first_line(exc)}; expected every rank to reach "
                f"the same collective (another rank died, left, or stopped calling it)"
            ) from exc

    def __repr__(self) -> str:
        return (
            f"ShardGroup(rank={self.rank}, world_size={self.world_size}, backend={self.backend!r}, "
            f"device={str(self.device)!r}, timeout_s={self.timeout.total_seconds():g})"
        )


def _seconds(value: object) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")
    if not ok:
        raise ConfigError(f"timeout_s must be a positive number of seconds, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
