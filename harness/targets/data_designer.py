"""NVIDIA DataDesigner (`data-designer`, 0.6.0 to the latest) as a target.

The adapter renders a `Scenario` into a real DataDesigner config and runs each segment
through DataDesigner itself; nothing of DataDesigner is imitated. What it relies on, read
from the released code (see also docs/datadesigner.md):

- **Engine.** 0.6.x has a sync and an async engine, chosen by `DATA_DESIGNER_ASYNC_ENGINE`
  when `data_designer.engine.dataset_builders.dataset_builder` is imported ("1", the
  default, is async). So the variable is set before DataDesigner is imported, and one
  process runs one engine. 0.7.0 and later have only the async engine.
- **Checkpoint callback.** `DataDesigner.create(..., on_batch_complete=cb)` from 0.6.1;
  0.6.0 has it only on the internal path
  `_create_resource_provider` -> `_create_dataset_builder` -> `build(on_batch_complete=...)`.
  `cb(path)` gets the final parquet path of each checkpoint. Sync writes metadata.json
  before calling it, async after it.
- **Interrupting.** The async engine logs and swallows an ordinary exception raised in the
  callback, so in-process faults raise `harness.faults.Interrupted`, a `BaseException`
  subclass, which propagates out of `build()` and `create()` on both engines. A `kill`
  fault SIGKILLs a child process inside the callback.
- **Output.** Rows are read back with DataDesigner's own `ArtifactStorage.load_dataset()`
  (parquet files in path order, which is row-group order).
- **Model columns.** An `LLMTextColumnConfig` per model column, its model served by the
  harness's local provider (`harness.provider`): a `ModelProvider(provider_type="openai")`
  at the trial's endpoint, `ModelConfig(provider=...)` (required from 0.9), the inference
  timeout at its minimum (1 s). DataDesigner's client is httpx with its own retries
  (`engine/models/clients`), which back off for seconds between tries; the adapter sets
  their backoff factor to 0 (`RetryConfig`'s default) and the 429 cooldown to its minimum,
  so a provider fault costs tries, not sleeps: which requests fail is the fault, not how long
  a client waits. The health check `create()` sends first is kept, and counted apart.
- **Hermetic.** `DATA_DESIGNER_HOME` is a directory of the harness's own (DataDesigner writes
  model and provider defaults there on every `DataDesigner()`), telemetry is off
  (`NEMO_TELEMETRY_ENABLED=false`), and the profiler's tokenizer, which it would download, is
  unavailable at once (`tiktoken.get_encoding` raises; the profiler logs a warning and goes on).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import inspect
import io
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from harness import faults
from harness.changes import CHANGE_KINDS, TAG_COLUMN, final_inputs, inputs_at, release_of
from harness.errors import HarnessUsageError
from harness.faults import FaultInjector
from harness.journal import Journal
from harness.model_columns import MODEL_NAME, PROVIDER_FAULT_KINDS
from harness.scenario import IndexRange, PartitionBlock, Scenario, Segment
from harness.seed_values import COLUMN_TYPES
from harness.targets.base import Capabilities, Target
from harness.targets.data_designer_release import SERVER_MODULES, run_group_on_release

ENGINE_VARIABLE = "DATA_DESIGNER_ASYNC_ENGINE"
DATASET_PREFIX = "resume_trial"


def dataset_name(workdir: Path) -> str:
    """One dataset name per trial run, the same for every segment of its chain."""
    return f"{DATASET_PREFIX}_{hashlib.sha1(str(workdir.resolve()).encode()).hexdigest()[:10]}"
ENGINE_MODULE = "data_designer.engine.dataset_builders.dataset_builder"
_BATCH = re.compile(r"batch_(\d+)\.parquet$")


@functools.cache
def installed_version() -> str | None:
    """The installed release (once per process: a child of the fork server inherits it
    instead of reading the package metadata again, a few milliseconds a child)."""
    try:
        return importlib.metadata.version("data-designer")
    except importlib.metadata.PackageNotFoundError:
        return None


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def engines_for(version: str) -> tuple[str, ...]:
    """0.6.x: sync and async; 0.7.0 and later: async only."""
    return ("sync", "async") if version_tuple(version) < (0, 7) else ("async",)


def capabilities_for(version: str, engine: str) -> Capabilities:
    return Capabilities(
        engines=(engine,),
        sources=("dataframe", "parquet", "csv", "jsonl", "directory"),
        samplings=("ordered", "shuffle"),
        selections=("none", "index_range", "partition_block"),
        fault_actions=("raise", "kill", "tear", "sigint", "sigterm", "outage", "revoked"),
        # Row and write faults would need DataDesigner's internals patched; checkpoints
        # are reached through its own callback.
        fault_points=("checkpoint",),
        resume_modes=("always", "if_possible"),
        extension=True,
        repeatable_shuffle=False,  # DuckDB ORDER BY RANDOM(), no seed to set
        own_scheduling=True,  # the async scheduler's, not the scenario's completion_order
        change_kinds=tuple(CHANGE_KINDS),
        column_types=COLUMN_TYPES,
        # an upgrade or rollback can go to any release with a ready environment (`hunt --then`)
        releases=tuple(name for name, _ in _ready_envs()),
        model_columns=True,
        provider_faults=tuple(PROVIDER_FAULT_KINDS),
        # An example with model columns costs DataDesigner seconds (client timeouts, retries, a
        # health check per create()): drawn when a search asks (`hunt --model-columns`)
        opt_in=("model columns", "fault revoked"),
        # a chain whose first run is the installation's first (DATA_DESIGNER_HOME without the
        # model defaults DataDesigner() writes): `run_segment`
        fresh_home=True,
    )


def _ready_envs() -> list[tuple[str, str]]:
    from harness.environments import ready_envs

    try:
        return ready_envs()
    except Exception:  # noqa: BLE001 - no environments directory: no release to change to
        return []


class DataDesignerTarget(Target):
    """The installed DataDesigner release, one engine per process."""

    #: what DataDesigner warns of on every run here, whatever the run does (no model-provider
    #: keys; 0.6's sync engine being deprecated; the profiler without its tokenizer): not
    #: reported as a segment's warnings
    routine_warnings = ("default model provider but your API keys are missing", "selects the legacy sync engine",
                        "failed to calculate input/output token stats", "tokenizer unavailable")
    #: DataDesigner's model client timeout (`ChatCompletionInferenceParams.timeout`, at least 1 s)
    provider_timeout = 1.0
    #: a `slow` answer is late as a whole (its clients' timeouts are not ours to know)
    provider_stall = False
    #: an ORDERED run without model columns reads its seeds in one order and writes row groups
    #: by id whichever of the async engine's groups finishes first; its shuffle is unseeded
    #: (`Capabilities.repeatable_shuffle` False), so a SHUFFLE run is not
    deterministic = True

    def pending_work(self) -> bool:
        """The async engine's event loop (one per process in every release,
        `async_concurrency._loop`, a daemon thread that outlives `create()`) has a task left:
        0.6 and 0.7 go on generating after an interruption (`dd-async-ctrl-c-leaves-the-run-going`);
        0.8 and later cancel theirs, so asking costs them nothing. A loop that does not answer
        within a second is busy."""
        import asyncio

        engine = sys.modules.get("data_designer.engine.dataset_builders.utils.async_concurrency")
        loop = getattr(engine, "_loop", None)
        if loop is None or not loop.is_running():
            return False

        async def busy() -> bool:
            return any(task is not asyncio.current_task() for task in asyncio.all_tasks())

        try:
            return bool(asyncio.run_coroutine_threadsafe(busy(), loop).result(timeout=1.0))
        except TimeoutError:
            return True
        except RuntimeError:  # the loop closed meanwhile
            return False

    @property
    def run_reads_dataset(self) -> bool:
        """Whether a segment's run reads its dataset back at its end: `create()` does (its
        profiler loads it, and a dataset that cannot be read fails the run), and the adapter
        goes through `create()` from 0.6.1; on 0.6.0 it drives the builder, whose `build()`
        does not, so there an unreadable dataset shows only when the harness reads it."""
        return has_public_callback()

    @property
    def checks_start_config(self) -> bool:
        """Whether a resume that finds no metadata.json (an async run stopped in its first
        checkpoint's callback) checks the config the run wrote at its start
        (builder_config.json) against its own: 0.6 does; 0.7 and later take such a dataset
        as compatible (`_check_resume_config_compatibility`). Read off the installed code."""
        from data_designer.engine.dataset_builders.dataset_builder import DatasetBuilder

        source = inspect.getsource(DatasetBuilder._check_resume_config_compatibility)
        return not re.search(r"if not metadata_path\.exists\(\):\s*return _ConfigCompatibility\.COMPATIBLE", source)

    @property
    def dataset_schema(self) -> str:
        """How the release reads a dataset whose files' schemas differ (`read_parquet_dataset`):
        "unified" where it promotes the files' schemas to one first (0.9: an int64 file and a
        double file of one column read as double), else "first" (pandas through pyarrow, whose
        schema is the first file's). Read off the installed code."""
        from data_designer.config.utils import io_helpers

        return "unified" if "unify_schemas" in inspect.getsource(io_helpers.read_parquet_dataset) else "first"

    def reader_facts(self, release: str | None = None) -> tuple[tuple[str, Any], ...]:
        """What the reader of `release` (default: this one) does where the models need it
        (`data_designer_release.FACTS`), for a segment of a chain run on that release: its
        own properties here, read off another release's installed code in its environment."""
        if release is None or release == self.version:
            from harness.targets.data_designer_release import FACTS

            return tuple((name, getattr(self, name)) for name in FACTS)
        from harness.targets.data_designer_release import release_facts

        return release_facts(release)

    def __init__(self, engine: str | None = None) -> None:
        version = installed_version()
        if version is None:
            raise HarnessUsageError(
                "DataDesigner is not installed in this environment; create one with "
                "'resume-harness env create VERSION' and pass --dd-version VERSION"
            )
        engines = engines_for(version)
        engine = engine or engines[-1]
        if engine not in engines:
            raise HarnessUsageError(
                f"DataDesigner {version} has no {engine} engine (it has: {', '.join(engines)}); "
                f"use --target data_designer:{engines[-1]}"
            )
        self.engine = engine
        self.version = version
        self.name = f"data_designer:{engine}"
        self.capabilities = capabilities_for(version, engine)
        # The async engine runs on one event loop thread per process, shared by every
        # create() (engine/dataset_builders/utils/async_concurrency.py). An interrupted
        # create() leaves its tasks on that loop, and they go on into the next segment's run:
        # on 0.6.0 that gave a flaky TypeError and a search that hung. A segment that is
        # interrupted therefore runs in a process of its own, which its end stops.
        self.interrupt_in_child = engine == "async"
        select_engine(version, engine)
        faults.preload("harness.targets.data_designer_preload")

    def __getstate__(self) -> dict[str, Any]:
        return {"engine": self.engine}

    def in_child(self, scenario: Scenario, group: list[int]) -> bool:
        """Segments on another release run in a process of that release's environment."""
        return self._other_release(scenario, group) is not None or super().in_child(scenario, group)

    def child_process(self, scenario: Scenario,
                      group: list[int]) -> tuple[Callable[..., None], str | None, list[str] | None]:
        """A group on another release (a release change starts a process, so a group is on one
        release) is forked from the fork server of that release's environment
        (`harness.targets.data_designer_release`)."""
        release = self._other_release(scenario, group)
        if release is None:
            return super().child_process(scenario, group)
        from harness.environments import env_python

        return run_group_on_release, str(env_python(release)), SERVER_MODULES

    def _other_release(self, scenario: Scenario, group: list[int]) -> str | None:
        release = release_of(scenario, group[0])
        return release if release is not None and release != self.version else None

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["engine"])  # type: ignore[misc]

    def seed_value_as_read(self, scenario: Scenario, seed: Any, column: Any, value: Any) -> Any:
        """DataDesigner reads a seed source with DuckDB (`SELECT * FROM '<file>'`, the frame
        registered for a dataframe source), hands the rows on as pandas frames and writes
        the dataset from them; so a typed value comes back as DuckDB's reader and pandas make
        it (docs/datadesigner.md, "Typed seed values"). `typed_values_as_read` applies that
        chain, with those libraries, to the scenario's own seed table; the resumed run is
        compared with the straight run as it is."""
        return typed_values_as_read(scenario)[seed.seed_id][column.name]

    def stopped_by_provider(self, error: BaseException | None, warnings: list[str]) -> bool:
        """DataDesigner's early shutdown, in a segment whose key is revoked (`run_config`): the
        sync engine raises "Data generation was terminated early due to error rate exceeding
        threshold" from the batch's column (0.6); the async engine warns "Early shutdown
        triggered" and returns short, or raises `DataDesignerEarlyShutdownError` where no
        record at all was produced."""
        chain = []
        while error is not None and len(chain) < 8:
            chain.append(error)
            error = error.__cause__ or error.__context__
        return any(type(e).__name__ == "DataDesignerEarlyShutdownError"
                   or "terminated early due to error rate" in str(e) or "early shutdown was triggered" in str(e)
                   for e in chain) or any("Early shutdown triggered" in m for m in warnings)

    # ----- one segment --------------------------------------------------------------------
    def run_segment(
        self, scenario: Scenario, index: int, workdir: Path, injector: FaultInjector, journal: Journal,
    ) -> None:
        # (a segment on another release never reaches here in this process: `in_child` sends
        # its group to a child of that release's environment, whose target is that release's)
        dd = _data_designer()
        segment = scenario.segments[index]
        # The inputs in force for this segment: a user's changes before it are applied by
        # rewriting the seed file at the same path (a new frame for a dataframe source) and
        # rendering the config and run settings again, as the user's own script would.
        inputs = inputs_at(scenario, index)
        with _fresh_installation(scenario.fresh_home and index == 0):
            builder = build_config(inputs, workdir / "seed-source")
        designer = new_designer(inputs, workdir / "artifacts", injector.provider_endpoint)
        early = early_shutdown_in(inputs, segment)
        designer.set_run_config(run_config(inputs.buffer_size, early_shutdown=early))
        mode = getattr(dd.ResumeMode, segment.resume.upper())
        name = dataset_name(workdir)
        seen_dataset: list[str] = []

        def on_checkpoint(path: Any) -> None:
            path = Path(path)
            if not seen_dataset:
                seen_dataset.append(str(path.parent.parent))
                journal.append({"event": "dataset", "segment": index, "path": seen_dataset[0]})
            rows = _rows_of_frame(pq.read_table(path).to_pandas(), inputs)
            group = int(_BATCH.search(path.name).group(1))  # type: ignore[union-attr]
            journal.append({"event": "checkpoint", "segment": index, "ordinal": injector.checkpoints + 1,
                            "group": group, "rows": len(rows), "seed_ids": [r["seed_id"] for r in rows]})
            injector.after_checkpoint(path)

        with _quiet():
            if has_public_callback():
                results = designer.create(builder, num_records=segment.num_records, dataset_name=name,
                                          resume=mode, on_batch_complete=on_checkpoint)
                storage = results.artifact_storage
            else:
                provider = designer._create_resource_provider(name, builder, resume=mode)
                dataset_builder = designer._create_dataset_builder(builder.build(), provider)
                dataset_builder.build(num_records=segment.num_records, on_batch_complete=on_checkpoint, resume=mode)
                storage = dataset_builder.artifact_storage
        journal.append({"event": "dataset", "segment": index, "path": str(storage.base_dataset_path)})

    def load(self, scenario: Scenario, workdir: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
        release = release_of(scenario, len(scenario.segments) - 1)
        if release is not None and release != self.version:
            # a chain whose last segment ran on another release: read as that release read it
            from harness.targets.data_designer_release import read_on_release

            return read_on_release(release, workdir)
        dd = _data_designer()
        paths = [e["path"] for e in Journal(workdir / "journal.jsonl").events() if e["event"] == "dataset"]
        dataset_dir = Path(paths[-1]) if paths else workdir / "artifacts" / dataset_name(workdir)
        storage = dd.ArtifactStorage(artifact_path=dataset_dir.parent, dataset_name=dataset_dir.name,
                                     resume=dd.ResumeMode.ALWAYS)
        with _quiet():
            frame = storage.load_dataset()
        layout = []
        for file_path in sorted((dataset_dir / "parquet-files").glob("batch_*.parquet")):
            layout.append((int(_BATCH.search(file_path.name).group(1)),  # type: ignore[union-attr]
                           pq.read_metadata(file_path).num_rows))
        return _rows_of_frame(frame, final_inputs(scenario)), layout


# ----- rendering a scenario into DataDesigner's config -------------------------------------------
def build_config(scenario: Scenario, source_dir: Path) -> Any:
    dd = _data_designer()
    import pandas as pd

    sampling = dd.config.SamplingStrategy.ORDERED if scenario.sampling == "ordered" else dd.config.SamplingStrategy.SHUFFLE
    selection = None
    if isinstance(scenario.selection, IndexRange):
        selection = dd.config.IndexRange(start=scenario.selection.start, end=scenario.selection.end)
    elif isinstance(scenario.selection, PartitionBlock):
        selection = dd.config.PartitionBlock(index=scenario.selection.index,
                                             num_partitions=scenario.selection.num_partitions)
    frame = pd.DataFrame({"seed_id": [s.seed_id for s in scenario.seeds], "name": [s.name for s in scenario.seeds]})
    if scenario.columns:
        # a user's frame of typed columns: pandas' own dtypes for what a table holds (an int
        # column with a null becomes float64 with NaN, as pandas makes it)
        frame = seed_table(scenario).to_pandas()
    source_dir.mkdir(parents=True, exist_ok=True)
    if scenario.source == "dataframe":
        source = dd.DataFrameSeedSource(df=frame)
    elif scenario.source == "directory":
        for old in source_dir.glob("*.txt"):  # a re-export: the files of rows now gone go too
            old.unlink()
        for i, seed in enumerate(scenario.seeds):
            body = "".join(line + "\n" for line in seed.lines)
            (source_dir / f"{i:05d}-{seed.seed_id}-{seed.name}.txt").write_text(body, encoding="utf-8")
        source = dd.DirectorySeedSource(path=str(source_dir), file_pattern="*.txt")
    else:
        path = source_dir / f"seeds.{scenario.source}"
        if scenario.columns:  # parquet with its schema; CSV and JSON lines as a user writes them by hand
            from harness.reference import sources as reference_sources

            reference_sources.write_file(scenario, path)
        elif scenario.source == "parquet":
            frame.to_parquet(path, index=False)
        elif scenario.source == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=True)
        source = dd.LocalFileSeedSource(path=str(path))
    builder = dd.config.DataDesignerConfigBuilder(model_configs=model_configs(scenario))
    builder.with_seed_dataset(source, sampling_strategy=sampling, selection_strategy=selection)
    copied = "line" if scenario.source == "directory" else "name"
    builder.add_column(dd.config.ExpressionColumnConfig(name="echo", expr="{{ " + copied + " }}" + scenario.echo_suffix))
    if scenario.extra_column:
        # A constant, but through a seed column: up to 0.6.1 the async engine fails an expression
        # column that references no column, even in an uninterrupted run (docs/datadesigner.md).
        builder.add_column(dd.config.ExpressionColumnConfig(
            name=TAG_COLUMN, expr="{{ '' if " + copied + " else '' }}" + scenario.extra_column))
    for column in scenario.model_columns:
        builder.add_column(dd.config.LLMTextColumnConfig(name=column.name, prompt=column.template,
                                                         model_alias=MODEL_ALIAS))
    return builder


