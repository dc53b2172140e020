"""The row arithmetic of word2vec training as numba intrinsics that emit LLVM vector code.

Written as numba loops (``kernels._mean_rows``, ``output_step``, ``_add_rows``, ``sg_window``),
every pass over a row reloads the vectors it combines the row with from memory, the hidden vector
and its gradient included, and ends in a loop remainder. Here those vectors stay in registers, as
``<16 x float>`` values the code is unrolled over, so a pass reads each row once and nothing else:

- ``mean_rows(syn0, rows, nrows, hidden)``: ``hidden = mean(syn0[rows[:nrows]])``;
- ``score_rows(hidden, syn1, outs, nout, scores)``: ``scores[o] = hidden · syn1[outs[o]]``;
- ``step_rows(hidden, syn1, outs, nout, coef, grad)``: ``grad += Σ_o coef[o] · syn1[outs[o]]``
  (from the rows as they were), then ``syn1[outs[o]] += coef[o] · hidden``;
- ``add_rows(syn0, rows, nrows, grad)``: ``syn0[rows[r]] += grad`` for every r < nrows, then
  ``grad = 0`` (cheaper here than a separate numba ``grad[:] = 0``, which costs as much as a row);
- ``cbow_forward``/``cbow_backward``: a whole CBOW example, the same four steps with the mean and
  its gradient never leaving registers (no reload between the steps, unlike the four calls);
- ``sg_forward``/``sg_backward``: a skip-gram window, ``nc`` context rows against ``nout`` output
  rows (``scores[c * nout + o]``); every context row gets ``Σ_o coef · syn1[outs[o]]`` and every
  output row ``Σ_c coef · syn0[ctx[c]]``, both from the rows as they were (the context rows'
  steps wait in ``scratch`` while the output rows are updated).

A repeated row gets every update, as in the loops. All work on tables of 16 to ``MAX_WIDTH``
float32 columns, a multiple of 16 (``fits``: the trainer pads its rows to that and callers check
it; on other tables these do nothing). The code is unrolled for each possible number of 16-float
vectors a row and picks the one it needs when it runs (bench/results/NOTES.md has the speed-up over
the loops). Sums are taken in another order than the loops', so results agree with them to
float32 rounding, not bit for bit.
"""

from __future__ import annotations

import inspect

from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = [
    "LANES",
    "MAX_WIDTH",
    "add_rows",
    "cbow_backward",
    "cbow_forward",
    "fits",
    "mean_rows",
    "score_rows",
    "sg_backward",
    "sg_forward",
    "step_rows",
]

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
        self.context, self.builder, self.signature, self.args = context, builder, signature, args
        self.arrays = {}
        for i, (ty, value) in enumerate(zip(signature.args, args)):
            if isinstance(ty, types.Array):
                self.arrays[i] = (ty, context.make_array(ty)(context, builder, value))

    def item(self, i: int, index) -> ir.Value:
        """Pointer to element ``index`` of 1-D argument ``i``."""
        ty, ary = self.arrays[i]
        return cgutils.get_item_pointer(self.context, self.builder, ty, ary, [index])

    def i64(self, i: int) -> ir.Value:
        """Integer argument ``i`` as an i64."""
        return self.context.cast(self.builder, self.args[i], self.signature.args[i], types.int64)

    def vectors(self, i: int) -> ir.Value:
        """``<16 x float>*`` to the start of 1-D argument ``i``."""
        return self.builder.bitcast(self.item(i, ir.Constant(_I64, 0)), _VEC.as_pointer())

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
        """Number of 16-float blocks in a row of 2-D argument ``i`` (or of 1-D argument ``i``);
        0 when its width is not a multiple of 16, so that no code runs (see ``fits``)."""
        _, ary = self.arrays[i]
        width = cgutils.unpack_tuple(self.builder, ary.shape)[-1]
        whole = self.builder.icmp_unsigned(
            "==", self.builder.urem(width, ir.Constant(_I64, LANES)), ir.Constant(_I64, 0)
        )
        return self.builder.select(whole, self.builder.udiv(width, ir.Constant(_I64, LANES)), ir.Constant(_I64, 0))


def _load(builder, row, b):
    return builder.load(builder.gep(row, [ir.Constant(_I64, b)]), align=4)


def _store(builder, value, row, b):
    builder.store(value, builder.gep(row, [ir.Constant(_I64, b)]), align=4)


