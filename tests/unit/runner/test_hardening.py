"""Issue 14's runner items: nothing a testcase says can stall the loop past the run's
deadline, flood the worker's memory, crash the run, or reach the platform's own services."""

from __future__ import annotations

import ipaddress
import json
import threading
from typing import Any

import pytest

from chalicelib.runner.comparators import compare
from chalicelib.runner.errors import OutboundRefused, SubstitutionError, TestcaseInvalid
from chalicelib.runner.functions import FunctionContext, call_function
from chalicelib.runner.jmespath_bounded import search
from chalicelib.runner.paths import PathError
from chalicelib.runner.schema import validate_testcase
from chalicelib.runner.ssrf import OutboundPolicy, legacy_ipv4, parse_outbound_allow
from chalicelib.runner.template import MAX_RENDERED_SIZE, Scope, expanded_size
from chalicelib.runner.transport import InboundResponse, OutboundRequest, timeout_message

from .fakes import BASE, FakeTransport, case, echo, get, json_response, run

CTX = FunctionContext(wall_clock=lambda: 1_700_000_000.0)


def _finishes(work: Any, seconds: float = 60) -> Any:
    """Runs ``work`` in a daemon thread: a liveness guard, not a timing assert (a
    backtracking engine would take longer than the universe's age on these inputs)."""
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, work()))
        except Exception as exc:  # noqa: BLE001 - raised again in the test's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, "did not finish: the work is not bounded"
    finished, value = outcome[0]
    if not finished:
        raise value
    return value


def _step(report: dict, testcase: int = 0, step: int = 0) -> dict:
    return report["testcases"][testcase]["steps"][step]


# ---- item 2: CPU-bound work ----


def test_a_backtracking_pattern_runs_in_linear_time() -> None:
    reason = _finishes(lambda: compare("regex_match", "a" * 5000 + "c", "(a+)+b"))
    assert "does not match" in reason
    assert compare("regex_match", "a" * 31 + "b", "(a+)+b") is None


def test_patterns_re2_cannot_run_are_refused_with_the_reason() -> None:
    reason = compare("regex_match", "aa", r"(a)\1")
    assert "RE2" in reason and "backreferences" in reason
    with pytest.raises(TestcaseInvalid) as caught:
        validate_testcase(case(get(validate=[{"regex_match": ["body.x", "(?=a)b"]}])))
    assert "lookaround" in str(caught.value)


def test_a_regex_check_of_a_whole_step_finishes_with_its_verdict() -> None:
    fake = FakeTransport(lambda request: json_response({"text": "a" * 3000}))
    report = _finishes(lambda: run([case(get(validate=[
        {"regex_match": ["body.text", "(a+)+b"]}, {"regex_match": ["body.text", "(a|aa)+$"]},
    ]))], fake))
    results = [v["result"] for v in _step(report)["validators"]]
    assert results == ["fail", "pass"]


@pytest.mark.parametrize(("name", "args"), [
    ("round", [5, -20000000]),
    ("round", [5.5, 10**6]),
    ("round", [5, True]),
    ("now", ["UTC", "%c" * 1000]),
    ("get_current_date", ["%Y" * 200]),
    ("now", ["x" * 300]),
])
def test_builtins_refuse_arguments_that_would_cost_without_bound(name: str, args: list) -> None:
    with pytest.raises(SubstitutionError):
        _finishes(lambda: call_function(name, args, {}, CTX))


def test_round_still_rounds() -> None:
    assert call_function("round", [1234.5678, 2], {}, CTX) == 1234.57
    assert call_function("round", [1234, -2], {}, CTX) == 1200


def test_a_literal_number_of_thousands_of_digits_is_a_substitution_error() -> None:
    report = run([case(get(variables={"n": "${int(" + "9" * 5000 + ")}"}, request={
        "headers": {"X-N": "$n"}}))])
    step = _step(report)
    assert step["error_type"] == "variable" and "digits" in step["error"]


def test_the_deadline_holds_between_checks_when_the_checks_take_the_time() -> None:
    now = {"t": 0.0}

    def clock() -> float:
        now["t"] += 1.0  # every look at the clock: time spent on the checks
        return now["t"]

    checks = [{"eq": ["status_code", 200]} for _ in range(50)]
    report = run([case(get(validate=checks))], FakeTransport(), clock=clock, deadline_seconds=10)
    step = _step(report)
    assert step["error_type"] == "deadline" and "checks" in step["error"]
    assert len(step["validators"]) < 10
    assert report["testcases"][0]["success"] is False


