"""A local model provider: a real OpenAI-compatible HTTP server on the loopback interface,
with faults, that records every request.

Model-backed columns (`harness.scenario.ModelColumn`) are answered by this server, in the
straight run and the resumed run alike, for the reference and for DataDesigner. It speaks
what DataDesigner's client calls, `POST {endpoint}/chat/completions` (message content as a
string or as a list of text parts), and answers with a deterministic function of the prompt
(`answer`), so a resumed run and a straight run get the same text for the same row.

**Trials.** One server serves many runs, one after another or side by side: each run gets
an endpoint of its own, `http://127.0.0.1:PORT/t/<trial>/v1` (`open_trial`), with its own
fault plan and its own request log. The run's segments tell the server where they are
(`POST .../_harness/segment`), in whatever process they run, so each request is logged
with the segment that paid for it.

**Faults are addressed by row, never by time or arrival order.** A model column's prompt
carries its seed row (`[row N]`, `ROW_MARK`); a `ProviderFault` names a seed row, a kind
(`harness.model_columns.PROVIDER_FAULT_KINDS`: what the server answers) and whether it is permanent (every request for
that row fails) or transient (in each segment, the first request for each of that row's
prompts fails and every later one succeeds: whichever record of that row asks first, and
whatever the interleaving, each record ends with its text; a known bug's model that asks
in another order than its release dispatches says which of its requests is not the first,
`spare`). An **outage**
(`harness.fault_kinds`, the `outage` kind) makes every request of the segment fail from the
checkpoint it is addressed at until the segment ends; the next segment finds the provider
healthy.

Requests that are not a model column's (a client's health check: a prompt without a row
mark) are logged as `overhead`, never faulted.

**Direct trials.** A trial opened `direct` is answered without HTTP when its client runs in
the server's own process (`Client`, `tell`): the same decision (`ProviderServer.decide`), the
same log, the answer the HTTP handler would have sent mapped to what the client makes of it,
and a `slow` answer a timeout at once instead of a wait. The known bugs' models run so
(`harness.reference.known_bugs.model_target`): they judge every failure and every model
shrink step, where a provider's timeouts and loopback requests were most of a model-column
run's time. A segment in another process (a child for `kill`, a signal, a same-process chain)
still speaks HTTP to the same trial. The reference target itself always speaks HTTP.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.model_columns import MODEL_NAME, ProviderFault, answer, row_of

#: what a `slow` answer waits beyond the trial's client timeout
SLOW_MARGIN = 0.2
#: the client timeout of the reference's client (DataDesigner's is at least 1 s): how long
#: it waits for an answer's body once the answer has begun (its status line and headers)
CLIENT_TIMEOUT = 0.05
#: how long the reference's client waits for an answer to begin: a machine under load may
#: take this long to schedule the server's thread, which no answer of the provider means
CLIENT_PATIENCE = 30.0
#: how long a stalled `slow` answer (a trial opened with `stall`) holds its body back: the
#: client gave up long before (`CLIENT_TIMEOUT`), so this costs it nothing, and no load
#: delays a client's read by as much
STALL = 2.0
#: no limit on a prompt's requests in a segment (`ask_limit` gives a scenario's)
UNLIMITED = 1 << 30
#: requests for one prompt in one segment a run may make, per record of its seed row that
#: the segment asks for (tries, salvage rounds and transport retries) and over all
RUNAWAY_PER_RECORD = 20
RUNAWAY_BASE = 20


@dataclass
class Request:
    """One request as the server saw it."""

    segment: int
    prompt: str
    row: int | None
    #: "ok", or the fault kind it was answered with ("outage": an outage's)
    answer: str
    t: float

    @property
    def paid(self) -> bool:
        """A completion was delivered: what a provider bills."""
        return self.answer == "ok"

    @property
    def overhead(self) -> bool:
        """Not a model column's request (a health check)."""
        return self.row is None

    def to_dict(self) -> dict[str, Any]:
        return {"segment": self.segment, "prompt": self.prompt, "row": self.row, "answer": self.answer, "t": self.t}


