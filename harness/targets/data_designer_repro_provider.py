"""What a DataDesigner reproducer holds for a scenario with model columns: the model provider
itself (a few dozen lines of the standard library, the same answers and faults as
`harness.provider`), the model config, and the settings the adapter runs DataDesigner with
(`harness.targets.data_designer`: offline, no telemetry, no retry backoff), so the script
stays one file that needs nothing but DataDesigner.

The provider runs in the script's first process; segments that run in a process of their
own find it through the environment (`REPRO_PROVIDER`) and tell it where the chain is
(a segment begins, an outage starts) over HTTP, as the harness's segments do.
"""

from __future__ import annotations

from harness.model_columns import MODEL_NAME, dropped_rows  # noqa: F401 - the renderer's too
from harness.provider import SLOW_MARGIN
from harness.scenario import Scenario
from harness.targets.data_designer import COOLDOWN, MODEL_ALIAS, PROVIDER_NAME, SHUTDOWN_WINDOW, early_shutdown_in


def has_model_columns(scenario: Scenario) -> bool:
    return bool(scenario.model_columns)


def compared_model_columns(scenario: Scenario) -> list[str]:
    return [c.name for c in scenario.model_columns]


def stdlib_names(scenario: Scenario) -> list[str]:
    """The standard-library modules the provider needs."""
    fresh = ["atexit", "shutil", "tempfile"] if scenario.fresh_home else []
    return ["atexit", "hashlib", "http.server", "json", "shutil", "socket", "tempfile", "threading",
            "urllib.request"] if scenario.model_columns else fresh


def hermetic_lines(scenario: Scenario) -> list[str]:
    """Before DataDesigner is imported: its home (a directory of the script's own, removed when
    it exits, unless the caller gave one) and its telemetry."""
    if scenario.fresh_home:  # the bug needs it: the first run is a fresh installation's
        return ['os.environ["NEMO_TELEMETRY_ENABLED"] = "false"  # no telemetry',
                "# a fresh installation: DataDesigner's home without the model defaults its first",
                "# DataDesigner() writes (the script's processes share it; removed when it exits)",
                'if "REPRO_FRESH_DD_HOME" not in os.environ:',
                '    os.environ["REPRO_FRESH_DD_HOME"] = os.environ["DATA_DESIGNER_HOME"] = '
                'tempfile.mkdtemp(prefix="repro-dd-home-")',
                '    atexit.register(shutil.rmtree, os.environ["DATA_DESIGNER_HOME"], True)']
    if not scenario.model_columns:
        return []
    return ['os.environ["NEMO_TELEMETRY_ENABLED"] = "false"  # no telemetry',
            'if "DATA_DESIGNER_HOME" not in os.environ:  # its defaults go here, removed at exit',
            '    os.environ["DATA_DESIGNER_HOME"] = tempfile.mkdtemp(prefix="repro-dd-home-")',
            '    atexit.register(shutil.rmtree, os.environ["DATA_DESIGNER_HOME"], True)']


#: requests for one prompt in one run after which a hang reproducer's provider calls it a
#: retry without end (a run that gives a row up asks 3 to 6 times)
ASK_LIMIT = 30


