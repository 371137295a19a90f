"""Regression test: a run that never ends: a resumed run's process hangs Found by resume-harness 0.1.0
(dd-async-outage-after-emptied-group-hangs-the-run) on data-designer 0.8.0; fails while the bug exists (under
SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import atexit
import hashlib
import http.server
import inspect
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import data_designer.config as dd
import pandas as pd
from data_designer.config.seed_source_dataframe import DataFrameSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)
os.environ["NEMO_TELEMETRY_ENABLED"] = "false"  # no telemetry
if "DATA_DESIGNER_HOME" not in os.environ:  # its defaults go here, removed at exit
    os.environ["DATA_DESIGNER_HOME"] = tempfile.mkdtemp(prefix="repro-dd-home-")
    atexit.register(shutil.rmtree, os.environ["DATA_DESIGNER_HOME"], True)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(6, 'NEVER', (1, 'raise')), (10, 'ALWAYS', (2, 'outage')), (10, 'ALWAYS', None)]
PROCESSES = [[0, 1], [2]]  # segments that run in one process
COLUMNS = ['name', 'llm_0', 'llm_1']  # the columns compared
EXPECTED = [
    ('gamma', 'a37b8280: [row 2] llm_0: summarize in one line gam', 'a0ef2d9a: [row 2] llm_1: describe gamma'),
    ('delta', '66d1ebff: [row 3] llm_0: summarize in one line del', '28d56272: [row 3] llm_1: describe delta'),
    ('gamma', 'a37b8280: [row 2] llm_0: summarize in one line gam', 'a0ef2d9a: [row 2] llm_1: describe gamma'),
    ('delta', '66d1ebff: [row 3] llm_0: summarize in one line del', '28d56272: [row 3] llm_1: describe delta'),
]
HANG_SECONDS = 15  # a process of the chain that runs longer has hung


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


FAULTS = {0: ('malformed', True), 1: ('reset', True)}  # seed row -> (what the provider answers, every request or once a segment)  # noqa: E501
SLOW = 1.2  # a slow answer: longer than the client's timeout (1 s)


def answer(prompt):  # the model's text: a function of the prompt alone
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    return f"{digest}: {' '.join(prompt.split())[:40]}"


class Provider(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat-completions endpoint whose faults are addressed by the seed row
    a prompt carries ([row N]): every request for it, or the first per segment and prompt."""

    protocol_version = "HTTP/1.1"
    state = {"segment": 0, "outage": False, "failed": set()}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path.endswith("/control"):  # where the chain is: a segment begins, an outage starts
            with self.lock:
                if body["what"] == "segment":
                    self.state.update(segment=body["segment"], outage=False)
                elif body["what"] == "outage":  # "outage" (HTTP 503) or "revoked" (the key: HTTP 401)
                    self.state["outage"] = body.get("kind", "outage")
                else:  # a new run
                    self.state.update(segment=0, outage=False, failed=set())
            return self.reply(200, {})
        messages = [m for m in body["messages"] if m["role"] == "user"]
        content = messages[-1]["content"] if messages else ""
        prompt = "".join(p.get("text", "") for p in content) if isinstance(content, list) else content
        row = int(prompt.split("]")[0][5:]) if prompt.startswith("[row ") else None
        verdict, fault = "ok", FAULTS.get(row)
        with self.lock:
            if row is not None and self.state["outage"]:
                verdict = self.state["outage"]
            elif fault is not None and fault[1]:
                verdict = fault[0]
            elif fault is not None and (self.state["segment"], prompt) not in self.state["failed"]:
                self.state["failed"].add((self.state["segment"], prompt))
                verdict = fault[0]
        if verdict == "reset":  # an RST instead of an answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1, 0, 0, 0, 0, 0, 0, 0]))
            self.close_connection = True
            return self.connection.close()
        if verdict == "malformed":
            return self.reply(200, None, b"{not json")
        if verdict == "slow":
            time.sleep(SLOW)
        elif verdict != "ok":
            status = {"http500": 500, "http429": 429, "http400": 400, "outage": 503, "revoked": 401}[verdict]
            return self.reply(status, {"error": {"message": f"provider fault: {verdict}"}})
        message = {"role": "assistant", "content": answer(prompt)}
        self.reply(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model"),
                         "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    def reply(self, status, payload, data=None):
        data = json.dumps(payload).encode() if data is None else data
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up waiting (a slow answer): nobody to answer
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else each answer waits for an ACK
        return sock, address


def endpoint():
    """The provider of this script: started by its first process, found by the others."""
    if "REPRO_PROVIDER" not in os.environ:
        server = Server(("127.0.0.1", 0), Provider)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        os.environ["REPRO_PROVIDER"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return os.environ["REPRO_PROVIDER"]


def tell(what, **body):
    request = urllib.request.Request(endpoint() + "/control", data=json.dumps({"what": what, **body}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=10).read()


def quick_retries():  # DataDesigner's retries sleep 2-16 s between tries: a fault costs tries here, not sleeps
    from data_designer.engine.models.clients.retry import RetryConfig

    defaults, names = list(RetryConfig.__init__.__defaults__), list(RetryConfig.__dataclass_fields__)
    defaults[names.index("backoff_factor")] = 0.0
    RetryConfig.__init__.__defaults__ = tuple(defaults)
    try:  # the profiler's tokenizer would be downloaded: unavailable at once instead
        import tiktoken

        tiktoken.get_encoding = lambda name, *a, **k: (_ for _ in ()).throw(RuntimeError("offline"))
    except ImportError:
        pass


def run_config(buffer_size, early_shutdown=False):  # early shutdown: DataDesigner's default, on
    options = {"disable_early_shutdown": not early_shutdown, "buffer_size": buffer_size}
    if early_shutdown:  # its window scaled down with the small batches, as the harness runs it
        options["shutdown_error_window"] = 4
    if "request_admission" in dd.RunConfig.model_fields:  # a 429's cooldown at its minimum
        options["request_admission"] = dd.RequestAdmissionTuningConfig(cooldown_seconds=0.01)
    elif "throttle" in dd.RunConfig.model_fields:
        options["throttle"] = dd.ThrottleConfig(cooldown_seconds=0.01)
    return dd.RunConfig(**options)


def run(base, index, num_records, mode, stop):
    source = DataFrameSeedSource(df=pd.DataFrame({"seed_id": [0, 1, 2, 3], "name": ['alpha', 'beta', 'gamma', 'delta']}))  # noqa: E501
    designer = DataDesigner(artifact_path=Path(base, "artifacts"), model_providers=[dd.ModelProvider(name="harness", endpoint=endpoint(), provider_type="openai", api_key="repro")])  # noqa: E501
    quick_retries()
    tell("segment", segment=index)
    model = dd.ModelConfig(alias="harness", model="harness-echo", provider="harness",
                           inference_parameters=dd.ChatCompletionInferenceParams(timeout=1, max_parallel_requests=4))
    builder = dd.DataDesignerConfigBuilder(model_configs=[model])
    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.ORDERED)
    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{ name }}"))
    builder.add_column(dd.LLMTextColumnConfig(name='llm_0', prompt='[row {{ seed_id }}] llm_0: summarize in one line {{ name }}', model_alias="harness"))  # noqa: E501
    builder.add_column(dd.LLMTextColumnConfig(name='llm_1', prompt='[row {{ seed_id }}] llm_1: describe {{ name }}', model_alias="harness"))  # noqa: E501
    designer.set_run_config(run_config(4))
    seen = []
    def on_checkpoint(path):
        seen.append(path)
        if stop and len(seen) == stop[0]:
            if stop[1] == "outage":  # the provider goes down until the segment ends; the run goes on
                tell("outage")
                return
            raise Stop
    try:
        if "on_batch_complete" in inspect.signature(designer.create).parameters:
            designer.create(builder, num_records=num_records, dataset_name="repro", resume=ResumeMode[mode],
                            on_batch_complete=on_checkpoint)
        else:  # 0.6.0 has the callback only on the internal path that create() itself takes
            provider = designer._create_resource_provider("repro", builder, resume=ResumeMode[mode])
            dataset_builder = designer._create_dataset_builder(builder.build(), provider)
            dataset_builder.build(num_records=num_records, on_batch_complete=on_checkpoint, resume=ResumeMode[mode])
    except Stop:
        pass


def rows(base):
    frame = ArtifactStorage(artifact_path=Path(base, "artifacts"), dataset_name="repro",
                            resume=ResumeMode.ALWAYS).load_dataset()
    return [tuple(cell(v) for v in row) for row in frame[COLUMNS].itertuples(index=False)]


def cell(value):  # pandas' missing values (NaN, None, NaT) are null; numpy scalars Python values
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    for group in PROCESSES:
        if len(group) > 1 or SEGMENTS[group[0]][2]:  # one process, as a notebook runs a cell again
            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            code += f"import {Path(__file__).stem} as t; "
            code += f"[t.run({str(tmp_path / 'resumed')!r}, i, *t.SEGMENTS[i]) for i in {group!r}]"
            code += "; import os; os._exit(0)"  # at once, as a crash ends it
            subprocess.run([sys.executable, "-c", code], timeout=HANG_SECONDS)  # a process that hangs fails the test
        else:
            run(tmp_path / "resumed", group[0], *SEGMENTS[group[0]])
    tell("reset")
    run(tmp_path / "straight", 0, SEGMENTS[-1][0], "NEVER", None)
    actual, baseline = rows(tmp_path / "resumed"), rows(tmp_path / "straight")
    assert actual == baseline == EXPECTED