def test_testcases_after_the_deadline_render_nothing() -> None:
    now = {"t": 0.0}

    def handler(request: OutboundRequest) -> InboundResponse:
        now["t"] += 20
        return echo(request)

    bomb = {"v0": "${undefined_function_never_called()}"}
    report = run([case(get("/a")), case(get("/b"), variables=bomb)], FakeTransport(handler),
                 clock=lambda: now["t"], deadline_seconds=15, concurrency=1)
    late = report["testcases"][1]
    assert late["success"] is False
    assert [s["error_type"] for s in late["steps"]] == ["deadline"]


def test_retry_waits_stop_at_the_deadline() -> None:
    waits: list[float] = []
    now = {"t": 0.0}

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now["t"] += seconds

    fake = FakeTransport(lambda request: json_response({}, status=500))
    run([case(get(validate=[{"eq": ["status_code", 200]}], retry_times=3, retry_interval=300))],
        fake, clock=lambda: now["t"], sleep=sleep, deadline_seconds=100)
    assert waits[0] == 100 and sum(waits) <= 100


@pytest.mark.parametrize("expression", [
    "body" + " | [@,@]" * 40,  # a result that doubles at every pipe
    "to_string(body" + " | [@,@]" * 40 + ")",
    "(body" + " | [@,@]" * 30 + ") == (body" + " | [@,@]" * 30 + ")",
    "(body" + " | [@,@]" * 30 + ")" + "[]" * 30,
    "join('', body" + " | [@,@]" * 30 + "[][][][][][][][][][][][][][][][][][][][][][][][][][][][][])",
])
def test_jmespath_paths_are_bounded(expression: str) -> None:
    with pytest.raises(PathError) as caught:
        _finishes(lambda: search(expression, {"body": ["x" * 10]}))
    assert caught.value.kind == "too_large"


def test_a_bounded_path_fails_its_step_as_too_large() -> None:
    fake = FakeTransport(lambda request: json_response({"items": [1, 2, 3]}))
    report = run([case(get(extract={"x": "body.items" + " | [@,@]" * 40}))], fake)
    step = _step(report)
    assert step["error_type"] == "too_large"
    assert report["testcases"][0]["success"] is False


# ---- item 3: memory ----


def _doubling(levels: int) -> dict[str, Any]:
    """The issue's bomb: each list references the one below twice (1.75 GB at 27 levels)."""
    variables: dict[str, Any] = {"v0": ["x" * 50]}
    for level in range(1, levels + 1):
        variables[f"v{level}"] = [f"$v{level - 1}", f"$v{level - 1}"]
    return variables


def test_doubling_list_variables_are_refused_while_they_are_built() -> None:
    fake = FakeTransport()
    report = run([case(get(request={"method": "POST", "json": {"all": "$v27"}}),
                       variables=_doubling(27))], fake)
    testcase = report["testcases"][0]
    assert testcase["success"] is False
    assert "exceed" in testcase["error"] and "multiply" in testcase["error"]
    assert fake.sent == []


def test_the_same_bomb_in_step_variables_fails_that_step_and_the_next_testcase_runs() -> None:
    fake = FakeTransport()
    bomb = get(variables=_doubling(27), request={"method": "POST", "json": "$v27"})
    report = run([case(bomb), case(get())], fake)
    step = _step(report)
    assert step["error_type"] == "variable" and "exceed" in step["error"]
    assert report["testcases"][1]["success"] is True
    assert (report["tests_run"], report["successes"]) == (2, 1)


def test_a_long_string_repeated_in_every_field_counts_every_time() -> None:
    body = {f"k{i}": "$s" for i in range(30)}
    report = run([case(get(request={"method": "POST", "json": body}),
                       variables={"s": "${random_string(4096)}" * 100})])
    assert "exceed" in _step(report)["error"]


