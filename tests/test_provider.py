"""The local model provider: a real HTTP server on loopback answering chat completions as a
function of the prompt, faulting requests by the seed row their prompt carries (never by
time or arrival order), and logging every request per trial and segment."""

from __future__ import annotations

import http.client
import json
import threading

import pytest

from harness import provider
from harness.model_columns import PROVIDER_FAULT_KINDS, ModelColumn, ProviderFault, answer, row_of


@pytest.fixture(scope="module")
def server():
    with provider.serving() as running:
        yield running


def raw_post(endpoint: str, body: dict) -> tuple[int | None, bytes]:
    """One request as DataDesigner's client sends it (content as a list of text parts)."""
    host, port, path = endpoint.split("/")[2].split(":")[0], int(endpoint.split(":")[2].split("/")[0]), \
        "/" + endpoint.split("/", 3)[3]
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("POST", f"{path}/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        reply = connection.getresponse()
        return reply.status, reply.read()
    except (OSError, http.client.HTTPException):
        return None, b""
    finally:
        connection.close()


def parts(prompt: str) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}]}


def test_a_completion_is_a_function_of_the_prompt_and_content_parts_are_read(server):
    endpoint = server.open_trial()
    status, body = raw_post(endpoint, parts("[row 3] describe alpha"))
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"] == answer("[row 3] describe alpha")
    assert answer("[row 3] describe alpha") != answer("[row 4] describe alpha")
    assert [(r.row, r.answer, r.paid) for r in server.close_trial(endpoint)] == [(3, "ok", True)]


def test_a_model_column_prompt_carries_its_seed_row():
    column = ModelColumn("summary", "summarize")
    assert column.template == "[row {{ seed_id }}] summary: summarize {{ name }}"
    assert row_of(column.prompt({"seed_id": 12, "name": "alpha"})) == 12
    assert row_of("Hello!") is None


@pytest.mark.parametrize("kind", sorted(k for k, v in PROVIDER_FAULT_KINDS.items() if v.temporary))
def test_each_fault_kind_is_answered_as_it_says_and_a_transient_one_once_per_segment(server, kind):
    endpoint = server.open_trial((ProviderFault(1, kind),), client_timeout=0.1)
    client = provider.Client(endpoint, timeout=0.1)
    status, body = raw_post(endpoint, parts("[row 1] x alpha"))
    if kind == "http500":
        assert status == 500
    elif kind == "http429":
        assert status == 429
    elif kind == "reset":
        assert status is None
    elif kind == "malformed":
        assert status == 200 and not body.startswith(b"{\"")
    if kind != "slow":  # (the raw request waits for a slow answer: it came, late)
        # a second request for the same prompt in the same segment succeeds: the fault was transient
        assert client.complete("[row 1] x alpha").text == answer("[row 1] x alpha")
    else:
        done = client.complete("[row 1] x alpha")
        assert done.text == answer("[row 1] x alpha") and done.tries == 1  # the first was the raw request
    # other rows are not touched; a new segment faults the row's first request again
    assert client.complete("[row 2] x alpha").tries == 1
    provider.tell(endpoint, "segment", segment=1)
    again = client.complete("[row 1] x alpha")
    assert again.text is not None and again.tries == 2
    log = server.close_trial(endpoint)
    assert [r.answer for r in log if r.row == 1 and r.segment == 1] == [kind, "ok"]


@pytest.mark.parametrize("direct", [False, True], ids=["http", "direct"])
def test_a_spared_request_is_not_the_one_a_transient_fault_fails_and_an_outage_spends_the_spare(server, direct):
    """A model asking in another order than its release dispatches says which request is not
    the segment's first for its prompt (`spare`): that one is answered, the next one fails;
    a spare is for one request, whatever it meets, and a new segment forgets it."""
    endpoint = server.open_trial((ProviderFault(1, "http500"),), direct=direct)
    client = provider.Client(endpoint)
    once = frozenset({"status"})
    provider.tell(endpoint, "spare", prompt="[row 1] x alpha")
    assert client.complete("[row 1] x alpha", once=once).text is not None
    assert client.complete("[row 1] x alpha", once=once).failure == "status"  # the first not spared
    assert client.complete("[row 1] x alpha", once=once).text is not None
    provider.tell(endpoint, "segment", segment=1)
    provider.tell(endpoint, "spare", prompt="[row 1] x alpha")
    provider.tell(endpoint, "outage")
    assert client.complete("[row 1] x alpha", once=once).failure == "status"  # the outage's, spare spent
    provider.tell(endpoint, "segment", segment=2)
    provider.tell(endpoint, "spare", prompt="[row 2] x beta")  # another prompt's spare
    assert client.complete("[row 1] x alpha", once=once).failure == "status"
    log = server.close_trial(endpoint)
    assert [(r.segment, r.answer) for r in log] == [(0, "ok"), (0, "http500"), (0, "ok"), (1, "outage"),
                                                    (2, "http500")]


