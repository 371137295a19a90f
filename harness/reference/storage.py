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

import json
import os
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# pyarrow imports pandas when it builds its first table. Building one here moves that cost
# to import time, which the forkserver pays once, instead of into every child it forks.
pa.table({"warm": [0]})

PARQUET_DIR = "parquet-files"
PARTIAL_DIR = "tmp-partial-parquet-files"
METADATA = "metadata.json"
_BATCH = re.compile(r"^batch_(\d{5,})\.parquet$")


def group_file_name(group_id: int) -> str:
    return f"batch_{group_id:05d}.parquet"


def write_group(dataset_dir: Path, group_id: int, rows: list[dict[str, Any]]) -> Path:
    """Write one row group to the partial directory, then rename it into place
    (`prepare_dataset_dir` made both directories)."""
    partial = dataset_dir / PARTIAL_DIR / group_file_name(group_id)
    final = dataset_dir / PARQUET_DIR / group_file_name(group_id)
    pq.write_table(_table(rows), partial, compression="none", write_statistics=False, use_dictionary=False)
    os.replace(partial, final)
    return final


_TYPES = {int: pa.int64(), str: pa.string(), float: pa.float64(), bool: pa.bool_()}


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows to a table with the schema taken from the first row: pyarrow's own inference
    costs twenty times more than the write itself."""
    columns = list(rows[0])
    schema = pa.schema([(c, _TYPES.get(type(rows[0][c]), pa.string())) for c in columns])
    return pa.table({c: [row[c] for row in rows] for c in columns}, schema=schema)


def prepare_dataset_dir(dataset_dir: Path) -> None:
    (dataset_dir / PARTIAL_DIR).mkdir(parents=True, exist_ok=True)
    (dataset_dir / PARQUET_DIR).mkdir(exist_ok=True)


def scan_groups(dataset_dir: Path) -> dict[int, int | None]:
    """Group id -> row count from each data file's footer; None for an unreadable file."""
    found: dict[int, int | None] = {}
    directory = dataset_dir / PARQUET_DIR
    if not directory.is_dir():
        return found
    for path in directory.iterdir():
        match = _BATCH.match(path.name)
        if not match:
            continue
        try:
            found[int(match.group(1))] = pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException):
            found[int(match.group(1))] = None
    return found


def listed_groups(dataset_dir: Path) -> list[int]:
    """Group ids that have a data file, by name alone (nothing is read)."""
    directory = dataset_dir / PARQUET_DIR
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _BATCH.match(p.name)))


def load_dataset(dataset_dir: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """All rows in group-id order (path order), and the layout as (group id, row count).
    An unreadable data file raises, as DataDesigner's `load_dataset()` would."""
    rows: list[dict[str, Any]] = []
    layout: list[tuple[int, int]] = []
    for group_id in listed_groups(dataset_dir):
        columns = pq.ParquetFile(dataset_dir / PARQUET_DIR / group_file_name(group_id)).read(use_threads=False)
        names = columns.column_names
        values = [columns.column(n).to_pylist() for n in names]
        rows.extend(dict(zip(names, row)) for row in zip(*values))
        layout.append((group_id, columns.num_rows))
    return rows, layout


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def clear_dir(directory: Path) -> None:
    if directory.is_dir():
        for path in directory.iterdir():
            path.unlink()
