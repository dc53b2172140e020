"""``prefetch_row``: ask the CPU for a table row before the loop reaches it (a numba intrinsic).

The sparse optimizers update rows scattered over tables of hundreds of MB: every row is a cache
and TLB miss, and a loop that waits for each in turn runs at memory latency, not bandwidth.
Prefetching the rows a few iterations ahead overlaps those waits (bench/results/NOTES.md has the
measured gain). The intrinsics emit
``llvm.prefetch`` (write or read intent, high locality) for every 64-byte line of ``arr[row]``; it never
faults, so a stale or out-of-range row is harmless, but callers pass valid rows anyway.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["prefetch_row", "prefetch_row_read"]

_LINE = 64


def _make(write: int):
    def prefetch(typingctx, arr, row):
        if not isinstance(arr, types.Array) or arr.ndim != 2 or not isinstance(row, types.Integer):
            return None
        sig = types.void(arr, row)

        def codegen(context, builder, signature, args):
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            shape = cgutils.unpack_tuple(builder, ary.shape, 2)
            strides = cgutils.unpack_tuple(builder, ary.strides, 2)
            i64, i32 = ir.IntType(64), ir.IntType(32)
            i8p = ir.IntType(8).as_pointer()
            index = context.cast(builder, args[1], signature.args[1], types.intp)
            start = builder.add(builder.ptrtoint(ary.data, i64), builder.mul(index, strides[0]))
            nbytes = builder.mul(shape[1], strides[1])
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            with cgutils.for_range_slice(builder, ir.Constant(i64, 0), nbytes, ir.Constant(i64, _LINE)) as (off, _):
                address = builder.inttoptr(builder.add(start, off), i8p)
                # (address, rw: 0 read / 1 write, locality 3: keep in every level, cache type 1: data)
                builder.call(fn, [address, ir.Constant(i32, write), ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return sig, codegen

    return prefetch


_write = _make(1)
_write.__name__ = "prefetch_row"
_write.__doc__ = "``prefetch_row(arr, row)`` in numba code: prefetch row ``row`` of 2-D ``arr`` to write it."
prefetch_row = intrinsic(_write)

_read = _make(0)
_read.__name__ = "prefetch_row_read"
_read.__doc__ = "``prefetch_row_read(arr, row)`` in numba code: prefetch row ``row`` of 2-D ``arr`` to read it."
prefetch_row_read = intrinsic(_read)
