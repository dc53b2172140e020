"""CBOW examples and skip-gram windows with their vectors in registers (numba intrinsics that
emit LLVM vector code).

A CBOW example reads ``nrows`` input rows and ``nout`` output rows (the word and its noise
words) and writes all of them back. Written as plain loops (``kernels._mean_rows``,
``output_step``, ``_add_rows``), the hidden vector and its gradient live in memory and every row
pass reloads them; here they stay in registers, as ``<16 x float>`` values the code is unrolled
over, so each row is read once per pass and nothing else is:

- ``cbow_forward``: ``hidden = mean(syn0[rows])`` (also stored in ``hidden``, for the backward
  step), then ``scores[o] = hidden · syn1[outs[o]]``;
- ``cbow_backward``: with ``coef[o] = -lr * (σ(score_o) - label_o)``, ``grad = Σ_o coef[o] ·
  syn1[outs[o]]`` from the rows as they were, then ``syn1[outs[o]] += coef[o] · hidden`` and
  ``syn0[rows[r]] += grad`` for every occurrence (a repeated row gets every update, as in the loops).

A skip-gram window (``kernels.sg_window``) scores ``nc`` context rows against ``nout`` output rows:

- ``sg_forward``: ``scores[c * nout + o] = syn0[ctx[c]] · syn1[outs[o]]``;
- ``sg_backward``: with ``coef`` in the same layout, every context row gets
  ``Σ_o coef · syn1[outs[o]]`` and every output row ``Σ_c coef · syn0[ctx[c]]``, both from the
  rows as they were (the context rows' steps wait in ``scratch`` while the output rows are updated).

Both work on tables of 16 to ``MAX_WIDTH`` float32 columns, a multiple of 16 (``fits``): the
trainer pads its rows to that. The code is unrolled for each possible number of 16-float blocks
and picks the one it needs when it runs (1.5-1.7x faster than the loops at dim 100 and at 300). Sums are taken in another order than the loops', so
results agree with them to float32 rounding, not bit for bit.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["LANES", "MAX_WIDTH", "cbow_backward", "cbow_forward", "fits", "sg_backward", "sg_forward"]

LANES = 16  # floats in one vector (an AVX-512 register; LLVM splits it on narrower machines)
MAX_WIDTH = 20 * LANES  # dims up to 320 (300 included); past 16 blocks LLVM spills some to the stack

_F32 = ir.FloatType()
_VEC = ir.VectorType(_F32, LANES)
_I64 = ir.IntType(64)
_FAST = ("fast",)


@njit(inline="always")
def fits(width: int) -> bool:
    """Whether tables ``width`` floats wide take the fused path."""
    return 0 < width <= MAX_WIDTH and width % LANES == 0


class _Arrays:
    """Helpers to reach array elements and table rows from the intrinsics' code."""

    def __init__(self, context, builder, signature, args):
        self.context, self.builder = context, builder
        self.arrays = {}
        for i, (ty, value) in enumerate(zip(signature.args, args)):
            if isinstance(ty, types.Array):
                self.arrays[i] = (ty, context.make_array(ty)(context, builder, value))

    def item(self, i: int, index) -> ir.Value:
        """Pointer to element ``index`` of 1-D argument ``i``."""
        ty, ary = self.arrays[i]
        return cgutils.get_item_pointer(self.context, self.builder, ty, ary, [index])

    def load_int(self, i: int, index) -> ir.Value:
        ty, _ = self.arrays[i]
        return self.context.cast(self.builder, self.builder.load(self.item(i, index)), ty.dtype, types.int64)

    def row(self, i: int, index) -> ir.Value:
        """``<16 x float>*`` to the start of row ``index`` of 2-D argument ``i``."""
        _, ary = self.arrays[i]
        stride = cgutils.unpack_tuple(self.builder, ary.strides, 2)[0]
        address = self.builder.add(self.builder.ptrtoint(ary.data, _I64), self.builder.mul(index, stride))
        return self.builder.inttoptr(address, _VEC.as_pointer())

    def blocks(self, i: int) -> ir.Value:
        """Number of 16-float blocks in a row of 2-D argument ``i`` (or of 1-D argument ``i``)."""
        _, ary = self.arrays[i]
        shape = cgutils.unpack_tuple(self.builder, ary.shape)
        return self.builder.udiv(shape[-1], ir.Constant(_I64, LANES))