#: the model alias and provider name model columns use (the endpoint is the trial's)
MODEL_ALIAS = PROVIDER_NAME = "harness"


def model_configs(scenario: Scenario) -> list[Any]:
    """The model the config's model columns call, or none."""
    if not scenario.model_columns:
        return []
    dd = _data_designer()
    params = dd.config.ChatCompletionInferenceParams(timeout=1, max_parallel_requests=4)
    return [dd.config.ModelConfig(alias=MODEL_ALIAS, model=MODEL_NAME, provider=PROVIDER_NAME,
                                  inference_parameters=params)]


def seed_table(scenario: Scenario) -> Any:
    """The seed table with its typed columns, with the schema `harness.reference.sources` gives it."""
    from harness.reference import sources as reference_sources
    from harness.reference.storage import columns_to_table

    table = columns_to_table({"seed_id": [s.seed_id for s in scenario.seeds], "name": [s.name for s in scenario.seeds],
                              **{c.name: [s.values[k] for s in scenario.seeds] for k, c in enumerate(scenario.columns)}})
    return table.cast(reference_sources.schema_of(scenario))


@functools.lru_cache(maxsize=64)
def _read_through_duckdb(scenario_json: str) -> dict[int, dict[str, Any]]:
    import tempfile

    import duckdb

    scenario = Scenario.from_json(scenario_json)
    with tempfile.TemporaryDirectory(prefix="resume-harness-seed-") as tmp:
        connection = duckdb.connect()
        try:
            if scenario.source == "dataframe":
                connection.register("seed_frame", seed_table(scenario).to_pandas())
                query = "SELECT * FROM seed_frame"
            else:
                from harness.reference import sources as reference_sources

                path = Path(tmp) / f"seeds.{scenario.source}"
                reference_sources.write_file(scenario, path)
                query = f"SELECT * FROM '{path}'"
            result = connection.execute(query).arrow()  # a Table, or a RecordBatchReader in newer DuckDB
            table = result.read_all() if hasattr(result, "read_all") else result
        finally:
            connection.close()
    # The rows go on through pandas frames, where a NaN, a None and a NaT are all "missing":
    # DataDesigner's rows hold null for each. And pandas makes an int batch with a null floats
    # (pandas 3, 0.9.7's environment, for the batch the seed reader hands over, so it depends on
    # which rows share a batch): the adapter reads an int seed column back as ints
    # (`_rows_of_frame`), and so does this.
    # A value DuckDB typed but cannot hand to Python is expected as the seed table holds it:
    # its CSV sniffer reads a column whose only values are "inf" or "-inf" as DATEs of
    # infinity, which neither pyarrow nor pandas converts (`date` stops at year 9999); no
    # reading of it is declared, so what the release makes of it is judged against the value.
    ids = [int(i) for i in table.column("seed_id").to_pylist()]
    written = {seed.seed_id: seed.values for seed in scenario.seeds}
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for k, c in enumerate(scenario.columns):
        try:
            values = [_as_held(c.type, v) for v in table.column(c.name).to_pylist()]
        except (OverflowError, ValueError):
            values = [written[i][k] for i in ids]
        for i, value in zip(ids, values):
            out[i][c.name] = value
    return out


