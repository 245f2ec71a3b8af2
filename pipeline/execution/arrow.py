"""Arrow arrays built from NumPy buffers, and read back, without pyarrow's pandas shim.

pyarrow imports pandas (~0.16 s of CPU, more on a loaded machine) the first time it converts
Python or NumPy values (`pa.array`, `pa.scalar`, `Array.to_numpy`, `Schema.empty_table`): its
shim first asks whether the value is a pandas object. The corpus stages never hold pandas
objects, so their hot path builds arrays from buffers instead (`pa.Array.from_buffers` over the
NumPy data, the layout Arrow's format defines) and reads integer arrays back through their data
buffer. The arrays are equal to those `pa.array` gives, so the files written from them are the
same bytes (`tests/pipeline/test_arrow.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def _bitmap(values: np.ndarray) -> pa.Buffer:
    """Arrow's bit-packed boolean layout: least significant bit first."""
    return pa.py_buffer(np.packbits(np.asarray(values, dtype=bool), bitorder="little"))


def bool_array(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, _bitmap(values)])


def int64_array(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def string_array(values: Sequence[str | None]) -> pa.Array:
    """UTF-8 strings; None is null."""
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    data = [v.encode() if v is not None else b"" for v in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise ValueError(f"{offsets[-1]} bytes of strings: more than one Arrow string array")
    buffers = [
        None if valid.all() else _bitmap(valid),
        pa.py_buffer(offsets.astype(np.int32)),
        pa.py_buffer(b"".join(data)),
    ]
    return pa.Array.from_buffers(
        pa.string(), len(values), buffers, null_count=int(len(values) - valid.sum())
    )


def to_numpy(array: pa.Array) -> np.ndarray:
    """A copy of a null-free, fixed-width integer array's values."""
    if array.null_count:
        raise ValueError("to_numpy: the array holds nulls")
    dtype = _NUMPY[array.type]
    data = array.buffers()[1]
    view = np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)
    return view.copy()


_NUMPY = {
    pa.int8(): np.dtype(np.int8),
    pa.int32(): np.dtype(np.int32),
    pa.int64(): np.dtype(np.int64),
    pa.uint64(): np.dtype(np.uint64),
}


def empty_table(schema: pa.Schema) -> pa.Table:
    return pa.Table.from_batches([], schema=schema)