def test_a_permanent_fault_fails_every_try_and_a_400_is_not_tried_again(server):
    endpoint = server.open_trial((ProviderFault(1, "http500", permanent=True), ProviderFault(2, "http400", True)))
    client = provider.Client(endpoint)
    assert client.complete("[row 1] x a") == provider.Completion(None, provider.TRIES, failure="status")
    assert client.complete("[row 2] x a") == provider.Completion(None, 1, permanent=True, failure="refused")
    log = server.close_trial(endpoint)
    assert [r.answer for r in log] == ["http500"] * provider.TRIES + ["http400"]
    assert not any(r.paid for r in log)


def test_an_unparsable_answer_is_tried_again_unless_the_client_is_datadesigner_s(server):
    """The reference's client tries an answer that is not JSON again (the next one is a
    completion); the known bug's model (DataDesigner's client) drops the row at once."""
    endpoint = server.open_trial((ProviderFault(1, "malformed"),))
    client = provider.Client(endpoint)
    assert client.complete("[row 1] x a") == provider.Completion(answer("[row 1] x a"), 2)
    server.close_trial(endpoint)
    endpoint = server.open_trial((ProviderFault(1, "malformed"),))
    client = provider.Client(endpoint)
    assert client.complete("[row 1] x a", once=frozenset({"unparsable"})) == provider.Completion(
        None, 1, permanent=True, failure="unparsable")
    assert [r.answer for r in server.close_trial(endpoint)] == ["malformed"]


@pytest.mark.parametrize(("kind", "failure"), [("http500", "status"), ("http429", "status"), ("reset", "reset"),
                                               ("slow", "timeout"), ("malformed", "unparsable")])
def test_a_client_gives_up_at_once_on_the_kinds_of_failure_it_is_told(server, kind, failure):
    """The known bugs' models give a kind of failure up at once (a release's client that does
    not try it again); every other kind is still tried again."""
    endpoint = server.open_trial((ProviderFault(1, kind),), 0.05)
    client = provider.Client(endpoint, timeout=0.05)
    assert client.complete("[row 1] x a", once=frozenset({failure})) == provider.Completion(
        None, 1, permanent=True, failure=failure)
    server.close_trial(endpoint)
    endpoint = server.open_trial((ProviderFault(1, kind),), 0.05)
    client = provider.Client(endpoint, timeout=0.05)
    others = frozenset({"status", "reset", "timeout", "unparsable"} - {failure})
    assert client.complete("[row 1] x a", once=others).text == answer("[row 1] x a")
    server.close_trial(endpoint)


def test_an_outage_fails_every_request_until_the_next_segment_and_spares_overhead(server):
    endpoint = server.open_trial()
    client = provider.Client(endpoint)
    assert client.complete("[row 0] x a").text is not None
    provider.tell(endpoint, "outage")
    assert client.complete("[row 0] x a").text is None
    assert client.complete("Hello!").text is not None  # a health check is not a row's: never faulted
    provider.tell(endpoint, "segment", segment=1)
    assert client.complete("[row 0] x a").text is not None
    log = server.close_trial(endpoint)
    assert [(r.segment, r.answer) for r in log if not r.overhead] == [(0, "ok")] + [(0, "outage")] * 3 + [(1, "ok")]
    assert [r.overhead for r in log].count(True) == 1