def _as_held(column_type: str, value: Any) -> Any:
    """A typed seed value as the adapter reads DataDesigner's rows: pandas' missing values
    are null, and an integral float in an int seed column (or in a string column DuckDB's CSV
    sniffer typed as numbers) is the int (see above)."""
    from harness.seed_values import integral_as_int, plain

    value = plain(value)
    if isinstance(value, float) and value != value:
        return None
    return integral_as_int(column_type, value)


def typed_values_as_read(scenario: Scenario) -> dict[int, dict[str, Any]]:
    """seed_id -> typed column -> the value DataDesigner's rows hold for it (see
    `DataDesignerTarget.seed_value_as_read`), once per seed table.

    Asked once per typed value of every record a model or the checker hydrates (hundreds of
    thousands of times while a finding is attributed and shrunk): the seed table's JSON is
    made once per table *object* (kept, so its id is not reused while it is in the cache).
    Tables are not looked up by equality: 0.0 == -0.0 and 1 == 1.0 == True, which a reader
    tells apart."""
    kept = _TABLES.get(id(scenario.seeds))
    if kept is None or kept[0] is not scenario.seeds or kept[1] is not scenario.columns or kept[2] != scenario.source:
        key = Scenario(seeds=scenario.seeds, columns=scenario.columns, source=scenario.source,
                       segments=(Segment(1),)).to_json()
        kept = _TABLES[id(scenario.seeds)] = (scenario.seeds, scenario.columns, scenario.source, key)
        while len(_TABLES) > 256:
            _TABLES.pop(next(iter(_TABLES)))
    return _read_through_duckdb(kept[3])


