"""A software prefetch for numba kernels: ask the CPU to start loading a table row early.

The rows a training step needs next (the next position's output word, its noise words, the word
entering the window) are random rows of tables larger than the L2 cache. Drawing the next noise
words one position ahead and prefetching their rows lets those loads overlap the current
position's arithmetic instead of stalling it. A prefetch never faults and changes no value.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch_row"]

_LINE_FLOATS = 16  # 64-byte cache lines of float32


@intrinsic
def _prefetch(typingctx, array, row, col):
    """``llvm.prefetch`` of the cache line holding ``array[row, col]`` (for writing, keep in all
    cache levels)."""
    sig = types.void(array, row, col)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [args[1], args[2]], wraparound=False)
        bytes_ptr = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [bytes_ptr, int32, int32, int32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, bytes_ptr), ir.Constant(int32, 1), ir.Constant(int32, 3),
                          ir.Constant(int32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def prefetch_row(table, row):
    """Prefetch every cache line of ``table[row]`` (a 2-D C-contiguous float32 table)."""
    for col in range(0, table.shape[1], _LINE_FLOATS):
        _prefetch(table, row, col)
