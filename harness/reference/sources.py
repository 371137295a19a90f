"""Seed sources, for real: the reference writes the scenario's seed table in the source's
format and reads it back, so a source kind is a different code path, not a label.

- `dataframe`: the rows in memory (DataDesigner's `DataFrameSeedSource`).
- `parquet`, `csv`, `jsonl`: one file (`LocalFileSeedSource`), read with pyarrow and types
  fixed to `seed_id: int64, name: string` and each typed seed column's type
  (`harness.seed_values`), so CSV inference cannot turn a name into a number nor "NA" into a
  null. The CSV is written as a user writes one by hand (Python's `csv` module, a null as an
  empty field, floats as `repr`); it cannot tell a null string from an empty one, so the
  reference reads both as "" (`csv_value_as_read`, the conversion it declares). Parquet keeps
  the schema; JSON lines hold timestamps as ISO 8601 strings and no NaN or infinity.
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
from harness.seed_values import SeedColumn, to_csv_text, to_json

SCHEMA = pa.schema([("seed_id", pa.int64()), ("name", pa.string())])
ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "timestamp": pa.timestamp("us"),
               "string": pa.string()}
_FILES = {"parquet": "seeds.parquet", "csv": "seeds.csv", "jsonl": "seeds.jsonl"}


def schema_of(scenario: Scenario) -> pa.Schema:
    return pa.schema([*SCHEMA, *((c.name, ARROW_TYPES[c.type]) for c in scenario.columns)])


def csv_value_as_read(scenario: Scenario, seed: Any, column: SeedColumn, value: Any) -> Any:
    """What the reference's readers hold for a seed value: the value itself, but a null
    string in a CSV, which is the same text as an empty one."""
    if scenario.source == "csv" and column.type == "string" and value is None:
        return ""
    return value


def csv_text(scenario: Scenario) -> str:
    """The seed table as a user's hand-written CSV."""
    # as csv's QUOTE_MINIMAL writes it, but with "\r" quoted too: with "\n" as the line
    # terminator, Python's writer (3.11) leaves a lone "\r" unquoted, which every reader
    # takes for a line break
    lines = [["seed_id", "name", *(c.name for c in scenario.columns)]]
    for s in scenario.seeds:
        lines.append([str(s.seed_id), s.name, *(to_csv_text(c, v) for c, v in zip(scenario.columns, s.values))])
    return "".join(",".join(_quoted(field) for field in line) + "\n" for line in lines)


def _quoted(text: str) -> str:
    """A field as QUOTE_MINIMAL writes it, "\r" counted as a line terminator too."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def materialize(scenario: Scenario, directory: Path) -> None:
    """Write the seed table where a run will read it (once per work directory)."""
    directory.mkdir(parents=True, exist_ok=True)
    if scenario.source in _FILES:
        write_file(scenario, directory / _FILES[scenario.source])
    elif scenario.source == "directory":
        for i, seed in enumerate(scenario.seeds):
            body = "".join(line + "\n" for line in seed.lines)
            (directory / f"{i:05d}.txt").write_text(body, encoding="utf-8")
        (directory / "manifest.json").write_text(
            json.dumps([{"seed_id": s.seed_id, "name": s.name} for s in scenario.seeds]), encoding="utf-8")


def write_file(scenario: Scenario, path: Path) -> None:
    """The seed table as one parquet, CSV or JSON lines file (also how the DataDesigner
    adapter writes a typed seed table)."""
    if scenario.source == "parquet":
        table = columns_to_table({"seed_id": [s.seed_id for s in scenario.seeds],
                                  "name": [s.name for s in scenario.seeds],
                                  **{c.name: [s.values[k] for s in scenario.seeds]
                                     for k, c in enumerate(scenario.columns)}})
        table = table.cast(schema_of(scenario))  # an all-null column still has its type
        write_parquet(path, table)
    elif scenario.source == "csv":
        path.write_text(csv_text(scenario), encoding="utf-8")
    elif scenario.source == "jsonl":
        lines = [json.dumps({"seed_id": s.seed_id, "name": s.name,
                             **{c.name: to_json(c, v) for c, v in zip(scenario.columns, s.values)}},
                            allow_nan=False) for s in scenario.seeds]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_stream(scenario: Scenario, directory: Path, infer: bool = False) -> list[Row]:
    """The selection's record stream, read back from the materialized source (`infer`: a
    CSV read as pandas reads one by default, types inferred and NA markers made null; only
    a bug-seeded mutant asks for that)."""
    manifest = _read_manifest(scenario, directory, infer)
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


def _read_manifest(scenario: Scenario, directory: Path, infer: bool = False) -> list[dict[str, Any]]:
    if scenario.source == "dataframe":
        return [{"seed_id": s.seed_id, "name": s.name, **{c.name: v for c, v in zip(scenario.columns, s.values)}}
                for s in scenario.seeds]
    if scenario.source == "directory":
        names = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        paths = sorted(directory.glob("*.txt"))
        return [{**meta, "path": str(path)} for meta, path in zip(names, paths)]
    path = directory / _FILES[scenario.source]
    schema = schema_of(scenario)
    if scenario.source == "parquet":
        table = pq.ParquetFile(path).read(use_threads=False)  # (read_table imports pandas)
    elif scenario.source == "csv" and infer:
        table = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(use_threads=False),
                                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                                convert_options=pa_csv.ConvertOptions(strings_can_be_null=True))
    elif scenario.source == "csv":
        table = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(use_threads=False),
                                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                                convert_options=pa_csv.ConvertOptions(
                                    column_types=schema, null_values=[""], strings_can_be_null=False,
                                    true_values=["true"], false_values=["false"]))
    else:
        table = pa_json.read_json(path, read_options=pa_json.ReadOptions(use_threads=False),
                                  parse_options=pa_json.ParseOptions(explicit_schema=schema))
    return table.select(schema.names).to_pylist()