def provider_lines(scenario: Scenario, hang: bool = False) -> list[str]:
    """The provider, its faults, and DataDesigner's client settings, as script lines. With
    `hang` (the bug is a run that never returns, retrying a row without end), the provider
    counts each prompt's requests in a run; past `ASK_LIMIT` it notes the prompt
    (`Provider.state["over_asked"]`) and refuses it (HTTP 400, which no release tries again),
    so that `create()` returns and the script can say what it saw."""
    if not scenario.model_columns:
        return []
    faults = {f.seed_id: (f.kind, f.permanent) for f in scenario.provider_faults}
    state = '{"segment": 0, "outage": False, "failed": set()' + (', "asked": {}, "over_asked": []}' if hang else "}")
    return [
        f"FAULTS = {faults!r}  # seed row -> (what the provider answers, every request or once a segment)",
        f"SLOW = {1.0 + SLOW_MARGIN}  # a slow answer: longer than the client's timeout (1 s)",
        *([f"ASK_LIMIT = {ASK_LIMIT}  # requests for one prompt in one run: past it, a retry without end"]
          if hang else []),
        "",
        "",
        "def answer(prompt):  # the model's text: a function of the prompt alone",
        "    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]",
        "    return f\"{digest}: {' '.join(prompt.split())[:40]}\"",
        "",
        "",
        "class Provider(http.server.BaseHTTPRequestHandler):",
        '    """An OpenAI-compatible chat-completions endpoint whose faults are addressed by the seed row',
        '    a prompt carries ([row N]): every request for it, or the first per segment and prompt."""',
        "",
        '    protocol_version = "HTTP/1.1"',
        f"    state = {state}",
        "    lock = threading.Lock()",
        "",
        "    def log_message(self, *args):",
        "        pass",
        "",
        "    def do_POST(self):  # noqa: N802",
        '        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")',
        '        if self.path.endswith("/control"):  # where the chain is: a segment begins, an outage starts',
        "            with self.lock:",
        '                if body["what"] == "segment":',
        '                    self.state.update(segment=body["segment"], outage=False)',
        '                elif body["what"] == "outage":  # "outage" (HTTP 503) or "revoked" (the key: HTTP 401)',
        '                    self.state["outage"] = body.get("kind", "outage")',
        "                else:  # a new run",
        '                    self.state.update(segment=0, outage=False, failed=set()' + (", asked={})" if hang else ")"),
        '            return self.reply(200, {})',
        '        messages = [m for m in body["messages"] if m["role"] == "user"]',
        '        content = messages[-1]["content"] if messages else ""',
        '        prompt = "".join(p.get("text", "") for p in content) if isinstance(content, list) else content',
        '        row = int(prompt.split("]")[0][5:]) if prompt.startswith("[row ") else None',
        '        verdict, fault = "ok", FAULTS.get(row)',
        "        with self.lock:",
        '            if row is not None and self.state["outage"]:',
        '                verdict = self.state["outage"]',
        "            elif fault is not None and fault[1]:",
        "                verdict = fault[0]",
        '            elif fault is not None and (self.state["segment"], prompt) not in self.state["failed"]:',
        '                self.state["failed"].add((self.state["segment"], prompt))',
        "                verdict = fault[0]",
        *(['            if row is not None:',
           '                asked = self.state["asked"][prompt] = self.state["asked"].get(prompt, 0) + 1',
           '                if asked > ASK_LIMIT:  # retried without end: refused, so that create() returns',
           '                    self.state["over_asked"].append((prompt, asked))',
           '                    verdict = "http400"'] if hang else []),
        '        if verdict == "reset":  # an RST instead of an answer',
        "            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1, 0, 0, 0, 0, 0, 0, 0]))",
        "            self.close_connection = True",
        "            return self.connection.close()",
        '        if verdict == "malformed":',
        '            return self.reply(200, None, b"{not json")',
        '        if verdict == "slow":',
        "            time.sleep(SLOW)",
        '        elif verdict != "ok":',
        '            status = {"http500": 500, "http429": 429, "http400": 400, "outage": 503, "revoked": 401}[verdict]',
        '            return self.reply(status, {"error": {"message": f"provider fault: {verdict}"}})',
        '        message = {"role": "assistant", "content": answer(prompt)}',
        '        self.reply(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model"),',
        '                         "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],',
        '                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})',
        "",
        "    def reply(self, status, payload, data=None):",
        "        data = json.dumps(payload).encode() if data is None else data",
        "        try:",
        "            self.send_response(status)",
        '            self.send_header("Content-Type", "application/json")',
        '            self.send_header("Content-Length", str(len(data)))',
        "            if status == 429:",
        '                self.send_header("Retry-After", "0")',
        "            self.end_headers()",
        "            self.wfile.write(data)",
        "        except OSError:  # the client gave up waiting (a slow answer): nobody to answer",
        "            self.close_connection = True",
        "",
        "",
        "class Server(http.server.ThreadingHTTPServer):",
        "    daemon_threads = True",
        "",
        "    def get_request(self):",
        "        sock, address = super().get_request()",
        "        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else each answer waits for an ACK",
        "        return sock, address",
        "",
        "",
        "def endpoint():",
        '    """The provider of this script: started by its first process, found by the others."""',
        '    if "REPRO_PROVIDER" not in os.environ:',
        '        server = Server(("127.0.0.1", 0), Provider)',
        "        threading.Thread(target=server.serve_forever, daemon=True).start()",
        '        os.environ["REPRO_PROVIDER"] = f"http://127.0.0.1:{server.server_address[1]}/v1"',
        '    return os.environ["REPRO_PROVIDER"]',
        "",
        "",
        "def tell(what, **body):",
        '    request = urllib.request.Request(endpoint() + "/control", data=json.dumps({"what": what, **body}).encode(),',
        '                                     headers={"Content-Type": "application/json"}, method="POST")',
        "    urllib.request.urlopen(request, timeout=10).read()",
        "",
        "",
        "def quick_retries():  # DataDesigner's retries sleep 2-16 s between tries: a fault costs tries here, not sleeps",
        "    from data_designer.engine.models.clients.retry import RetryConfig",
        "",
        "    defaults, names = list(RetryConfig.__init__.__defaults__), list(RetryConfig.__dataclass_fields__)",
        '    defaults[names.index("backoff_factor")] = 0.0',
        "    RetryConfig.__init__.__defaults__ = tuple(defaults)",
        "    try:  # the profiler's tokenizer would be downloaded: unavailable at once instead",
        "        import tiktoken",
        "",
        '        tiktoken.get_encoding = lambda name, *a, **k: (_ for _ in ()).throw(RuntimeError("offline"))',
        "    except ImportError:",
        "        pass",
        "",
        "",
        "def run_config(buffer_size, early_shutdown=False):  # early shutdown: DataDesigner's default, on",
        '    options = {"disable_early_shutdown": not early_shutdown, "buffer_size": buffer_size}',
        '    if early_shutdown:  # its window scaled down with the small batches, as the harness runs it',
        f'        options["shutdown_error_window"] = {SHUTDOWN_WINDOW}',
        '    if "request_admission" in dd.RunConfig.model_fields:  # a 429\'s cooldown at its minimum',
        f'        options["request_admission"] = dd.RequestAdmissionTuningConfig(cooldown_seconds={COOLDOWN})',
        '    elif "throttle" in dd.RunConfig.model_fields:',
        f'        options["throttle"] = dd.ThrottleConfig(cooldown_seconds={COOLDOWN})',
        "    return dd.RunConfig(**options)",
    ]