def test_function_results_count_too() -> None:
    scope = Scope({"v": "${ENV(big)}"}, {}, FunctionContext(environment={"big": "x" * 1000}))
    for _ in range(MAX_RENDERED_SIZE // 1000):
        scope.render("${ENV(big)}")
    with pytest.raises(SubstitutionError):
        scope.render("${ENV(big)}")


def test_what_legitimately_fits_still_renders() -> None:
    report = run([case(get(request={"method": "POST", "json": "$v10"}), variables=_doubling(10))])
    step = _step(report)
    assert step["success"] is True
    sent = json.loads(report["testcases"][0]["steps"][0]["request"]["body"])
    assert len(sent) == 2 and len(json.dumps(sent)) > 50 * 1024


def test_expanded_size_stops_at_its_limit_whatever_the_sharing() -> None:
    value: Any = ["x"]
    for _ in range(200):
        value = [value, value]  # 2**200 leaves
    assert 1000 < expanded_size(value, 1000) < 2000
    assert expanded_size({"ab": [1, "cd"], "e": None}, 10**6) < 40


def test_chained_variables_deeper_than_the_bound_are_an_error_not_a_crash() -> None:
    variables = {f"v{i}": f"$v{i + 1}" for i in range(500)}
    variables["v500"] = "end"
    report = run([case(get(request={"headers": {"X": "$v0"}}), variables=variables),
                  case(get())])
    assert "deep" in report["testcases"][0]["error"]
    assert report["testcases"][1]["success"] is True


def test_report_values_are_capped_so_repeated_big_checks_are_not_stored_again_and_again() -> None:
    big = {"items": list(range(50_000))}
    fake = FakeTransport(lambda request: json_response(big))
    checks = [{"eq": ["body", big]} for _ in range(20)]
    report = run([case(get(validate=checks, extract={"all": "body"}))], fake,
                 max_body_chars=1000)
    step = _step(report)
    assert step["success"] is True
    assert all(isinstance(v["actual"], str) and "over 1000" in v["actual"]
               for v in step["validators"])
    assert "over 1000" in step["extracted"]["all"]
    assert len(json.dumps(report)) < 50_000


def test_the_whole_report_is_bounded_however_many_steps_keep_big_values() -> None:
    text = "a" * 5000
    fake = FakeTransport(lambda request: json_response({"text": text}))
    steps = [get(name=f"s{i}", validate=[{"startswith": ["body.text", "a"]}] * 10)
             for i in range(50)]
    report = run([case(*steps), case(get())], fake, max_report_chars=200_000)
    assert len(json.dumps(report)) < 400_000  # 50 steps x 11 copies of 5000 characters: 2.75 MB
    assert report["success"] is True and report["tests_run"] == 2  # the verdicts all stay
    last = report["testcases"][0]["steps"][-1]
    assert last["validators"][0]["actual"] == "(omitted: the report reached its size limit)"
    assert last["response"]["body_truncated"] is True and last["response"]["body"] == ""


def test_a_response_nested_too_deeply_is_a_step_error() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    fake = FakeTransport(lambda request: InboundResponse(200, [], deep))
    report = run([case(get(validate=[{"eq": ["body.x", 1]}])), case(get())], fake)
    assert "nested too deeply" in _step(report)["error"]
    assert report["testcases"][1]["success"] is True


# ---- items 5 and 6: one bad testcase fails alone, with a clear error ----


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x00b", "a\rb"])
def test_a_header_rendering_to_cr_lf_or_nul_is_a_step_error(value: str) -> None:
    fake = FakeTransport()
    report = run([case(get(request={"headers": {"X-Token": "$t"}}), variables={"t": value}),
                  case(get())], fake)
    step = _step(report)
    assert step["error_type"] == "invalid_request"
    assert "X-Token" in step["error"] and "HTTP does not allow" in step["error"]
    assert report["testcases"][1]["success"] is True
    assert len(fake.sent) == 1


def test_a_header_name_rendered_from_a_variable_must_be_a_token() -> None:
    report = run([case(get(request={"headers": {"$name": "v"}}), variables={"name": "X\r\nY"})])
    assert _step(report)["error_type"] == "invalid_request"


def test_tab_and_non_ascii_header_values_still_go_through() -> None:
    fake = FakeTransport()
    run([case(get(request={"headers": {"X-A": "a\tb", "X-B": "é"}}))], fake)
    assert ("X-A", "a\tb") in fake.sent[0].headers


@pytest.mark.parametrize(("headers", "needle"), [
    ({"X-Token": "a\r\nX-Injected: 1"}, "carriage return"),
    ({"X-Token": "a\x00"}, "NUL"),
    ({"Bad Name": "v"}, "HTTP token"),
])
def test_static_headers_http_cannot_carry_are_refused_at_save_time(
    headers: dict, needle: str
) -> None:
    for doc in (case(get(request={"headers": headers})), case(get(), headers=headers)):
        with pytest.raises(TestcaseInvalid) as caught:
            validate_testcase(doc)
        assert any(needle in message for message in caught.value.fields.values())
        assert any(".headers." in path for path in caught.value.fields)


def test_an_absurd_time_zone_is_a_clear_error_without_server_paths() -> None:
    tz = "Europe/" + "x" * 300
    report = run([case(get(request={"headers": {"X-T": f"${{now({tz})}}"}})),
                  case(get(), variables={"t": "${now(Nowhere/Land)}"}), case(get())])
    first, second, third = report["testcases"]
    assert "unknown time zone" in _step(report)["error"]
    assert "unknown time zone" in second["error"]
    assert third["success"] is True
    for text in (_step(report)["error"], second["error"]):
        assert "zoneinfo" not in text and "site-packages" not in text and "Errno" not in text


def test_an_unexpected_fault_fails_its_step_not_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.runner import engine

    def broken(*args: Any) -> Any:
        raise KeyError("/srv/secret/path.py")

    monkeypatch.setattr(engine, "_response_data", broken)
    report = run([case(get()), case(get())])
    assert report["tests_run"] == 2
    step = _step(report)
    assert step["error_type"] == "internal" and "KeyError" in step["error"]
    assert "/srv" not in json.dumps(report)


# ---- items 12 and 13: the guard ----


def test_deny_entries_close_ports_the_allow_list_opens() -> None:
    policy = OutboundPolicy(parse_outbound_allow(
        "127.0.0.0/8,::1/128,!127.0.0.0/8:4566,![::1]:4566,localhost"))
    assert policy.check_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/"
    for url in ("http://127.0.0.1:4566/", "http://127.0.0.9:4566/", "http://[::1]:4566/",
                "http://[::ffff:127.0.0.1]:4566/", "http://2130706433:4566/"):
        with pytest.raises(OutboundRefused, match="reserved for the platform"):
            policy.check_url(url)
    with pytest.raises(OutboundRefused, match="reserved"):
        policy.filter_resolved("localhost", ["127.0.0.1"], 4566)  # an allowed name too
    assert policy.filter_resolved("localhost", ["127.0.0.1"], 8080) == ["127.0.0.1"]


@pytest.mark.parametrize("entry", ["!", "!nothost:80", "!127.0.0.1:0", "!127.0.0.1:x",
                                   "![::1", "!::1:80x"])
def test_malformed_deny_entries_fail_loudly(entry: str) -> None:
    with pytest.raises(ValueError, match="deny"):
        parse_outbound_allow(entry)


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1",
                                  "0x7f.0.0.1", "127.0.1"])