def _load(builder, row, b):
    return builder.load(builder.gep(row, [ir.Constant(_I64, b)]), align=4)


def _store(builder, value, row, b):
    builder.store(value, builder.gep(row, [ir.Constant(_I64, b)]), align=4)


def _splat(builder, scalar):
    vec = builder.insert_element(ir.Constant(_VEC, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(vec, ir.Constant(_VEC, ir.Undefined), ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))


def _hsum(builder, vec):
    """Sum of the 16 lanes of ``vec`` (halving: 8 + 4 + 2 + 1 adds)."""
    width = LANES
    while width > 1:
        width //= 2
        mask = ir.Constant(ir.VectorType(ir.IntType(32), width), list(range(width)))
        high = ir.Constant(ir.VectorType(ir.IntType(32), width), list(range(width, 2 * width)))
        vec = builder.fadd(builder.shuffle_vector(vec, vec, mask), builder.shuffle_vector(vec, vec, high), flags=_FAST)
    return builder.extract_element(vec, ir.Constant(ir.IntType(32), 0))


def _tree_sum(builder, values):
    while len(values) > 1:
        values = [builder.fadd(values[i], values[i + 1], flags=_FAST) if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


def _load_row(builder, row, w):
    return [_load(builder, row, b) for b in range(w)]


def _dot(builder, u, row, w):
    """``u · row`` (``u``: w vectors in registers)."""
    return _hsum(builder, _tree_sum(builder, [builder.fmul(u[b], _load(builder, row, b), flags=_FAST) for b in range(w)]))


def _add_scaled(builder, slots, c, row, w):
    """``slots += c · row`` (``slots``: w accumulators, ``c`` a splatted scalar)."""
    for b in range(w):
        step = builder.fmul(c, _load(builder, row, b), flags=_FAST)
        builder.store(builder.fadd(builder.load(slots[b]), step, flags=_FAST), slots[b])


def _update_row(builder, row, step, w):
    """``row += step`` (``step``: w vectors)."""
    for b in range(w):
        _store(builder, builder.fadd(_load(builder, row, b), step[b], flags=_FAST), row, b)


def _for_each_width(builder, nblocks, emit):
    """Run ``emit(w)`` (code unrolled for ``w`` blocks) for the ``w`` equal to ``nblocks`` at run time."""
    done = builder.append_basic_block("widths.done")
    switch = builder.switch(nblocks, done)
    for w in range(1, MAX_WIDTH // LANES + 1):
        case = builder.append_basic_block(f"width.{w}")
        switch.add_case(ir.Constant(_I64, w), case)
        builder.position_at_end(case)
        emit(w)
        builder.branch(done)
    builder.position_at_end(done)


def _accumulators(builder, w):
    slots = [cgutils.alloca_once(builder, _VEC) for _ in range(w)]  # promoted to registers by LLVM
    for slot in slots:
        builder.store(ir.Constant(_VEC, None), slot)
    return slots


_TABLE = types.Array(types.float32, 2, "C")


def _vector(ty) -> bool:
    return isinstance(ty, types.Array) and ty.ndim == 1 and ty.dtype == types.float32


def _index(ty) -> bool:
    return isinstance(ty, types.Array) and ty.ndim == 1 and isinstance(ty.dtype, types.Integer)


def _check(syn0, rows, nrows, syn1, outs, nout, hidden, last) -> bool:
    return (syn0 == _TABLE and syn1 == _TABLE and _index(rows) and _index(outs) and _vector(hidden)
            and _vector(last) and isinstance(nrows, types.Integer) and isinstance(nout, types.Integer))


@intrinsic
def cbow_forward(typingctx, syn0, rows, nrows, syn1, outs, nout, hidden, scores):
    """``cbow_forward(syn0, rows, nrows, syn1, outs, nout, hidden, scores)``: ``hidden`` (W,) =
    mean of ``syn0[rows[:nrows]]``; ``scores[o]`` = ``hidden · syn1[outs[o]]`` for o < nout.
    Tables (V, W) float32 C-contiguous with ``fits(W)``; ``nrows`` >= 1."""
    if not _check(syn0, rows, nrows, syn1, outs, nout, hidden, scores):
        return None
    sig = types.void(syn0, rows, nrows, syn1, outs, nout, hidden, scores)

    def codegen(context, builder, signature, args):
        a = _Arrays(context, builder, signature, args)
        count = context.cast(builder, args[2], signature.args[2], types.int64)
        nout_ = context.cast(builder, args[5], signature.args[5], types.int64)

        def emit(w):
            sums = _accumulators(builder, w)
            with cgutils.for_range(builder, count) as loop:
                row = a.row(0, a.load_int(1, loop.index))
                for b in range(w):
                    builder.store(builder.fadd(builder.load(sums[b]), _load(builder, row, b), flags=_FAST), sums[b])
            scale = _splat(builder, builder.fdiv(ir.Constant(_F32, 1.0), builder.sitofp(count, _F32)))
            h = [builder.fmul(builder.load(sums[b]), scale, flags=_FAST) for b in range(w)]
            out = builder.bitcast(a.item(6, ir.Constant(_I64, 0)), _VEC.as_pointer())
            for b in range(w):
                _store(builder, h[b], out, b)
            with cgutils.for_range(builder, nout_) as loop:
                builder.store(_dot(builder, h, a.row(3, a.load_int(4, loop.index)), w), a.item(7, loop.index))

        _for_each_width(builder, a.blocks(0), emit)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def cbow_backward(typingctx, syn0, rows, nrows, syn1, outs, nout, hidden, coef):
    """``cbow_backward(syn0, rows, nrows, syn1, outs, nout, hidden, coef)``: with ``coef`` (nout,)
    float32, ``grad = Σ_o coef[o] · syn1[outs[o]]`` (rows as they were), then
    ``syn1[outs[o]] += coef[o] · hidden`` and ``syn0[rows[r]] += grad`` for every r < nrows."""
    if not _check(syn0, rows, nrows, syn1, outs, nout, hidden, coef):
        return None
    sig = types.void(syn0, rows, nrows, syn1, outs, nout, hidden, coef)

    def codegen(context, builder, signature, args):
        a = _Arrays(context, builder, signature, args)
        count = context.cast(builder, args[2], signature.args[2], types.int64)
        nout_ = context.cast(builder, args[5], signature.args[5], types.int64)

        def emit(w):
            h = _load_row(builder, builder.bitcast(a.item(6, ir.Constant(_I64, 0)), _VEC.as_pointer()), w)
            grads = _accumulators(builder, w)
            with cgutils.for_range(builder, nout_) as loop:
                c = _splat(builder, builder.load(a.item(7, loop.index)))
                _add_scaled(builder, grads, c, a.row(3, a.load_int(4, loop.index)), w)
            with cgutils.for_range(builder, nout_) as loop:
                c = _splat(builder, builder.load(a.item(7, loop.index)))
                _update_row(builder, a.row(3, a.load_int(4, loop.index)), [builder.fmul(c, x, flags=_FAST) for x in h], w)
            g = [builder.load(slot) for slot in grads]
            with cgutils.for_range(builder, count) as loop:
                _update_row(builder, a.row(0, a.load_int(1, loop.index)), g, w)

        _for_each_width(builder, a.blocks(0), emit)
        return context.get_dummy_value()

    return sig, codegen


def _sg_check(syn0, ctx, nc, syn1, outs, nout, last) -> bool:
    return (syn0 == _TABLE and syn1 == _TABLE and _index(ctx) and _index(outs) and _vector(last)
            and isinstance(nc, types.Integer) and isinstance(nout, types.Integer))


@intrinsic
def sg_forward(typingctx, syn0, ctx, nc, syn1, outs, nout, scores):
    """``sg_forward(syn0, ctx, nc, syn1, outs, nout, scores)``: ``scores[c * nout + o]`` =
    ``syn0[ctx[c]] · syn1[outs[o]]`` for c < nc, o < nout. Tables as for ``cbow_forward``."""
    if not _sg_check(syn0, ctx, nc, syn1, outs, nout, scores):
        return None
    sig = types.void(syn0, ctx, nc, syn1, outs, nout, scores)

    def codegen(context, builder, signature, args):
        a = _Arrays(context, builder, signature, args)
        nc_ = context.cast(builder, args[2], signature.args[2], types.int64)
        nout_ = context.cast(builder, args[5], signature.args[5], types.int64)

        def emit(w):
            with cgutils.for_range(builder, nc_) as outer:
                u = _load_row(builder, a.row(0, a.load_int(1, outer.index)), w)
                base = builder.mul(outer.index, nout_)
                with cgutils.for_range(builder, nout_) as inner:
                    score = _dot(builder, u, a.row(3, a.load_int(4, inner.index)), w)
                    builder.store(score, a.item(6, builder.add(base, inner.index)))

        _for_each_width(builder, a.blocks(0), emit)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def sg_backward(typingctx, syn0, ctx, nc, syn1, outs, nout, coef, scratch):
    """``sg_backward(syn0, ctx, nc, syn1, outs, nout, coef, scratch)``: with ``coef[c * nout + o]``
    float32, ``syn0[ctx[c]] += Σ_o coef · syn1[outs[o]]`` and ``syn1[outs[o]] += Σ_c coef ·
    syn0[ctx[c]]``, all from the rows as they were; ``scratch`` (>= nc, W) float32."""
    if not (_sg_check(syn0, ctx, nc, syn1, outs, nout, coef) and scratch == _TABLE):
        return None
    sig = types.void(syn0, ctx, nc, syn1, outs, nout, coef, scratch)

    def codegen(context, builder, signature, args):
        a = _Arrays(context, builder, signature, args)
        nc_ = context.cast(builder, args[2], signature.args[2], types.int64)
        nout_ = context.cast(builder, args[5], signature.args[5], types.int64)

        def coefficient(c, o):
            return _splat(builder, builder.load(a.item(6, builder.add(builder.mul(c, nout_), o))))

        def emit(w):
            with cgutils.for_range(builder, nc_) as outer:  # the context rows' steps, kept aside
                slots = _accumulators(builder, w)
                with cgutils.for_range(builder, nout_) as inner:
                    _add_scaled(builder, slots, coefficient(outer.index, inner.index),
                                a.row(3, a.load_int(4, inner.index)), w)
                keep = a.row(7, outer.index)
                for b in range(w):
                    _store(builder, builder.load(slots[b]), keep, b)
            with cgutils.for_range(builder, nout_) as outer:
                slots = _accumulators(builder, w)
                with cgutils.for_range(builder, nc_) as inner:
                    _add_scaled(builder, slots, coefficient(inner.index, outer.index),
                                a.row(0, a.load_int(1, inner.index)), w)
                _update_row(builder, a.row(3, a.load_int(4, outer.index)), [builder.load(x) for x in slots], w)
            with cgutils.for_range(builder, nc_) as outer:
                _update_row(builder, a.row(0, a.load_int(1, outer.index)), _load_row(builder, a.row(7, outer.index), w), w)

        _for_each_width(builder, a.blocks(0), emit)
        return context.get_dummy_value()

    return sig, codegen