#: id of a seed table's rows -> (rows, columns, source, the table's JSON)
_TABLES: dict[int, tuple[Any, ...]] = {}


#: the outcomes DataDesigner's early shutdown judges its error rate over, in a segment whose
#: key is revoked (its default is 10: the async engine's last 10 task outcomes, the sync engine's
#: first 10 of one column in one batch; the harness's batches hold at most 8 rows, where the sync
#: engine's would never fire, so the window is scaled down with them, as a user's 1,000-row batch
#: is to the default)
SHUTDOWN_WINDOW = 4


def early_shutdown_in(scenario: Scenario, segment: Segment) -> bool:
    """Whether a segment runs with early shutdown on: where its key is revoked, as a user's run
    has it, and the rows have no provider faults of their own. Those would count towards the
    error rate before the key is revoked, so the run could stop on them, where the straight
    run (early shutdown off) drops their rows and goes on: a difference of settings, not of
    resuming; and on the async engine whether they fill the window first is its timing."""
    return segment.fault is not None and segment.fault.action == "revoked" and not scenario.provider_faults


def run_config(buffer_size: int, early_shutdown: bool = False) -> Any:
    """The run settings: early shutdown off (`early_shutdown`: on, at DataDesigner's default
    rate of 0.5 over `SHUTDOWN_WINDOW` outcomes, for a segment whose API key is revoked, the
    failures it is meant for), so that a row's permanent provider fault drops that row and
    not, on the engine's timing, the run."""
    dd = _data_designer()
    options: dict[str, Any] = {"disable_early_shutdown": not early_shutdown, "buffer_size": buffer_size}
    if early_shutdown:
        options["shutdown_error_window"] = SHUTDOWN_WINDOW
    fields = dd.config.RunConfig.model_fields
    # a 429's cooldown at its minimum: the provider's Retry-After says when to try again
    if "request_admission" in fields:
        options["request_admission"] = dd.config.RequestAdmissionTuningConfig(cooldown_seconds=COOLDOWN)
    elif "throttle" in fields:
        options["throttle"] = dd.config.ThrottleConfig(cooldown_seconds=COOLDOWN)
    if "max_concurrent_row_groups" in dd.config.RunConfig.model_fields:
        options["max_concurrent_row_groups"] = 3
    if "otel_metrics_port" in dd.config.RunConfig.model_fields:
        # 0.9: every create() serves OpenTelemetry metrics on 127.0.0.1:9464 by default, a
        # thread and a fixed port per process. Concurrent workers would contend for the
        # port, and a child process would start it all again; resume does not depend on it.
        options["otel_metrics_port"] = None
    return dd.config.RunConfig(**options)