@dataclass
class _Trial:
    faults: dict[int, ProviderFault]
    #: how long a `slow` answer waits: longer than the trial's client waits
    slow: float
    segment: int = 0
    outage: bool = False
    #: what an outage answers: "outage" (HTTP 503, the provider down) or "revoked" (HTTP 401,
    #: the key refused)
    outage_kind: str = "outage"
    #: row requests an outage still lets through (a model of a release whose requests in
    #: flight when the provider went down were answered: `harness.reference.known_bugs`)
    grace: int = 0
    #: (segment, prompt) already failed once: a transient fault's one failure
    failed_once: set[tuple[int, str]] = field(default_factory=set)
    #: (segment, prompt) whose next request is not the segment's first for its prompt (a
    #: model asking in another order than its release dispatches: `spare`)
    spared: set[tuple[int, str]] = field(default_factory=set)
    #: requests for one prompt in one segment past which the row is retried without end:
    #: the next is refused (HTTP 400, which every client gives up at once), so the run ends
    #: and the run's outcome says it hung (`harness.targets.base.Target.run`)
    ask_limit: int = UNLIMITED
    asked: dict[tuple[int, str], int] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    #: answered without HTTP for a client in the server's process (module docstring)
    direct: bool = False
    #: a `slow` answer sends its status line and headers at once and holds its body back
    #: (`STALL`); otherwise the whole answer waits `slow`
    stall: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class ProviderServer:
    """The server, on a port of its own on 127.0.0.1, answering in threads."""

    def __init__(self) -> None:
        self._trials: dict[str, _Trial] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    # ----- lifetime ------------------------------------------------------------------------
    def start(self) -> ProviderServer:
        handler = _handler(self)
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="resume-harness-provider", daemon=True)
        self._thread.start()
        self._pid = os.getpid()
        _SERVERS[self.port] = self
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            _SERVERS.pop(self.port, None)
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the provider is not running"
        return int(self._httpd.server_address[1])

    # ----- trials --------------------------------------------------------------------------
    def open_trial(self, faults: tuple[ProviderFault, ...] = (), client_timeout: float = CLIENT_TIMEOUT,
                   direct: bool = False, ask_limit: int = UNLIMITED, stall: bool = True) -> str:
        """A new trial's endpoint (`.../v1`), with its fault plan; a `slow` answer outwaits
        `client_timeout`; `direct`: answered without HTTP in this process (module docstring);
        past `ask_limit` requests for one prompt in one segment, a `runaway` (`ask_limit`);
        `stall`: a `slow` answer begins at once and holds its body back (`Client`)."""
        token = uuid.uuid4().hex[:12]
        with self._lock:
            self._trials[token] = _Trial({f.seed_id: f for f in faults}, STALL if stall else client_timeout + SLOW_MARGIN,
                                         direct=direct, ask_limit=ask_limit, stall=stall)
        return f"http://127.0.0.1:{self.port}/t/{token}/v1"

    def requests(self, endpoint: str) -> list[Request]:
        trial = self._trial(_token(endpoint))
        with trial.lock:
            return list(trial.log)

    def close_trial(self, endpoint: str) -> list[Request]:
        """The trial's requests; the server forgets it."""
        with self._lock:
            trial = self._trials.pop(_token(endpoint), None)
        return list(trial.log) if trial is not None else []

    def _trial(self, token: str) -> _Trial:
        with self._lock:
            trial = self._trials.get(token)
        if trial is None:
            raise KeyError(token)
        return trial

    # ----- answering -----------------------------------------------------------------------
    def decide(self, token: str, prompt: str) -> tuple[str, float]:
        """What the request gets: "ok" or a fault kind (logged either way), and how long a
        slow answer waits."""
        trial = self._trial(token)
        row = row_of(prompt)
        with trial.lock:
            verdict = "ok"
            if row is not None:
                fault = trial.faults.get(row)
                spared = (trial.segment, prompt) in trial.spared
                trial.spared.discard((trial.segment, prompt))
                asked = trial.asked[trial.segment, prompt] = trial.asked.get((trial.segment, prompt), 0) + 1
                if asked > trial.ask_limit:
                    verdict = "runaway"
                elif trial.outage and trial.grace <= 0:
                    verdict = trial.outage_kind
                elif fault is not None and fault.permanent:
                    verdict = fault.kind
                elif fault is not None and not spared and (trial.segment, prompt) not in trial.failed_once:
                    trial.failed_once.add((trial.segment, prompt))
                    verdict = fault.kind
                if trial.outage and trial.grace > 0:
                    trial.grace -= 1
            trial.log.append(Request(trial.segment, prompt, row, verdict, time.monotonic()))
        return verdict, trial.slow

    def control(self, token: str, what: str, body: dict[str, Any]) -> None:
        trial = self._trial(token)
        with trial.lock:
            if what == "segment":  # a segment begins: the provider is healthy again
                trial.segment, trial.outage, trial.grace = int(body["segment"]), False, 0
            elif what == "outage":
                trial.outage, trial.outage_kind = True, str(body.get("kind", "outage"))
                if trial.outage_kind not in ("outage", "revoked"):
                    raise KeyError(trial.outage_kind)
            elif what == "grace":
                trial.grace = int(body["rows"])
            elif what == "spare":  # the prompt's next request is not its first in the segment
                trial.spared.add((trial.segment, str(body["prompt"])))
            else:
                raise KeyError(what)

    def direct(self, token: str) -> bool:
        """Whether the trial is answered without HTTP for a client in this process."""
        if os.getpid() != self._pid:  # a forked copy: the server's threads are not here
            return False
        with self._lock:
            trial = self._trials.get(token)
        return trial is not None and trial.direct