def _splat(builder, scalar):
    vec = builder.insert_element(ir.Constant(_VEC, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(
        vec, ir.Constant(_VEC, ir.Undefined), ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
    )


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
        values = [
            builder.fadd(values[i], values[i + 1], flags=_FAST) if i + 1 < len(values) else values[i]
            for i in range(0, len(values), 2)
        ]
    return values[0]


def _load_row(builder, row, w):
    return [_load(builder, row, b) for b in range(w)]


def _dot(builder, u, row, w):
    """``u · row`` (``u``: w vectors in registers)."""
    return _hsum(
        builder, _tree_sum(builder, [builder.fmul(u[b], _load(builder, row, b), flags=_FAST) for b in range(w)])
    )


def _add_scaled(builder, slots, c, row, w):
    """``slots += c · row`` (``slots``: w accumulators, ``c`` a splatted scalar)."""
    for b in range(w):
        step = builder.fmul(c, _load(builder, row, b), flags=_FAST)
        builder.store(builder.fadd(builder.load(slots[b]), step, flags=_FAST), slots[b])


def _store_row(builder, values, row, w):
    for b in range(w):
        _store(builder, values[b], row, b)


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


def _accumulators(builder, w, start=None):
    """w vector variables (promoted to registers by LLVM), set to ``start`` (default zeros)."""
    slots = [cgutils.alloca_once(builder, _VEC) for _ in range(w)]
    for b, slot in enumerate(slots):
        builder.store(ir.Constant(_VEC, None) if start is None else start[b], slot)
    return slots


_KINDS = {
    "T": lambda ty: ty == types.Array(types.float32, 2, "C"),  # a table
    "v": lambda ty: ty == types.Array(types.float32, 1, "C"),  # a vector
    "i": lambda ty: isinstance(ty, types.Array) and ty.ndim == 1 and isinstance(ty.dtype, types.Integer),
    "n": lambda ty: isinstance(ty, types.Integer),
}


def _row_kernel(name: str, doc: str, kinds: str, width_of: int, emit):
    """The intrinsic ``name`` whose arguments are of ``kinds`` (one letter of ``_KINDS`` each);
    ``emit(a, builder, w)`` writes its code for rows of ``w`` blocks, ``w`` read from argument
    ``width_of``."""

    def typer(typingctx, *args):
        if len(args) != len(kinds) or not all(_KINDS[k](ty) for k, ty in zip(kinds, args)):
            return None

        def codegen(context, builder, signature, values):
            a = _Arrays(context, builder, signature, values)
            _for_each_width(builder, a.blocks(width_of), lambda w: emit(a, builder, w))
            return context.get_dummy_value()

        return types.void(*args), codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    params = ["typingctx", *(f"arg{i}" for i in range(len(kinds)))]  # numba reads the arity from here
    signature = inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_ONLY) for p in params])
    typer.__signature__ = signature  # type: ignore[attr-defined]  # what inspect.signature reads
    return intrinsic(typer)


def _mean(a, builder, w, table, rows, count):
    """The mean of rows ``rows[:count]`` of ``table`` (argument numbers), as w vectors."""
    sums = _accumulators(builder, w)
    n = a.i64(count)
    with cgutils.for_range(builder, n) as loop:
        row = a.row(table, a.load_int(rows, loop.index))
        for b in range(w):
            builder.store(builder.fadd(builder.load(sums[b]), _load(builder, row, b), flags=_FAST), sums[b])
    scale = _splat(builder, builder.fdiv(ir.Constant(_F32, 1.0), builder.sitofp(n, _F32)))
    return [builder.fmul(builder.load(sums[b]), scale, flags=_FAST) for b in range(w)]


def _scores(a, builder, w, h, table, outs, count, scores):
    """``scores[o] = h · table[outs[o]]``."""
    with cgutils.for_range(builder, a.i64(count)) as loop:
        builder.store(_dot(builder, h, a.row(table, a.load_int(outs, loop.index)), w), a.item(scores, loop.index))


def _steps(a, builder, w, h, grad, table, outs, count, coef):
    """``grad + Σ_o coef[o] · table[outs[o]]`` (rows as they were; returned), then
    ``table[outs[o]] += coef[o] · h``."""
    grads = _accumulators(builder, w, grad)
    with cgutils.for_range(builder, a.i64(count)) as loop:
        c = _splat(builder, builder.load(a.item(coef, loop.index)))
        _add_scaled(builder, grads, c, a.row(table, a.load_int(outs, loop.index)), w)
    with cgutils.for_range(builder, a.i64(count)) as loop:
        c = _splat(builder, builder.load(a.item(coef, loop.index)))
        _update_row(
            builder, a.row(table, a.load_int(outs, loop.index)), [builder.fmul(c, x, flags=_FAST) for x in h], w
        )
    return [builder.load(slot) for slot in grads]


def _adds(a, builder, w, g, table, rows, count):
    """``table[rows[r]] += g``."""
    with cgutils.for_range(builder, a.i64(count)) as loop:
        _update_row(builder, a.row(table, a.load_int(rows, loop.index)), g, w)


def _mean_rows(a, builder, w):
    _store_row(builder, _mean(a, builder, w, 0, 1, 2), a.vectors(3), w)


def _score_rows(a, builder, w):
    _scores(a, builder, w, _load_row(builder, a.vectors(0), w), 1, 2, 3, 4)


def _step_rows(a, builder, w):
    grad = a.vectors(5)
    g = _steps(a, builder, w, _load_row(builder, a.vectors(0), w), _load_row(builder, grad, w), 1, 2, 3, 4)
    _store_row(builder, g, grad, w)