#: seconds DataDesigner waits after a 429 before it tries again (its configs need more than 0)
COOLDOWN = 0.01


@contextlib.contextmanager
def _fresh_installation(fresh: bool):  # type: ignore[no-untyped-def]
    """With `fresh`, the config builder of a fresh installation's first run: on such a
    DATA_DESIGNER_HOME the model defaults (`model_configs.yaml`) are not written yet, so a
    `DataDesignerConfigBuilder()` without model configs has none, and the first
    `DataDesigner()` writes them (`_initialize_interface_runtime`, once per process:
    `resolve_seed_default_model_settings`); every builder after it has the defaults, and
    DataDesigner's config fingerprint covers them. Every other run here finds them written:
    `_data_designer` writes them once per process, so which run is a process's first never
    decides a run's config (it did: a search whose first example's resumed run was its
    process's first met this at once, and its replay passed)."""
    if not fresh:
        yield
        return
    from data_designer.config.default_model_settings import resolve_seed_default_model_settings
    from data_designer.config.utils.constants import MODEL_CONFIGS_FILE_PATH

    Path(MODEL_CONFIGS_FILE_PATH).unlink(missing_ok=True)
    try:
        yield
    finally:
        with _quiet():
            resolve_seed_default_model_settings()  # what the run's DataDesigner() does next


