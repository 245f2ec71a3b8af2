"""Arrays built from buffers equal pyarrow's own conversions, and so do the files written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.execution import arrow

STRINGS = ["exact_duplicate", None, "", "near_duplicate", "é ß 😀", None]


def test_arrays_equal_pyarrow_conversions() -> None:
    mask = np.array([True, False, True, True, False, False, True, False, True])
    assert arrow.bool_array(mask).equals(pa.array(mask.tolist(), pa.bool_()))
    ints = np.array([3, -1, 0, 2**40], dtype=np.int64)
    assert arrow.int64_array(ints).equals(pa.array(ints.tolist(), pa.int64()))
    assert arrow.int64_array(ints[::2]).equals(pa.array(ints[::2].tolist(), pa.int64()))
    assert arrow.string_array(STRINGS).equals(pa.array(STRINGS, pa.string()))
    assert arrow.string_array(["a", "b"]).null_count == 0
    assert arrow.string_array([]).equals(pa.array([], pa.string()))


def test_to_numpy_reads_slices_and_refuses_nulls() -> None:
    values = pa.array([5, 6, 7, 8], pa.uint64()).slice(1, 2)
    assert arrow.to_numpy(values).tolist() == [6, 7]
    with pytest.raises(ValueError, match="nulls"):
        arrow.to_numpy(pa.array([1, None], pa.int64()))


def test_written_files_are_the_same_bytes(tmp_path: Path) -> None:
    built = pa.table({"reason": arrow.string_array(STRINGS)})
    converted = pa.table({"reason": pa.array(STRINGS, pa.string())})
    pq.write_table(built, tmp_path / "a.parquet", compression="zstd")
    pq.write_table(converted, tmp_path / "b.parquet", compression="zstd")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert arrow.empty_table(built.schema).equals(built.schema.empty_table())


def test_building_arrays_does_not_import_pandas() -> None:
    code = (
        "import sys, numpy as np\n"
        "from pipeline.execution import arrow\n"
        "arrow.string_array(['a', None]); arrow.int64_array(np.arange(3))\n"
        "arrow.bool_array(np.ones(3, bool)); arrow.to_numpy(arrow.int64_array(np.arange(3)))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