def _add_rows(a, builder, w):
    grad = a.vectors(3)
    _adds(a, builder, w, _load_row(builder, grad, w), 0, 1, 2)
    _store_row(builder, [ir.Constant(_VEC, None)] * w, grad, w)


def _cbow_forward(a, builder, w):
    h = _mean(a, builder, w, 0, 1, 2)
    _store_row(builder, h, a.vectors(6), w)
    _scores(a, builder, w, h, 3, 4, 5, 7)


def _cbow_backward(a, builder, w):
    h = _load_row(builder, a.vectors(6), w)
    g = _steps(a, builder, w, h, [ir.Constant(_VEC, None)] * w, 3, 4, 5, 7)
    _adds(a, builder, w, g, 0, 1, 2)


def _sg_scores(a, builder, w):
    nout = a.i64(5)
    with cgutils.for_range(builder, a.i64(2)) as outer:
        u = _load_row(builder, a.row(0, a.load_int(1, outer.index)), w)
        base = builder.mul(outer.index, nout)
        with cgutils.for_range(builder, nout) as inner:
            score = _dot(builder, u, a.row(3, a.load_int(4, inner.index)), w)
            builder.store(score, a.item(6, builder.add(base, inner.index)))


def _sg_steps(a, builder, w):
    nc, nout = a.i64(2), a.i64(5)

    def coefficient(c, o):
        return _splat(builder, builder.load(a.item(6, builder.add(builder.mul(c, nout), o))))

    with cgutils.for_range(builder, nc) as outer:  # the context rows' steps, kept aside
        slots = _accumulators(builder, w)
        with cgutils.for_range(builder, nout) as inner:
            _add_scaled(builder, slots, coefficient(outer.index, inner.index), a.row(3, a.load_int(4, inner.index)), w)
        _store_row(builder, [builder.load(x) for x in slots], a.row(7, outer.index), w)
    with cgutils.for_range(builder, nout) as outer:
        slots = _accumulators(builder, w)
        with cgutils.for_range(builder, nc) as inner:
            _add_scaled(builder, slots, coefficient(inner.index, outer.index), a.row(0, a.load_int(1, inner.index)), w)
        _update_row(builder, a.row(3, a.load_int(4, outer.index)), [builder.load(x) for x in slots], w)
    with cgutils.for_range(builder, nc) as outer:
        _update_row(builder, a.row(0, a.load_int(1, outer.index)), _load_row(builder, a.row(7, outer.index), w), w)


mean_rows = _row_kernel(
    "mean_rows",
    "``mean_rows(syn0, rows, nrows, hidden)``: ``hidden`` (W,) = mean of ``syn0[rows[:nrows]]`` (nrows >= 1).",
    "Tinv",
    0,
    _mean_rows,
)
score_rows = _row_kernel(
    "score_rows",
    "``score_rows(hidden, syn1, outs, nout, scores)``: ``scores[o] = hidden · syn1[outs[o]]``.",
    "vTinv",
    1,
    _score_rows,
)
step_rows = _row_kernel(
    "step_rows",
    "``step_rows(hidden, syn1, outs, nout, coef, grad)``: ``grad += Σ_o coef[o] · "
    "syn1[outs[o]]`` (rows as they were), then ``syn1[outs[o]] += coef[o] · hidden``.",
    "vTinvv",
    1,
    _step_rows,
)
add_rows = _row_kernel(
    "add_rows",
    "``add_rows(syn0, rows, nrows, grad)``: ``syn0[rows[r]] += grad`` for every "
    "r < nrows, then ``grad = 0``, ready for the next example.",
    "Tinv",
    0,
    _add_rows,
)
cbow_forward = _row_kernel(
    "cbow_forward",
    "``cbow_forward(syn0, rows, nrows, syn1, outs, nout, hidden, scores)``: "
    "``mean_rows`` then ``score_rows``, the mean kept in registers between them.",
    "TinTinvv",
    0,
    _cbow_forward,
)
cbow_backward = _row_kernel(
    "cbow_backward",
    "``cbow_backward(syn0, rows, nrows, syn1, outs, nout, hidden, coef)``: "
    "``step_rows`` from a zero gradient, then ``add_rows``, the gradient kept in registers.",
    "TinTinvv",
    0,
    _cbow_backward,
)
sg_forward = _row_kernel(
    "sg_forward",
    "``sg_forward(syn0, ctx, nc, syn1, outs, nout, scores)``: ``scores[c * nout + o] = syn0[ctx[c]] · syn1[outs[o]]``.",
    "TinTinv",
    0,
    _sg_scores,
)
sg_backward = _row_kernel(
    "sg_backward",
    "``sg_backward(syn0, ctx, nc, syn1, outs, nout, coef, scratch)``: "
    "``syn0[ctx[c]] += Σ_o coef · syn1[outs[o]]`` and ``syn1[outs[o]] += Σ_c coef · "
    "syn0[ctx[c]]``, from the rows as they were; ``scratch`` (>= nc, W) float32.",
    "TinTinvT",
    0,
    _sg_steps,
)