def new_designer(scenario: Scenario, artifact_path: Path, endpoint: str | None = None) -> Any:
    dd = _data_designer()
    kwargs: dict[str, Any] = {"artifact_path": artifact_path}
    if scenario.model_columns:
        if endpoint is None:
            raise RuntimeError("a scenario with model columns needs the trial's model provider endpoint")
        kwargs["model_providers"] = [dd.config.ModelProvider(name=PROVIDER_NAME, endpoint=endpoint,
                                                             provider_type="openai", api_key="harness")]
    if scenario.source == "directory":
        kwargs["seed_readers"] = [dd.LineFanoutDirectorySeedReader()]
    if "auto_configure_logging" in inspect.signature(dd.DataDesigner.__init__).parameters:
        kwargs["auto_configure_logging"] = False
    with _quiet():
        return dd.DataDesigner(**kwargs)


def has_public_callback() -> bool:
    return "on_batch_complete" in inspect.signature(_data_designer().DataDesigner.create).parameters


#: a typed seed column DataDesigner's output does not have
MISSING = "<column missing from the dataset>"


def _rows_of_frame(frame: Any, scenario: Scenario) -> list[dict[str, Any]]:
    """DataDesigner's output columns -> the harness's comparable columns. For a directory
    source the file name `NNNNN-<seed_id>-<name>.txt` carries the seed row's identity."""
    records = frame.to_dict(orient="records")
    tag = {TAG_COLUMN} if TAG_COLUMN in frame.columns else set()
    if scenario.source != "directory":
        return [{"seed_id": r.get("seed_id"), "name": r.get("name"), "echo": r.get("echo"),
                 **{c: r.get(c) for c in tag},
                 **{c.name: r[c.name] if c.name in r else MISSING for c in scenario.model_columns},
                 **{c.name: _as_held(c.type, r[c.name]) if c.name in r else MISSING for c in scenario.columns}}
                for r in records]
    rows = []
    for r in records:
        _, seed_id, name = Path(str(r.get("relative_path"))).stem.split("-", 2)
        rows.append({"seed_id": int(seed_id), "name": name, "line_no": r.get("line_index"),
                     "line": r.get("line"), "echo": r.get("echo"), **{c: r.get(c) for c in tag}})
    return rows


