"""Typed seed columns: seed tables as users have them, and what a value *is* when two runs
are compared.

A scenario may carry, next to `seed_id` and `name`, extra seed columns (`SeedColumn`: a
name and one of `COLUMN_TYPES`), and each seed row a value per column (`SeedRow.values`).
Any value may be null (`None`); a float may be NaN or an infinity where the source can hold
them (`can_hold`); strings include the ones that look like something else ("NA", "null",
"001", "1e5", "true", ""), unicode and long ones.

| type | Python value | JSON (scenario files) | parquet / arrow | CSV text |
|---|---|---|---|---|
| `int` | `int` | number | int64 | `42` |
| `float` | `float` | number, or `"nan"`, `"inf"`, `"-inf"` | float64 | `repr`: `0.1`, `nan`, `inf` |
| `bool` | `bool` | `true` / `false` | bool | `true` / `false` |
| `timestamp` | naive `datetime` (microseconds) | ISO 8601 string | timestamp[us] | `2024-01-02 03:04:05.000006` |
| `string` | `str` | string | string | as is (quoted where needed) |

Null is JSON `null`, arrow null, and an empty CSV field: in a CSV an empty string and a
null string are the same text, so a CSV reader cannot tell them apart (a conversion the
reading target declares, `harness.targets.base.Target.seed_value_as_read`).

**Equality, defined once** (`value_key`): two values are equal when they have the same
type and the same value; NaN equals NaN; null equals only null (a NaN is not a null, an
int 1 is not a float 1.0 nor True, "001" is not 1); numpy and pandas scalars count as the
Python values they hold (a representation, not a conversion). The checker compares rows on
these keys and nothing else: resumed against straight never normalizes anything.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

COLUMN_TYPES = ("int", "float", "bool", "timestamp", "string")
#: strings that a reader with type inference or NA markers turns into something else
ADVERSARIAL_STRINGS = ("NA", "null", "", "001", "1e5", "true", "N/A", "nan", "0", " padded ", "é日本🙂",
                       "a,b", 'quote"d', "x" * 300)
#: names a seed column may not take (the pipeline's own columns)
RESERVED = ("seed_id", "name", "echo", "tag", "line", "line_no")
EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class SeedColumn:
    name: str
    type: str


def can_hold(source: str, value: Any) -> bool:
    """Whether `source` can hold `value` at all: JSON (a jsonl source) has no NaN or
    infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return source != "jsonl"
    return True


def check_value(column: SeedColumn, value: Any) -> str | None:
    """Why `value` is not a value of `column`, or None."""
    if value is None:
        return None
    kind = column.type
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63,
        "float": isinstance(value, float),
        "bool": isinstance(value, bool),
        "timestamp": isinstance(value, dt.datetime) and value.tzinfo is None,
        "string": isinstance(value, str) and "\x00" not in value,
    }[kind]
    return None if ok else f"expected a {kind} value (or null), got {value!r}"


# ----- JSON ---------------------------------------------------------------------------------
def to_json(column: SeedColumn, value: Any) -> Any:
    if value is None:
        return None
    if column.type == "float" and not math.isfinite(value):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    if column.type == "timestamp":
        return value.isoformat()
    return value


def from_json(column: SeedColumn, data: Any, where: str) -> Any:
    from harness.errors import ScenarioError

    if data is None:
        return None
    kind = column.type
    if kind == "float":
        if isinstance(data, str) and data in ("nan", "inf", "-inf"):
            return float(data)
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return float(data)
    elif kind == "timestamp" and isinstance(data, str):
        try:
            value = dt.datetime.fromisoformat(data)
        except ValueError:
            raise ScenarioError(where, f"expected an ISO 8601 timestamp, got {data!r}") from None
        if value.tzinfo is None:
            return value
    elif kind == "int" and isinstance(data, int) and not isinstance(data, bool):
        return data
    elif kind == "bool" and isinstance(data, bool):
        return data
    elif kind == "string" and isinstance(data, str):
        return data
    raise ScenarioError(where, f"expected a {kind} value (or null) for column {column.name!r}, got {data!r}")


# ----- text, as a user's CSV holds it ----------------------------------------------------------
def to_csv_text(column: SeedColumn, value: Any) -> str:
    if value is None:
        return ""
    if column.type == "float":
        return repr(value)
    if column.type == "bool":
        return "true" if value else "false"
    if column.type == "timestamp":
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


#: the seed column types whose integral doubles a reader's rows hold as the int they stand for
INTEGRAL_AS_INT = ("int", "string")


def integral_as_int(column_type: str, value: Any) -> Any:
    """An integral double in an int seed column, or in a string column a CSV sniffer typed
    as numbers ("001", "1e100"), as the int it stands for: how the DataDesigner adapter reads
    a release's rows (`harness.targets.data_designer._as_held`) and the models read theirs
    back (`harness.reference.known_bugs.model_target`); any other value as it is."""
    if column_type in INTEGRAL_AS_INT and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ----- equality --------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """The Python value a numpy or pandas scalar holds (NaT and pandas' NA are null)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    name = type(value).__name__
    if name in ("NaTType", "NAType"):
        return None
    if name == "Timestamp":
        return value.to_pydatetime() if value.tzinfo is None else value
    if name == "datetime64":
        return None if str(value) == "NaT" else value.astype("datetime64[us]").item()
    if hasattr(value, "item") and not isinstance(value, (bytes, dt.datetime)):
        return plain(value.item())
    return value


def value_key(value: Any) -> tuple[Any, ...]:
    """What a value is, for equality (see the module's docstring)."""
    value = plain(value)
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", "nan") if value != value else ("float", value)
    if isinstance(value, dt.datetime):
        return ("timestamp", value.isoformat())
    if isinstance(value, str):
        return ("string", value)
    return (type(value).__name__, repr(value))


def from_key(key: tuple[Any, ...]) -> Any:
    """The value a `value_key` stands for, as a report shows it."""
    if key[0] == "null":
        return None
    if key == ("float", "nan"):
        return "nan"
    return key[1]


def shown(value: Any) -> Any:
    """A value as a report shows it (JSON-friendly)."""
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