def builder_lines(scenario: Scenario) -> list[str]:
    """In `run()`: the model and the config builder with it, before the seed dataset."""
    if not scenario.model_columns:
        return ["    builder = dd.DataDesignerConfigBuilder()"]
    return [
        "    quick_retries()",
        "    tell(\"segment\", segment=index)",
        f'    model = dd.ModelConfig(alias="{MODEL_ALIAS}", model="{MODEL_NAME}", provider="{PROVIDER_NAME}",',
        "                           inference_parameters=dd.ChatCompletionInferenceParams(timeout=1, "
        "max_parallel_requests=4))",
        "    builder = dd.DataDesignerConfigBuilder(model_configs=[model])",
    ]


def column_lines(scenario: Scenario) -> list[str]:
    """In `run()`: the model columns, after the expression columns."""
    return [f"    builder.add_column(dd.LLMTextColumnConfig(name={c.name!r}, prompt={c.template!r}, "
            f'model_alias="{MODEL_ALIAS}"))' for c in scenario.model_columns]


def designer_arguments(scenario: Scenario) -> str:
    if not scenario.model_columns:
        return ""
    return (f', model_providers=[dd.ModelProvider(name="{PROVIDER_NAME}", endpoint=endpoint(), '
            'provider_type="openai", api_key="repro")]')


def outage_lines(scenario: Scenario) -> list[str]:
    """In the checkpoint callback: an outage (or a revoked key) stops the provider, not the segment."""
    actions = {s.fault.action for s in scenario.segments if s.fault is not None}
    lines = []
    if "outage" in actions:
        lines += ['            if stop[1] == "outage":  # the provider goes down until the segment ends; the run goes on',
                  '                tell("outage")',
                  "                return"]
    if "revoked" in actions:
        lines += ['            if stop[1] == "revoked":  # the API key is refused (HTTP 401) until the segment ends',
                  '                tell("outage", kind="revoked")',
                  "                return"]
    return lines


def run_config_call(scenario: Scenario) -> str:
    """The run settings' call in `run()`, `{size}` for the buffer size: early shutdown on in
    a segment whose key is revoked, as a user's run has it (the harness's own runs do so too)."""
    if any(early_shutdown_in(scenario, s) for s in scenario.segments):
        return 'run_config({size}, early_shutdown=bool(stop) and stop[1] == "revoked")'
    return "run_config({size})"


__all__ = ["builder_lines", "column_lines", "compared_model_columns", "designer_arguments", "has_model_columns",
           "hermetic_lines", "outage_lines", "provider_lines", "run_config_call", "stdlib_names"]
