"""Seed sources, for real: the reference writes the scenario's seed table in the source's
format and reads it back, so a source kind is a different code path, not a label.

- `dataframe`: the rows in memory (DataDesigner's `DataFrameSeedSource`).
- `parquet`, `csv`, `jsonl`: one file (`LocalFileSeedSource`), read with pyarrow and types
  fixed to `seed_id: int64, name: string`, so CSV inference cannot turn a name into a number.
- `directory`: one `NNNNN.txt` file per seed row (a *manifest* row each, paths sorted),
  hydrated by reading one record per line (DataDesigner's `DirectorySeedSource` with a
  line-fanout reader); an empty file hydrates into no records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from harness.reference.model import Row
from harness.reference.storage import columns_to_table, write_parquet
from harness.scenario import Scenario

SCHEMA = pa.schema([("seed_id", pa.int64()), ("name", pa.string())])
_FILES = {"parquet": "seeds.parquet", "csv": "seeds.csv", "jsonl": "seeds.jsonl"}


def materialize(scenario: Scenario, directory: Path) -> None:
    """Write the seed table where a run will read it (once per work directory)."""
    directory.mkdir(parents=True, exist_ok=True)
    table = columns_to_table({"seed_id": [s.seed_id for s in scenario.seeds], "name": [s.name for s in scenario.seeds]})
    if scenario.source == "parquet":
        write_parquet(directory / _FILES["parquet"], table)
    elif scenario.source == "csv":
        pa_csv.write_csv(table, directory / _FILES["csv"])
    elif scenario.source == "jsonl":
        lines = [json.dumps({"seed_id": s.seed_id, "name": s.name}) for s in scenario.seeds]
        (directory / _FILES["jsonl"]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif scenario.source == "directory":
        for i, seed in enumerate(scenario.seeds):
            body = "".join(line + "\n" for line in seed.lines)
            (directory / f"{i:05d}.txt").write_text(body, encoding="utf-8")
        (directory / "manifest.json").write_text(
            json.dumps([{"seed_id": s.seed_id, "name": s.name} for s in scenario.seeds]), encoding="utf-8")


def read_stream(scenario: Scenario, directory: Path) -> list[Row]:
    """The selection's record stream, read back from the materialized source."""
    manifest = _read_manifest(scenario, directory)
    if scenario.selection is not None:
        start, end = scenario.selection.bounds(len(manifest))
        manifest = manifest[start : end + 1]
    if scenario.source != "directory":
        return manifest
    stream: list[Row] = []
    for entry in manifest:
        lines = Path(entry["path"]).read_text(encoding="utf-8").splitlines()
        stream.extend({"seed_id": entry["seed_id"], "name": entry["name"], "line_no": n, "line": line}
                      for n, line in enumerate(lines))
    return stream


def _read_manifest(scenario: Scenario, directory: Path) -> list[dict[str, Any]]:
    if scenario.source == "dataframe":
        return [{"seed_id": s.seed_id, "name": s.name} for s in scenario.seeds]
    if scenario.source == "directory":
        names = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        paths = sorted(directory.glob("*.txt"))
        return [{**meta, "path": str(path)} for meta, path in zip(names, paths)]
    path = directory / _FILES[scenario.source]
    if scenario.source == "parquet":
        table = pq.ParquetFile(path).read(use_threads=False)  # (read_table imports pandas)
    elif scenario.source == "csv":
        table = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(use_threads=False),
                                convert_options=pa_csv.ConvertOptions(column_types=SCHEMA))
    else:
        table = pa_json.read_json(path, read_options=pa_json.ReadOptions(use_threads=False),
                                  parse_options=pa_json.ParseOptions(explicit_schema=SCHEMA))
    return table.select(["seed_id", "name"]).to_pylist()
