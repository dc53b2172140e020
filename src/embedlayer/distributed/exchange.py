"""Routing a rank's ids to the ranks that own their rows, and the answers back.

Every lookup of a sharded table runs the same two steps on every rank, whatever its batch:

1. **counts**: each rank tells each other rank how many items it will send it (and, for bags, how
   many pooled rows it expects back), plus an error flag with the first out-of-range id it found.
   The flag travels in the same ``all_to_all`` as the counts, so when one rank has a bad id every
   rank raises together (:class:`~embedlayer.errors.IdOutOfRangeError` naming that rank and id)
   instead of the others waiting in the next collective;
2. **items**: the ids (and for bags their bag segment and weight) go to their owners in one
   ``all_to_all_single`` each, sorted by owner so each owner's items are one contiguous block.

The routes here are plain data; :mod:`.autograd` sends rows and gradients along them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from embedlayer.distributed.group import ShardGroup
from embedlayer.distributed.plan import RowShard
from embedlayer.errors import IdOutOfRangeError

__all__ = ["BagRoute", "Route", "exchange_counts", "first_bad", "route_bags", "route_ids"]


@dataclass
class Route:
    """How one rank's distinct ids go to their owners (an unpooled lookup).

    Attributes:
        send: (W,) how many distinct ids this rank sends each rank (the rows it gets back).
        recv: (W,) how many ids each rank sends here (the rows this rank answers).
        local_ids: (sum(recv),) int64 the received ids as rows of this rank's shard.
    """

    send: list[int]
    recv: list[int]
    local_ids: Tensor


@dataclass
class BagRoute:
    """How one rank's (bag, id, weight) entries go to their owners and pooled rows come back.

    Every owner pools the entries it gets into *segments*: one per (sending rank, bag) pair that
    has an id of its shard. Segments come back as one row each and are added into their bag.

    Attributes:
        send_entries, recv_entries: (W,) entries sent to / received from each rank.
        send_segments, recv_segments: (W,) segments this rank gets back from / answers to each rank.
        segment_bag: (sum(send_segments),) int64 the bag of each segment this rank gets back.
        local_ids: (sum(recv_entries),) int64 received ids as rows of this rank's shard.
        local_segment: (sum(recv_entries),) int64 the segment (among all received) of each entry.
        weights: (sum(recv_entries),) float32 the weight of each received entry.
    """

    send_entries: list[int]
    recv_entries: list[int]
    send_segments: list[int]
    recv_segments: list[int]
    segment_bag: Tensor
    local_ids: Tensor
    local_segment: Tensor
    weights: Tensor


def route_ids(
    group: ShardGroup, shard: RowShard, unique_ids: Tensor, bad: tuple[int, int] | None, *, what: str
) -> Route:
    """Send the distinct, sorted ``unique_ids`` (U,) int64 to their owners; ``bad`` is
    :func:`first_bad` of the caller's ids (then nothing is sent and every rank raises).

    Raises:
        IdOutOfRangeError: on every rank, when an id on any rank is outside [0, N).
        DistributedError: another rank died or timed out.
    """
    if bad is not None:
        unique_ids = unique_ids[:0]
    send = torch.bincount(shard.owner(unique_ids), minlength=shard.world_size)
    recv = exchange_counts(group, shard, send.reshape(-1, 1), bad, what=what)
    send_list, recv_list = send.tolist(), recv[:, 0].tolist()
    received = group.all_to_all(unique_ids, send_list, recv_list, what=f"{what}: ids")
    start, _ = shard.range(group.rank)
    return Route(send_list, recv_list, received - start)


def route_bags(
    group: ShardGroup,
    shard: RowShard,
    bag: Tensor,
    ids: Tensor,
    weights: Tensor,
    bad: tuple[int, int] | None,
    *,
    what: str,
) -> BagRoute:
    """Send entries (bag (E,), id (E,), weight (E,)) to the owners of their ids; entries with the
    same (bag, id) are merged first (their weights added). ``bad``: as in :func:`route_ids`.

    Raises:
        IdOutOfRangeError: on every rank, when an id on any rank is outside [0, N).
        DistributedError: another rank died or timed out.
    """
    if bad is not None:
        bag, ids, weights = bag[:0], ids[:0], weights[:0]
    # merge duplicate (bag, id) pairs; unique keys sort by bag, then id
    key, inverse = torch.unique(bag * shard.num_rows + ids, return_inverse=True)
    merged = torch.zeros(key.shape[0], dtype=torch.float32).index_add_(0, inverse, weights.float())
    bag, ids = torch.div(key, shard.num_rows, rounding_mode="floor"), key % shard.num_rows
    owner = shard.owner(ids)
    order = torch.argsort(owner, stable=True)  # by owner, then bag, then id
    bag, ids, merged, owner = bag[order], ids[order], merged[order], owner[order]
    # a segment starts where the owner or the bag changes
    starts = torch.ones(bag.shape[0], dtype=torch.bool)
    if bag.shape[0] > 1:
        starts[1:] = (owner[1:] != owner[:-1]) | (bag[1:] != bag[:-1])
    segment = torch.cumsum(starts.long(), 0) - 1  # (E,) global segment index on this rank
    send_entries = torch.bincount(owner, minlength=shard.world_size)
    send_segments = torch.bincount(owner[starts], minlength=shard.world_size)
    first_segment = torch.cumsum(send_segments, 0) - send_segments  # per owner
    relative = segment - first_segment[owner]  # segment index within its owner's block
    counts = torch.stack([send_entries, send_segments], dim=1)
    recv = exchange_counts(group, shard, counts, bad, what=what)
    send_list, recv_list = send_entries.tolist(), recv[:, 0].tolist()
    pairs = group.all_to_all(torch.stack([ids, relative], dim=1), send_list, recv_list, what=f"{what}: ids")
    got_weights = group.all_to_all(merged, send_list, recv_list, what=f"{what}: weights")
    recv_segments = recv[:, 1]
    source_first = torch.cumsum(recv_segments, 0) - recv_segments  # first segment of each source
    source = torch.repeat_interleave(torch.arange(shard.world_size), recv[:, 0])
    start, _ = shard.range(group.rank)
    return BagRoute(
        send_entries=send_list,
        recv_entries=recv_list,
        send_segments=send_segments.tolist(),
        recv_segments=recv_segments.tolist(),
        segment_bag=bag[starts],
        local_ids=pairs[:, 0] - start,
        local_segment=pairs[:, 1] + source_first[source],
        weights=got_weights,
    )


def exchange_counts(
    group: ShardGroup, shard: RowShard, counts: Tensor, bad: tuple[int, int] | None, *, what: str
) -> Tensor:
    """Exchange per-destination counts (W, k) int64, with this rank's error flag; returns the
    counts every rank sends here, (W, k).

    Raises:
        IdOutOfRangeError: some rank (this one or another) flagged an out-of-range id.
        DistributedError: another rank died or timed out.
    """
    k = counts.shape[1]
    flag = torch.tensor([1, *bad] if bad is not None else [0, 0, 0], dtype=torch.int64)
    message = torch.cat([counts.long(), flag.expand(shard.world_size, 3)], dim=1)  # (W, k + 3)
    ones = [k + 3] * shard.world_size
    got = group.all_to_all(message.reshape(-1), ones, ones, what=f"{what}: counts").reshape(shard.world_size, k + 3)
    flagged = torch.nonzero(got[:, k]).reshape(-1)
    if flagged.numel():
        rank = int(flagged[0])
        value, position = int(got[rank, k + 1]), int(got[rank, k + 2])
        raise IdOutOfRangeError(
            f"{what}: id {value} on rank {rank} (position {position} of that rank's ids) is out of range "
            f"for a sharded table of {shard.num_rows} rows; expected 0 <= id < {shard.num_rows} "
            f"(raised on every rank; this is rank {group.rank})"
        )
    return got[:, :k]


def first_bad(ids: Tensor, num_rows: int) -> tuple[int, int] | None:
    """(value, position) of the first id of ``ids`` (N,) outside [0, num_rows), or None."""
    if not ids.numel():
        return None
    bad = (ids < 0) | (ids >= num_rows)
    if not bool(bad.any()):
        return None
    position = int(torch.nonzero(bad)[0])
    return int(ids[position]), position