#: the servers this process started, by port (a direct trial's client finds its server here)
_SERVERS: dict[int, ProviderServer] = {}


def _direct(endpoint: str) -> tuple[ProviderServer, str] | None:
    """The server and trial of `endpoint` where it is a direct trial of a server of this
    process; None where requests go over HTTP."""
    found = re.match(r"^http://127\.0\.0\.1:(\d+)/t/([0-9a-f]+)/v1$", endpoint)
    server = _SERVERS.get(int(found.group(1))) if found else None
    if server is None or not server.direct(found.group(2)):  # type: ignore[union-attr]
        return None
    return server, found.group(2)  # type: ignore[union-attr]


#: what the HTTP handler sends for each verdict, as the client reads it: the status (or
#: "reset", "timeout" where no answer comes in time) and whether the body is a completion
_AS_READ: dict[str, tuple[int | str, bool]] = {
    "ok": (200, True), "http500": (500, False), "outage": (503, False), "http429": (429, False),
    "http400": (400, False), "reset": ("reset", False), "slow": ("timeout", False), "malformed": (200, False),
    "runaway": (400, False), "revoked": (401, False),
}


def ask_limit(scenario: Any) -> int:
    """The requests for one prompt in one segment past which a run of `scenario` retries a
    row without end: `RUNAWAY_PER_RECORD` for each record of one seed row a segment may ask
    for (the most records over the smallest selection the chain reads), and `RUNAWAY_BASE`.
    A correct client gives a row up after its tries (the reference's: `TRIES`); DataDesigner
    0.6.1 to 0.9 retries a rate-limited one without end
    (`dd-rate-limited-row-hangs-the-run-async`), which the limit ends in about a second
    instead of the watchdog's minute."""
    from harness.changes import final_inputs
    from harness.reference.model import record_stream

    selected = max(1, min(len(record_stream(scenario)), len(record_stream(final_inputs(scenario)))))
    records = max(s.num_records for s in scenario.segments)
    return RUNAWAY_BASE + RUNAWAY_PER_RECORD * -(-records // selected)


#: what a hang's message says where the run retried a row without end (`runaway`)
RETRIED_WITHOUT_END = "a row retried without end"


def runaway(requests: list[Request]) -> tuple[int, str] | None:
    """Where a trial's run retried a row without end (the first request refused past the
    limit): its segment and a hang's message; None where it did not."""
    first = next((r for r in requests if r.answer == "runaway"), None)
    if first is None:
        return None
    asked = sum(1 for r in requests if r.segment == first.segment and r.prompt == first.prompt)
    return first.segment, (f"hang: segment {first.segment} was still asking the model provider for {first.prompt!r} after "
            f"{asked} requests: {RETRIED_WITHOUT_END} (the provider refused it past its limit, HTTP 400, "
            "which ended the run)")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (its timeout, a reset) is a client's business: not printed."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # without it every answer waits for the client's delayed ACK (tens of milliseconds)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


_PATH = re.compile(r"^/t/([0-9a-f]+)/v1/(chat/completions|_harness/(segment|outage|grace|spare))$")


def _handler(server: ProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        #: buffered: an answer's head and body leave in one write (`_send`)
        wbufsize = -1

        def log_message(self, *args: Any) -> None:  # the request log is the server's own
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.endswith("/v1/models"):
                self._json(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})
            else:
                self._json(404, {"error": {"message": f"no such path: {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            found = _PATH.match(self.path.split("?")[0])
            if found is None:
                self._json(404, {"error": {"message": f"no such path: {self.path}"}})
                return
            token, what = found.group(1), found.group(3)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._json(400, {"error": {"message": "the body is not JSON"}})
                return
            try:
                if what is not None:
                    server.control(token, what, body)
                    self._json(200, {"ok": True})
                    return
                prompt = prompt_of(body)
                verdict, slow = server.decide(token, prompt)
                stall = server._trial(token).stall
            except KeyError:
                self._json(404, {"error": {"message": "no such trial"}})
                return
            self._answer(verdict, body, prompt, slow, stall)

        def _answer(self, verdict: str, body: dict[str, Any], prompt: str, slow: float, stall: bool = False) -> None:
            if verdict == "ok":
                self._json(200, completion(body.get("model", MODEL_NAME), answer(prompt)))
            elif verdict in ("http500", "outage"):
                self._json(500 if verdict == "http500" else 503, {"error": {"message": f"provider fault: {verdict}",
                                                                           "type": "server_error"}})
            elif verdict == "http429":
                self._json(429, {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                           {"Retry-After": "0"})
            elif verdict == "runaway":
                self._json(400, {"error": {"message": "asked too often: retried without end",
                                           "type": "invalid_request_error"}})
            elif verdict == "revoked":
                self._json(401, {"error": {"message": "Incorrect API key provided (a revoked key: a provider fault)",
                                           "type": "invalid_request_error", "code": "invalid_api_key"}})
            elif verdict == "http400":
                self._json(400, {"error": {"message": "bad request (a provider fault)",
                                           "type": "invalid_request_error"}})
            elif verdict == "reset":
                self.close_connection = True
                try:  # an RST instead of an answer
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                except OSError:
                    pass
            elif verdict == "slow" and stall:
                self._send(200, json.dumps(completion(body.get("model", MODEL_NAME), answer(prompt))).encode(),
                           {"Content-Type": "application/json"}, stall=slow)
            elif verdict == "slow":
                time.sleep(slow)
                self._json(200, completion(body.get("model", MODEL_NAME), answer(prompt)))
            elif verdict == "malformed":
                self._send(200, b"{not json", {"Content-Type": "application/json"})
            else:
                raise ValueError(verdict)

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

        def _send(self, status: int, data: bytes, headers: dict[str, str], stall: float = 0.0) -> None:
            """One write, head and body together (`wbufsize`: a client that has the head has
            the body), or, `stall`, the head at once and the body that many seconds later."""
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if stall:
                    self.wfile.flush()
                    time.sleep(stall)
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:
                self.close_connection = True  # the client gave up (a timeout): nothing to answer

    return Handler


def prompt_of(body: dict[str, Any]) -> str:
    """The last user message's text (content as a string or a list of text parts)."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            return "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return str(content or "")
    return ""


def completion(model: str, text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-harness", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _token(endpoint: str) -> str:
    found = re.search(r"/t/([0-9a-f]+)/v1", endpoint)
    if found is None:
        raise ValueError(f"not a trial endpoint: {endpoint}")
    return found.group(1)


# ----- what a segment's process calls (any process: it speaks HTTP) -----------------------------
def _parts(endpoint: str) -> tuple[str, int, str]:
    """An endpoint's host, port and path (`http://HOST:PORT/PATH`)."""
    found = re.match(r"^http://([^/:]+):(\d+)(/.*)$", endpoint)
    if found is None:
        raise ValueError(f"not an http endpoint: {endpoint}")
    return found.group(1), int(found.group(2)), found.group(3)


def tell(endpoint: str, what: str, **body: Any) -> None:
    """Tell the server where a trial is: `segment` (one begins), `outage` (from now on),
    `grace` (requests an outage still lets through), `spare` (a prompt's next request is not
    its first in the segment: it is not the one a transient fault fails)."""
    direct = _direct(endpoint)
    if direct is not None:
        direct[0].control(direct[1], what, body)
        return
    # http.client, not urllib.request: a child process says "segment" once at its start, and
    # urllib's opener (proxies from the environment, handlers) cost it about 5 ms
    import http.client

    host, port, path = _parts(endpoint)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("POST", f"{path}/_harness/{what}", json.dumps(body).encode(),
                           {"Content-Type": "application/json"})
        reply = connection.getresponse()
        data = reply.read()
    finally:
        connection.close()
    if reply.status != 200:
        raise OSError(f"the model provider refused {what!r}: HTTP {reply.status} {data[:200]!r}")


#: where a trial's endpoint is kept in its directory, for the processes its segments run in
ENDPOINT_FILE = "provider-endpoint"


def write_endpoint(workdir: Any, endpoint: str) -> None:
    (workdir / ENDPOINT_FILE).write_text(endpoint)


def read_endpoint(workdir: Any) -> str:
    return (workdir / ENDPOINT_FILE).read_text()


# ----- one server per process ------------------------------------------------------------------
_RUNNING: ProviderServer | None = None
_RUNNING_LOCK = threading.Lock()


def running() -> ProviderServer:
    """This process's server, started on first use (it lives as long as the process)."""
    global _RUNNING
    with _RUNNING_LOCK:
        if _RUNNING is None:
            _RUNNING = ProviderServer().start()
        return _RUNNING


@contextmanager
def serving() -> Iterator[ProviderServer]:
    """A server of its own for a `with` block (tests, the pytest fixture)."""
    server = ProviderServer().start()
    try:
        yield server
    finally:
        server.stop()


# ----- a client: the reference's, and the tests' ------------------------------------------------
#: tries per request, the first included (a failing row is tried about three times, then dropped)
TRIES = 3


@dataclass(frozen=True)
class Completion:
    """What asking for one prompt came to: its text, or None after the tries (`permanent`:
    the provider said the request itself is wrong, so it was not tried again)."""

    text: str | None
    tries: int
    permanent: bool = False
    #: what the last try met, where it failed: "refused" (HTTP 4xx), "unauthorized" (HTTP 401
    #: or 403: the key, not the request), "status" (5xx, 429), "reset" (the connection closed
    #: without an answer), "timeout" (no answer in time) or "unparsable" (a body that is not a
    #: completion)
    failure: str = ""


class Client:
    """A minimal OpenAI-compatible chat client, one keep-alive connection per thread: up to
    `TRIES` tries; HTTP 5xx, 429, a reset connection, a timeout and a body that is not a
    completion are temporary, HTTP 4xx (other than 429) is permanent, except HTTP 401 and 403:
    the key was refused, not the request, so the row is not given up for good (a run with a
    valid key gets it) but not tried again in this run either.

    Its timeout is a stalled body's: it waits up to `patience` for an answer to begin and
    then `timeout` for the rest. The provider sends an answer's head and body in one write,
    except a `slow` answer of a trial opened with `stall`, whose body comes seconds later;
    so whether a request timed out is the provider's decision, never the machine's load (a
    timeout on the whole answer lost rows on a loaded machine: a scheduler's delay of 50 ms
    three times in a row is a dropped row)."""

    def __init__(self, endpoint: str, timeout: float = CLIENT_TIMEOUT, patience: float = CLIENT_PATIENCE) -> None:
        self.host, self.port, self.path = _parts(endpoint)
        self.timeout = timeout
        self.patience = patience
        self._local = threading.local()
        self._connections: list[Any] = []
        self._direct = _direct(endpoint)

    def close(self) -> None:
        """Close every connection this client opened, in any thread."""
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        self._local = threading.local()

    @staticmethod
    def body(prompt: str, model: str = MODEL_NAME) -> bytes:
        return json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}]}).encode()

    def complete(self, prompt: str, model: str = MODEL_NAME, once: frozenset[str] = frozenset()) -> Completion:
        """`once`: the kinds of failure not tried again, the row given up at once (as
        DataDesigner's clients do for some: known bugs' models, `harness.reference.known_bugs`):
        "status" (HTTP 5xx or 429), "reset" (the connection closed without an answer),
        "timeout" (no answer in time), "unparsable" (HTTP 200 with a body that is not a
        completion)."""
        body = self.body(prompt, model)
        failure = ""
        for attempt in range(1, TRIES + 1):
            status, text = self._post(body) if self._direct is None else self._ask(prompt)
            if status == 200 and text is not None:
                return Completion(text, attempt)
            if status in (401, 403):
                return Completion(None, attempt, failure="unauthorized")
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                return Completion(None, attempt, permanent=True, failure="refused")
            failure = status if isinstance(status, str) else "unparsable" if status == 200 else "status"
            if failure in once:
                return Completion(None, attempt, permanent=True, failure=failure)
        return Completion(None, TRIES, failure=failure)

    def _ask(self, prompt: str) -> tuple[int | str, str | None]:
        """`_post`'s answer for a direct trial: the server's decision, without HTTP."""
        server, token = self._direct  # type: ignore[misc]
        verdict, _ = server.decide(token, prompt)
        status, completes = _AS_READ[verdict]
        return status, (answer(prompt) if completes else None)

    def _post(self, body: bytes) -> tuple[int | str, str | None]:
        """The HTTP status and the completion's text (None: not a completion), or, where no
        answer came, "timeout" or "reset" and None."""
        import http.client

        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.host, self.port,
                                                                              timeout=self.patience)
            self._connections.append(connection)
        try:
            if connection.sock is not None:
                connection.sock.settimeout(self.patience)
            connection.request("POST", f"{self.path}/chat/completions", body,
                               {"Content-Type": "application/json", "Authorization": "Bearer harness"})
            if connection.sock is not None:
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reply = connection.getresponse()
            if connection.sock is not None:
                connection.sock.settimeout(self.timeout)
            data = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            self._local.connection = None
            return ("timeout" if isinstance(exc, TimeoutError) else "reset"), None
        if reply.status != 200:
            return reply.status, None
        try:
            return 200, json.loads(data)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return 200, None


__all__ = ["Client", "Completion", "ProviderServer", "Request", "running", "serving", "tell"]