def test_every_spelling_of_loopback_is_refused_as_loopback(host: str) -> None:
    assert legacy_ipv4(host) == ipaddress.IPv4Address("127.0.0.1")
    with pytest.raises(OutboundRefused, match="loopback"):
        OutboundPolicy().check_url(f"http://{host}/x")


@pytest.mark.parametrize("host", ["134744072", "0x08080808", "010.010.010.010", "8.8.2056"])
def test_every_spelling_of_a_public_address_is_sent_as_dotted_quad(host: str) -> None:
    fake = FakeTransport()
    report = run([case(get(f"http://user@{host}:8443/p?q=1#f"))], fake)
    assert report["success"] is True
    assert fake.sent[0].url == "http://user@8.8.8.8:8443/p?q=1#f"


def test_names_that_only_look_numeric_stay_names() -> None:
    assert legacy_ipv4("08.1") is None and legacy_ipv4("1.2.3.4.5") is None
    assert legacy_ipv4("256.1.1.1") is None and legacy_ipv4("api.test") is None
    assert OutboundPolicy().check_url(f"{BASE}/x") == f"{BASE}/x"


def test_timeouts_read_as_the_time_they_were_given() -> None:
    assert timeout_message(24.9999) == "no response within 25 s"
    assert timeout_message(2.5) == "no response within 2.5 s"
    assert timeout_message(0.25) == "no response within 0.25 s"
    assert timeout_message(30) == "no response within 30 s"