def test_a_revoked_key_refuses_every_row_request_with_401_until_the_next_segment(server):
    """A revoked key: HTTP 401 on every row's request (a health check still answered), which
    the client does not try again and does not give the row up for good (the key, not the
    request, was refused); a new segment has a valid key."""
    endpoint = server.open_trial()
    client = provider.Client(endpoint)
    provider.tell(endpoint, "outage", kind="revoked")
    assert raw_post(endpoint, parts("[row 1] x a"))[0] == 401
    assert client.complete("[row 0] x a") == provider.Completion(None, 1, failure="unauthorized")
    assert client.complete("Hello!").text is not None
    provider.tell(endpoint, "segment", segment=1)
    assert client.complete("[row 0] x a").text is not None
    log = server.close_trial(endpoint)
    assert [(r.segment, r.answer) for r in log if not r.overhead] == [(0, "revoked"), (0, "revoked"), (1, "ok")]
    with pytest.raises(OSError, match="HTTP 404"):
        provider.tell(server.open_trial(), "outage", kind="gone")


def test_trials_are_apart_and_concurrent_requests_are_all_logged(server):
    one = server.open_trial((ProviderFault(0, "http500", permanent=True),))
    other = server.open_trial()
    results = []

    def ask(endpoint: str) -> None:
        results.append(provider.Client(endpoint).complete("[row 0] x a").text)

    threads = [threading.Thread(target=ask, args=(e,)) for e in (one, other) * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 8
    assert len(server.close_trial(one)) == 8 * provider.TRIES
    assert [r.answer for r in server.close_trial(other)] == ["ok"] * 8


def test_an_unknown_trial_or_path_is_a_404(server):
    assert raw_post(server.open_trial().replace("/t/", "/t/0"), parts("[row 0] x"))[0] == 404


# ----- direct trials: the known bugs' models' runs, answered without HTTP ---------------------
def test_a_direct_trial_answers_in_process_as_over_http_and_a_forked_process_still_speaks_http(server):
    """Each fault kind, transient and permanent, and an outage: a client of a direct trial in
    the server's process gets what a client over HTTP gets, the log says the same, and a slow
    answer is a timeout without the wait; in a forked child the same trial is asked over HTTP."""
    import os
    import time

    kinds = sorted(PROVIDER_FAULT_KINDS)
    plan = tuple(ProviderFault(i, kind, permanent=i % 2 == 1) for i, kind in enumerate(kinds * 2))
    prompts = [f"[row {f.seed_id}] x alpha" for f in plan] * 2 + ["Hello!"]
    seen = {}
    for direct in (False, True):
        endpoint = server.open_trial(plan, 0.05, direct=direct)
        client = provider.Client(endpoint, timeout=0.05)
        assert (client._direct is not None) == direct
        started = time.monotonic()
        answers = [client.complete(p) for p in prompts]
        provider.tell(endpoint, "outage")
        answers += [client.complete(p) for p in prompts[:3]]
        provider.tell(endpoint, "segment", segment=1)
        answers += [client.complete(p) for p in prompts]
        took = time.monotonic() - started
        seen[direct] = answers, [(r.segment, r.row, r.answer) for r in server.close_trial(endpoint)], took
    assert seen[True][:2] == seen[False][:2]
    assert any(a.failure == "timeout" for a in seen[True][0]) and seen[True][2] < seen[False][2]
    # a fork of this process: the server's threads are not there, so the same trial is asked over HTTP
    endpoint = server.open_trial((ProviderFault(0, "http500", permanent=True),), 0.05, direct=True)
    child = os.fork()
    if child == 0:
        ok = provider.Client(endpoint)._direct is None and provider.Client(endpoint).complete("[row 0] x").tries == 3
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [r.answer for r in server.close_trial(endpoint)] == ["http500"] * provider.TRIES


def test_the_models_runs_with_model_columns_are_the_same_direct_or_over_http():
    """The known bugs' models answer their provider trials without HTTP; on drawn scenarios
    with model columns and provider faults (either engine, every interruption) the outcome,
    rows and request counts, is the same as over HTTP."""
    import tempfile
    from collections import Counter
    from pathlib import Path

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from harness.ledger import load_ledger, packaged_ledger
    from harness.reference.known_bugs import model_target
    from harness.strategies import scenarios
    from harness.targets.reference import ReferenceTarget

    ledger = load_ledger(packaged_ledger())
    names = sorted({f.model for f in ledger if {"faults", "provider_faults"} & set(f.signature)})
    caps = ReferenceTarget().capabilities

    @settings(max_examples=25, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(scenarios(caps).filter(lambda s: bool(s.model_columns)), st.sampled_from(names))
    def same(scenario, name):
        got = {}
        for direct in (False, True):
            target = model_target([name])
            target.provider_direct = direct
            with tempfile.TemporaryDirectory() as tmp:
                outcome = target.run(scenario, Path(tmp) / "run")
                error = (outcome.error or "").replace(tmp, "<trial>")
            requests = Counter((r["segment"], r["row"], r["answer"]) for r in outcome.requests)
            got[direct] = outcome.rows, error, requests
        assert got[True] == got[False], scenario.to_json()

    same()


@pytest.mark.parametrize("direct", [False, True], ids=["http", "direct"])
def test_a_prompt_asked_past_the_limit_in_a_segment_is_refused_and_the_run_is_said_to_hang(server, direct):
    """A row retried without end (DataDesigner's async engine with a row always rate-limited)
    would keep a run going forever: past `ask_limit` requests for one prompt in one segment
    the provider refuses it (HTTP 400: every client gives up at once), so the run ends, and
    the trial's log says where it ran away. A new segment counts again."""
    endpoint = server.open_trial((ProviderFault(1, "http429", permanent=True),), direct=direct, ask_limit=5)
    client = provider.Client(endpoint)
    answers = [client.complete("[row 1] x beta") for _ in range(2)]
    assert [(a.failure, a.tries) for a in answers] == [("status", 3), ("refused", 3)]  # 3 + 2 then the refusal
    assert client.complete("[row 2] x gamma").text is not None  # other prompts are counted apart
    provider.tell(endpoint, "segment", segment=1)
    assert client.complete("[row 1] x beta").failure == "status"
    log = server.close_trial(endpoint)
    assert [r.answer for r in log if r.segment == 0 and r.row == 1] == ["http429"] * 5 + ["runaway"]
    segment, said = provider.runaway(log)
    assert segment == 0 and said.startswith("hang: segment 0 ") and "after 6 requests" in said
    assert provider.runaway([r for r in log if r.answer != "runaway"]) is None


def test_a_scenario_s_limit_leaves_room_for_every_record_of_a_seed_row_and_its_tries():
    from harness.scenario import IndexRange, Scenario, SeedRow, Segment

    rows = tuple(SeedRow(i, n) for i, n in enumerate(("alpha", "beta", "gamma", "delta")))
    wide = Scenario(seeds=rows, segments=(Segment(8),))
    narrow = Scenario(seeds=rows, selection=IndexRange(1, 1), segments=(Segment(3), Segment(8, "always")))
    assert provider.ask_limit(wide) == provider.RUNAWAY_BASE + 2 * provider.RUNAWAY_PER_RECORD
    assert provider.ask_limit(narrow) == provider.RUNAWAY_BASE + 8 * provider.RUNAWAY_PER_RECORD
    assert provider.RUNAWAY_PER_RECORD > 3 * provider.TRIES  # a correct client's tries, a resume's, retries in flight


def test_a_loaded_machine_never_times_a_request_out_only_a_slow_answer_does(server, monkeypatch):
    """Whether a request timed out is the provider's decision: an answer whose server thread
    is scheduled late (here 0.3 s, six times the client's timeout) is still an answer; a
    `slow` one times out, however quickly its head came. (A timeout on the whole answer
    dropped rows of the reference on a loaded CI machine.)"""
    decide = server.decide

    def late(token, prompt):
        import time

        time.sleep(0.3)
        return decide(token, prompt)

    monkeypatch.setattr(server, "decide", late)
    endpoint = server.open_trial((ProviderFault(1, "slow", permanent=True),))
    client = provider.Client(endpoint, timeout=0.05)
    assert client.complete("[row 2] x a") == provider.Completion(answer("[row 2] x a"), 1)
    assert client.complete("[row 1] x a") == provider.Completion(None, provider.TRIES, failure="timeout")
    assert [r.answer for r in server.close_trial(endpoint)] == ["ok", "slow", "slow", "slow"]


def test_a_slow_answer_to_a_release_is_late_as_a_whole(server):
    """DataDesigner's trials (`stall=False`): nothing of a slow answer comes before its wait."""
    endpoint = server.open_trial((ProviderFault(1, "slow"),), client_timeout=0.05, stall=False)
    host, port = endpoint.split("/")[2].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=0.15)
    try:
        connection.request("POST", "/" + endpoint.split("/", 3)[3] + "/chat/completions",
                           json.dumps(parts("[row 1] x a")), {"Content-Type": "application/json"})
        with pytest.raises(TimeoutError):
            connection.getresponse()
    finally:
        connection.close()
        server.close_trial(endpoint)