# ----- the process's one DataDesigner -----------------------------------------------------------
def select_engine(version: str, engine: str) -> None:
    """Set the engine variable before DataDesigner's builder module is imported; refuse when
    this process already imported it with the other engine."""
    wanted = "1" if engine == "async" else "0"
    module = sys.modules.get(ENGINE_MODULE)
    if module is not None and len(engines_for(version)) > 1:
        current = "async" if getattr(module, "DATA_DESIGNER_ASYNC_ENGINE", True) else "sync"
        if current != engine:
            raise HarnessUsageError(
                f"this process already runs DataDesigner's {current} engine; run the {engine} engine "
                "in a process of its own (one resume-harness command per engine)"
            )
    os.environ[ENGINE_VARIABLE] = wanted
    hermetic()


def hermetic() -> None:
    """What DataDesigner reads from the environment when it is imported: a home directory
    of the harness's own, which the process that made it removes when it ends (its children,
    the fork server's among them, share it), and no telemetry."""
    os.environ["NEMO_TELEMETRY_ENABLED"] = "false"
    if HOME_OWNER in os.environ:
        return
    import atexit
    import tempfile

    from harness.workdirs import default_work_root

    root = default_work_root()
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    remove_orphaned_homes(Path(root if root is not None else tempfile.gettempdir()))
    home = tempfile.mkdtemp(prefix=f"{HOME_PREFIX}{os.getpid()}-", dir=root)
    os.environ["DATA_DESIGNER_HOME"] = home
    os.environ[HOME_OWNER] = str(os.getpid())
    atexit.register(_remove_home, home, os.getpid())


def _remove_home(home: str, owner: int) -> None:
    if os.getpid() == owner:
        import shutil

        shutil.rmtree(home, ignore_errors=True)


#: a home's name: this prefix, the pid of the process that made it (and removes it at its
#: exit), a random part
HOME_PREFIX = "resume-harness-dd-home-"


