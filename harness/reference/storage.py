"""The checkpoint layout on disk, as DataDesigner lays it out.

```
<artifact_root>/<dataset_name>/
  metadata.json                      # atomic: temp file + os.replace
  parquet-files/batch_NNNNN.parquet  # one per completed row group, NNNNN = group id
  tmp-partial-parquet-files/         # a group is written here, then renamed into place
```
Nothing is fsynced: the faults the harness injects stop processes, and a rename within one
directory is atomic with respect to a process stop. The `tear` fault simulates the one
thing that is not (a power cut after an un-fsynced rename).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from array import array
from itertools import accumulate
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_DIR = "parquet-files"
PARTIAL_DIR = "tmp-partial-parquet-files"
METADATA = "metadata.json"
_BATCH = re.compile(r"^batch_(\d{5,})\.parquet$")
_WRITE_OPTIONS = {"compression": "none", "write_statistics": False, "use_dictionary": False}


def group_file_name(group_id: int) -> str:
    return f"batch_{group_id:05d}.parquet"


def write_group(dataset_dir: Path, group_id: int, rows: list[dict[str, Any]],
                notes: dict[str, Any] | None = None) -> Path:
    """Write one row group to the partial directory, then rename it into place
    (`prepare_dataset_dir` made both directories). `notes` go into the file's own metadata
    (`NOTES_KEY`), so they land with the rows or not at all."""
    name = group_file_name(group_id)
    base = os.fspath(dataset_dir)
    partial = os.path.join(base, PARTIAL_DIR, name)
    final = os.path.join(base, PARQUET_DIR, name)
    table = rows_to_table(rows) if rows else pa.table({})
    if notes:
        table = table.replace_schema_metadata({NOTES_KEY: json.dumps(notes, sort_keys=True)})
    write_parquet(partial, table)
    os.replace(partial, final)
    return Path(final)


#: a data file's own metadata: what the reference notes about its rows (`group_notes`)
NOTES_KEY = b"resume_harness"


def group_notes(dataset_dir: Path) -> dict[int, dict[str, Any]]:
    """Group id -> the notes its data file carries (only files that carry some; an
    unreadable file carries none)."""
    found: dict[int, dict[str, Any]] = {}
    for group_id, path in _group_files(dataset_dir):
        try:
            meta = pq.ParquetFile(pa.BufferReader(read_bytes(path))).schema_arrow.metadata or {}
        except (OSError, pa.ArrowException):
            continue
        if NOTES_KEY in meta:
            found[group_id] = json.loads(meta[NOTES_KEY])
    return found


def write_parquet(path: str | Path, table: pa.Table) -> None:
    """The table as one uncompressed parquet file: encoded in memory, written with one
    system call (pyarrow's own file path resolution costs more than the write)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **_WRITE_OPTIONS)
    write_bytes(path, sink.getvalue())


def write_bytes(path: str | Path, data: Any) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def read_bytes(path: str | Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows to a table, the schema taken from the first row (pyarrow's own inference
    costs twenty times more than the write itself)."""
    columns = list(rows[0])
    return columns_to_table({c: [row[c] for row in rows] for c in columns})


def columns_to_table(columns: dict[str, list[Any]]) -> pa.Table:
    """Columns of Python values (int, float, bool, naive datetime or str, any of them null)
    to a table, built from raw buffers.

    `pa.array` would do, but every call of it imports pandas (pyarrow checks every input for
    a pandas object), which triples the memory of every process the harness forks and so
    the cost of each `kill` fault, and costs each child a fifth of a second."""
    return pa.Table.from_arrays([_array(values) for values in columns.values()], names=list(columns))


_EPOCH = datetime.datetime(1970, 1, 1)


def _array(values: list[Any]) -> pa.Array:
    present = [v for v in values if v is not None]
    n = len(values)
    if not present:
        return pa.nulls(n)
    kind = type(present[0])
    nulls = len(present) < n
    validity = _bitmap([v is not None for v in values]) if nulls else None
    if kind is bool:
        return pa.Array.from_buffers(pa.bool_(), n, [validity, _bitmap([bool(v) for v in values])])
    if kind is int and any(not -2**63 <= v < 2**63 for v in present):  # what a reader made of a large int
        if min(present) >= 0 and max(present) < 2**64:
            return pa.array(values, type=pa.uint64())
        # (pyarrow converts no int beyond int64 to a double: the double it stands for, such as
        # a CSV's "1e100", an integral double a reader's conversion made an int)
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    if kind is int:
        return pa.Array.from_buffers(pa.int64(), n, [validity, pa.py_buffer(array("q", (v or 0 for v in values)))])
    if kind is float:
        return pa.Array.from_buffers(pa.float64(), n, [validity, pa.py_buffer(array("d", (0.0 if v is None else v
                                                                                             for v in values)))])
    if issubclass(kind, datetime.datetime):
        micros = (0 if v is None else (v - _EPOCH) // datetime.timedelta(microseconds=1) for v in values)
        return pa.Array.from_buffers(pa.timestamp("us"), n, [validity, pa.py_buffer(array("q", micros))])
    if kind is not str:  # what a target's reader may hold (DuckDB's decimals): pyarrow's own conversion
        return pa.array(values)
    encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    offsets = array("i", accumulate((len(b) for b in encoded), initial=0))
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def _bitmap(bits: list[bool]) -> pa.Buffer:
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i >> 3] |= 1 << (i & 7)
    return pa.py_buffer(bytes(out))


def prepare_dataset_dir(dataset_dir: Path) -> None:
    base = os.fspath(dataset_dir)
    os.makedirs(os.path.join(base, PARTIAL_DIR), exist_ok=True)
    os.makedirs(os.path.join(base, PARQUET_DIR), exist_ok=True)


def _group_files(dataset_dir: Path) -> list[tuple[int, str]]:
    """(group id, path) of each data file, by name alone, in group-id order."""
    directory = os.path.join(os.fspath(dataset_dir), PARQUET_DIR)
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [(int(m.group(1)), os.path.join(directory, name)) for name in names if (m := _BATCH.match(name))]
    return sorted(found)


def scan_groups(dataset_dir: Path) -> dict[int, int | None]:
    """Group id -> row count from each data file's footer; None for an unreadable file."""
    found: dict[int, int | None] = {}
    for group_id, path in _group_files(dataset_dir):
        try:
            found[group_id] = pq.ParquetFile(pa.BufferReader(read_bytes(path))).metadata.num_rows
        except (OSError, pa.ArrowException):
            found[group_id] = None
    return found


def listed_groups(dataset_dir: Path) -> list[int]:
    """Group ids that have a data file, by name alone (nothing is read)."""
    return [group_id for group_id, _ in _group_files(dataset_dir)]


def load_dataset(dataset_dir: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """All rows in group-id order (path order), and the layout as (group id, row count).
    An unreadable data file raises, as DataDesigner's `load_dataset()` would."""
    rows: list[dict[str, Any]] = []
    layout: list[tuple[int, int]] = []
    for group_id, path in _group_files(dataset_dir):
        columns = pq.ParquetFile(pa.BufferReader(read_bytes(path))).read(use_threads=False)
        names = columns.column_names
        values = [columns.column(n).to_pylist() for n in names]
        rows.extend(dict(zip(names, row)) for row in zip(*values))
        layout.append((group_id, columns.num_rows))
    return rows, layout


def read_group(dataset_dir: Path, group_id: int) -> list[dict[str, Any]]:
    """The rows of one group's data file."""
    path = os.path.join(os.fspath(dataset_dir), PARQUET_DIR, group_file_name(group_id))
    table = pq.ParquetFile(pa.BufferReader(read_bytes(path))).read(use_threads=False)
    values = [table.column(n).to_pylist() for n in table.column_names]
    return [dict(zip(table.column_names, row)) for row in zip(*values)]


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = os.fspath(path) + ".tmp"
    write_bytes(tmp, json.dumps(payload, sort_keys=True).encode("utf-8"))
    os.replace(tmp, path)


def clear_dir(directory: Path) -> None:
    base = os.fspath(directory)
    try:
        names = os.listdir(base)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        os.unlink(os.path.join(base, name))