def remove_orphaned_homes(root: Path) -> list[Path]:
    """Remove the homes under `root` whose maker is gone: a process ended by SIGKILL (a test's
    or a user's, or a watchdog's) runs no atexit, and its home stayed (found empty in /dev/shm
    after CI runs). Only names with a pid, of a pid no process has; the removed ones."""
    import shutil

    removed = []
    for path in root.glob(f"{HOME_PREFIX}*-*"):
        pid = path.name[len(HOME_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


#: the process that made `DATA_DESIGNER_HOME` (and removes it)
HOME_OWNER = "RESUME_HARNESS_DD_HOME_OWNER"


class _Namespace:
    pass


def _offline_tokenizer() -> None:
    """The profiler asks tiktoken for a tokenizer, which it downloads: here it is unavailable
    at once (the profiler warns and goes on), never a network attempt."""
    try:
        import tiktoken
    except ImportError:
        return

    def unavailable(name: str, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"tokenizer unavailable: {name} (resume-harness runs DataDesigner offline)")

    tiktoken.get_encoding = unavailable


def _no_retry_backoff() -> None:
    """DataDesigner's HTTP retries sleep 2, 4, 8 s and more between tries (`RetryConfig`,
    hard-coded): its default backoff factor goes to 0, so a fault costs tries, not sleeps."""
    try:
        from data_designer.engine.models.clients.retry import RetryConfig
    except ImportError:
        return
    defaults = list(RetryConfig.__init__.__defaults__ or ())
    names = [f for f in RetryConfig.__dataclass_fields__]
    if "backoff_factor" in names and len(defaults) == len(names):
        defaults[names.index("backoff_factor")] = 0.0
        RetryConfig.__init__.__defaults__ = tuple(defaults)


_DD: _Namespace | None = None


def _data_designer() -> Any:
    """Import DataDesigner once, quietly, and collect the names the adapter uses."""
    global _DD
    if _DD is None:
        with _quiet():
            import data_designer.config as config
            from data_designer.config.seed_source import DirectorySeedSource, LocalFileSeedSource
            from data_designer.config.seed_source_dataframe import DataFrameSeedSource
            from data_designer.engine.storage.artifact_storage import ArtifactStorage
            from data_designer.engine.testing.seed_readers import LineFanoutDirectorySeedReader
            from data_designer.interface import DataDesigner, ResumeMode
        _silence_data_designer_loggers()
        _offline_tokenizer()
        _no_retry_backoff()
        with _quiet():  # the installation's model defaults, as any DataDesigner() before writes them
            from data_designer.config.default_model_settings import resolve_seed_default_model_settings

            resolve_seed_default_model_settings()
        ns = _Namespace()
        ns.config = config  # type: ignore[attr-defined]
        ns.DirectorySeedSource = DirectorySeedSource  # type: ignore[attr-defined]
        ns.LocalFileSeedSource = LocalFileSeedSource  # type: ignore[attr-defined]
        ns.DataFrameSeedSource = DataFrameSeedSource  # type: ignore[attr-defined]
        ns.ArtifactStorage = ArtifactStorage  # type: ignore[attr-defined]
        ns.LineFanoutDirectorySeedReader = LineFanoutDirectorySeedReader  # type: ignore[attr-defined]
        ns.DataDesigner = DataDesigner  # type: ignore[attr-defined]
        ns.ResumeMode = ResumeMode  # type: ignore[attr-defined]
        _DD = ns
    return _DD


@contextlib.contextmanager
def _quiet():  # type: ignore[no-untyped-def]
    """DataDesigner prints a provider table and logs every step; none of it is ours, but its
    warnings are: records at WARNING and above go to the harness's capture handlers
    (`harness.chain.WarningCapture`, which a segment's run installs on the root logger) and
    nowhere else; below WARNING nothing is logged at all."""
    previous = logging.root.manager.disable
    captures = [h for h in logging.root.handlers if getattr(h, "harness_capture", False)]
    logging.disable(logging.INFO if captures else logging.CRITICAL)
    handlers = logging.root.handlers[:]
    logging.root.handlers[:] = captures
    own = _data_designer_loggers()
    saved = {logger: (logger.handlers[:], logger.propagate) for logger in own}
    _set_levels(own, logging.WARNING if captures else logging.CRITICAL + 1)
    for logger in own:  # its records reach the root's (capture) handlers only
        logger.handlers[:] = []
        logger.propagate = True
    try:
        # Handlers DataDesigner configures meanwhile (up to 0.7.0 each DataDesigner() does)
        # bind to the stream of the moment: this one, which nobody reads.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        # quiet from the first statement on: an engine thread of the call may log at any moment
        # (`_silence_data_designer_loggers` leaves every one of these loggers silenced anyway)
        _set_levels(saved, logging.CRITICAL + 1)
        for logger, (kept, propagate) in saved.items():
            logger.handlers[:] = kept
            logger.propagate = propagate
        logging.root.handlers[:] = handlers  # the root's own again (what DataDesigner added meanwhile goes)
        logging.disable(previous)
        _silence_data_designer_loggers()


def _data_designer_loggers() -> list[logging.Logger]:
    return [logger for name, logger in list(logging.root.manager.loggerDict.items())
            if (name == "data_designer" or name.startswith("data_designer.")) and isinstance(logger, logging.Logger)]


def _silence_data_designer_loggers() -> None:
    """Keep DataDesigner's loggers quiet after a call as well: engine threads of an
    interrupted async create() can outlive it and go on logging. Up to 0.7.0, each
    `DataDesigner()` reconfigures logging (root handlers, and levels of its own named
    loggers), so this runs after every call. Disabling the `data_designer` logger alone is
    not enough: records of its child loggers still reach the root handlers."""
    _set_levels([logger for logger in _data_designer_loggers()
                 if logger.name == "data_designer" or logger.level != logging.NOTSET], logging.CRITICAL + 1)
    _no_last_resort()


def _set_levels(loggers: Iterable[logging.Logger], level: int) -> None:
    """`logger.setLevel(level)` for each, with logging's cache of levels cleared once, not
    once a logger: `setLevel` clears the cache of every logger of the process (`_clear_cache`,
    about 180 on 0.9.7), and a `_quiet` block set DataDesigner's sixty loggers' levels twice:
    1.5 ms a block, six blocks a straight run (0.09 ms a block now)."""
    changed = False
    for logger in loggers:
        if logger.level != level:
            logger.level = level
            changed = True
    if changed:
        logging.root.manager._clear_cache()  # what each setLevel would have done


def _no_last_resort() -> None:
    """A record that finds no handler on its way to the root goes to logging's last resort,
    which prints it bare on stderr: 0.9's async scheduler logs "Non-retryable failure on
    llm_0[rg=1, row=1]: ..." from its threads, and such lines reached `models`' output while
    the root had no handler. A `NullHandler` on the package's logger is a handler: such a
    record now goes nowhere. The same for `asyncio`'s logger, which the async engine's event
    loop reports through ("Task exception was never retrieved" when 0.6.1's scheduler loses a
    task); while a segment runs, both still reach the harness's capture of its warnings."""
    for name in ("data_designer", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
