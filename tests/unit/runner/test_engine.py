"""The engine against an in-memory transport: requests, variables, checks, report."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from chalicelib.runner.engine import MAX_REDIRECTS, run_testcases
from chalicelib.runner.errors import TestcaseNotFound
from chalicelib.runner.functions import FunctionContext
from chalicelib.runner.transport import InboundResponse, OutboundRequest, TransportError

from .fakes import BASE, FakeTransport, case, echo, get, json_response, run


def only_step(report: dict, index: int = 0) -> dict:
    return report["testcases"][0]["steps"][index]


# ---- building requests ----


def test_request_is_built_from_the_step() -> None:
    doc = case(
        get("/users/$uid", request={
            "method": "POST",
            "params": {"page": 2, "q": "a b", "skip": None},
            "headers": {"X-Token": "$token", "Accept": "application/json"},
            "json": {"id": "$uid", "n": 1.5, "tags": ["$token"]},
            "cookies": {"pref": "dark"},
            "timeout": 4,
        }, variables={"uid": 42}),
        variables={"token": "t0k"},
        headers={"X-Client": "hat", "Accept": "text/html"},
    )
    fake = FakeTransport()
    report = run([doc], fake)
    sent = fake.sent[0]
    assert sent.method == "POST"
    assert sent.url == f"{BASE}/users/42?page=2&q=a+b"
    headers = dict(sent.headers)
    assert headers["X-Token"] == "t0k"
    assert headers["X-Client"] == "hat"
    assert headers["Accept"] == "application/json"  # the step's header wins over config's
    assert headers["Content-Type"] == "application/json"
    assert headers["Cookie"] == "pref=dark"
    assert json.loads(sent.body) == {"id": 42, "n": 1.5, "tags": ["t0k"]}
    assert sent.timeout == 4
    assert sent.verify is False  # HttpRunner's default
    step = only_step(report)
    assert step["success"] is True
    assert step["request"]["url"] == sent.url
    assert step["request"]["headers"]["Cookie"] == "pref=dark"


def test_json_bodies_are_sent_as_json_dumps_writes_them() -> None:
    value = {"text": "ünïcode \"quoted\"\n", "n": [1, 2.5, 1e100, 10**30, None, True],
             "nested": {"empty": {}, "list": [[]]}, "who": "$who"}
    fake = FakeTransport()
    run([case(get(request={"method": "POST", "json": value}), variables={"who": ["a", 1]})],
        fake)
    expected = json.dumps({**value, "who": ["a", 1]}, ensure_ascii=False).encode()
    assert fake.sent[0].body == expected


def test_form_and_raw_data_bodies() -> None:
    fake = FakeTransport()
    run([case(
        get("/f", request={"method": "POST", "data": {"a": "$v", "b": [1, 2]}}, variables={"v": 1}),
        get("/r", request={"method": "PUT", "data": "raw $v", "headers": {"Content-Type": "text/x"}},
            variables={"v": 2}),
    )], fake)
    form, raw = fake.sent
    assert form.body == b"a=1&b=1&b=2"  # a list repeats its key, as requests sends it
    assert dict(form.headers)["Content-Type"] == "application/x-www-form-urlencoded"
    assert raw.body == b"raw 2"
    assert dict(raw.headers)["Content-Type"] == "text/x"


def test_timeout_and_verify_defaults_and_overrides() -> None:
    fake = FakeTransport()
    run([case(get(), get(request={"verify": False, "timeout": 2}), verify=True)], fake,
        timeout_seconds=7)
    assert (fake.sent[0].timeout, fake.sent[0].verify) == (7, True)
    assert (fake.sent[1].timeout, fake.sent[1].verify) == (2, False)


def test_absolute_urls_and_base_url_sources() -> None:
    fake = FakeTransport()
    run([case(get("https://other.example.test/a"), get("b"))], fake)
    assert [r.url for r in fake.sent] == ["https://other.example.test/a", f"{BASE}/b"]

    fake = FakeTransport()
    doc = {"config": {"name": "no base"}, "teststeps": [get("/p")]}
    run([doc], fake, environment={"base_url": "https://env.example.test/v1/"})
    assert fake.sent[0].url == "https://env.example.test/v1/p"

    fake = FakeTransport()
    run([case(get("/p"))], fake, base_url="https://override.example.test",
        environment={"base_url": "https://env.example.test"})
    assert fake.sent[0].url == "https://override.example.test/p"


def test_relative_url_without_base_url_fails_the_step() -> None:
    report = run([{"config": {"name": "x"}, "teststeps": [get("/p")]}])
    step = only_step(report)
    assert step["error_type"] == "variable"
    assert "needs a base_url" in step["error"]


# ---- variables ----


def test_variable_precedence_step_over_extracted_over_config_over_environment() -> None:
    def handler(request: OutboundRequest) -> InboundResponse:
        if request.url.endswith("/login"):
            return json_response({"a": "extracted", "b": "extracted"})
        return echo(request)

    doc = case(
        get("/login", extract={"a": "body.a", "b": "body.b"}),
        get("/use", request={"params": {"a": "$a", "b": "$b", "c": "$c", "d": "$d"}},
            variables={"a": "step"}),
        variables={"a": "config", "b": "config", "c": "config", "d": "$d_env"},
    )
    fake = FakeTransport(handler)
    report = run([doc], fake, environment={"variables": {"c": "env", "d_env": "env", "e": 1}})
    assert report["success"], report
    assert fake.sent[1].url.endswith("/use?a=step&b=extracted&c=config&d=env")


def test_parameters_override_config_variables_and_config_can_use_them() -> None:
    fake = FakeTransport()
    doc = case(get("/u", request={"params": {"g": "$greeting", "u": "$user"}}),
               variables={"user": "default", "greeting": "hi $user"},
               parameters={"user": ["ann", "bob"]})
    report = run([doc], fake)
    assert sorted(r.url.split("?")[1] for r in fake.sent) == [
        "g=hi+ann&u=ann", "g=hi+bob&u=bob",
    ]
    assert report["tests_run"] == 2


def test_env_function_reads_the_environment_variables_only() -> None:
    fake = FakeTransport()
    report = run([case(get("/e", request={"headers": {"K": "${ENV(API_KEY)}"}}))], fake,
                 environment={"variables": {"API_KEY": "secret-$$"}})
    assert dict(fake.sent[0].headers)["K"] == "secret-$$"  # environment values are data
    report = run([case(get("/e", request={"headers": {"K": "${ENV(PATH)}"}}))])
    assert "no variable 'PATH'" in only_step(report)["error"]


def test_undefined_variable_fails_the_step_with_its_name() -> None:
    report = run([case(get("/x/$nope"), get("/after"))])
    first, second = report["testcases"][0]["steps"]
    assert first["error_type"] == "variable"
    assert "$nope is not defined" in first["error"]
    assert second["skipped"] is True


def test_circular_variables_fail_the_step() -> None:
    report = run([case(get("/$a", variables={"a": "$b", "b": "${md5($a)}"}))])
    assert "circular variable reference" in only_step(report)["error"]


def test_functions_use_the_injected_clock_and_random_source() -> None:
    fake = FakeTransport()
    ctx = FunctionContext(wall_clock=lambda: 1_700_000_000.25, rng=random.Random(7))
    run([case(get("/t", request={"params": {
        "ts": "${get_timestamp()}", "now": "${now(Asia/Shanghai)}", "r": "${random_string(6)}",
    }}))], fake, function_context=ctx)
    query = fake.sent[0].url.split("?")[1]
    assert "ts=1700000000250" in query
    assert "now=2023-11-15T06%3A13%3A20%2B08%3A00" in query
    rng = random.Random(7)
    expected = "".join(rng.choice(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(6))
    assert f"r={expected}" in query


def test_step_name_is_rendered() -> None:
    report = run([case(get(name="get $who", variables={"who": "ann"}))])
    assert only_step(report)["name"] == "get ann"


# ---- extract and validate ----


def test_extract_paths_and_their_use_in_later_steps() -> None:
    def handler(request: OutboundRequest) -> InboundResponse:
        if "/first" in request.url:
            return json_response(
                {"data": {"items": [{"id": 5}, {"id": 6}]}, "token": "abc"},
                headers=[("X-Request-Id", "rid-1"), ("Set-Cookie", "sid=s1; Path=/")],
            )
        return echo(request)

    fake = FakeTransport(handler)
    report = run([case(
        get("/first", extract={
            "first_id": "body.data.items[0].id", "last_id": "body.data.items[-1].id",
            "rid": "headers.x-request-id", "sid": "cookies.sid", "status": "status_code",
            "count": "body.data.items | length(@)", "missing": "body.nope.deeper",
        }),
        get("/second/$first_id/$last_id/$rid/$sid/$status/$count/$missing"),
    )], fake)
    assert report["success"], report
    assert only_step(report)["extracted"] == {
        "first_id": 5, "last_id": 6, "rid": "rid-1", "sid": "s1", "status": 200, "count": 2,
        "missing": None,
    }
    assert fake.sent[1].url == f"{BASE}/second/5/6/rid-1/s1/200/2/None"


def test_validators_report_expected_actual_and_result() -> None:
    fake = FakeTransport(lambda r: json_response({"n": 3, "name": "ann"}, 201))
    report = run([case(get(
        validate=[
            {"eq": ["status_code", 201]},
            {"eq": ["body.n", "$three"]},
            {"check": "body.name", "comparator": "startswith", "expect": "b", "message": "why"},
            {"len_eq": ["body.name", 3, "name has 3 letters"]},
            {"eq": ["$local", "x"]},
            {"eq": ["literal", "literal"]},
        ],
        variables={"three": 3, "local": "x"},
    ))], fake)
    step = only_step(report)
    assert step["success"] is False
    results = step["validators"]
    assert [r["result"] for r in results] == ["pass", "pass", "fail", "pass", "pass", "pass"]
    assert results[1] == {"check": "body.n", "comparator": "equal", "expected": 3, "actual": 3,
                          "result": "pass"}
    assert results[2]["actual"] == "ann"
    assert results[2]["message"] == "why: 'ann' does not start with 'b'"
    assert results[3]["message"] == "name has 3 letters"


def test_check_can_use_variables_extracted_by_the_same_step() -> None:
    fake = FakeTransport(lambda r: json_response({"token": "t", "path": "body.token"}))
    report = run([case(get(extract={"tok": "body.token", "p": "body.path"},
                           validate=[{"eq": ["$tok", "t"]}, {"eq": ["$p", "t"]}]))], fake)
    # "$p" renders to "body.token", which is then read from the response, as in HttpRunner
    assert [v["result"] for v in only_step(report)["validators"]] == ["pass", "pass"]


def test_body_that_is_not_json_fails_body_paths_with_a_clear_error() -> None:
    def handler(request: OutboundRequest) -> InboundResponse:
        if "bad" in request.url:
            return InboundResponse(200, [("Content-Type", "application/json")], b'{"a": ')
        return InboundResponse(200, [("Content-Type", "text/html")], b"<html>hi</html>")

    report = run([
        case(get("/bad", validate=[{"eq": ["body.a", 1]}])),
        case(get("/html", validate=[{"contains": ["body", "hi"]}])),
        case(get("/html", extract={"a": "body.a"})),
    ], FakeTransport(handler))
    bad, html, extract = (c["steps"][0] for c in report["testcases"])
    assert bad["error_type"] == "invalid_json"
    assert "not valid JSON" in bad["validators"][0]["message"]
    assert html["success"] is True  # the whole text body can still be checked
    assert extract["error_type"] == "invalid_json"
    assert "not JSON (Content-Type: text/html)" in extract["error"]


def test_empty_body_is_none() -> None:
    fake = FakeTransport(lambda r: InboundResponse(204, [], b""))
    report = run([case(get(validate=[{"eq": ["body", None]}, {"eq": ["status_code", 204]}]))],
                 fake)
    assert report["success"], report


def test_a_failed_step_skips_the_rest_of_its_testcase_only() -> None:
    fake = FakeTransport(lambda r: json_response({}, 500 if "/boom" in r.url else 200))
    report = run([
        case(get("/boom", validate=[{"eq": ["status_code", 200]}]), get("/next")),
        case(get("/fine", validate=[{"eq": ["status_code", 200]}])),
    ], fake)
    assert (report["tests_run"], report["successes"], report["failures"]) == (2, 1, 1)
    failed, passed = report["testcases"]
    assert failed["success"] is False
    assert failed["steps"][1]["skipped"] is True
    assert passed["success"] is True
    assert [r.url for r in fake.sent].count(f"{BASE}/next") == 0


@pytest.mark.parametrize(
    ("kind", "message"),
    [("dns", "cannot resolve api.example.test"), ("timeout", "no response within 1 s"),
     ("connection_refused", "connection refused"), ("tls", "TLS certificate error")],
)
def test_transport_errors_are_recorded_on_the_step(kind: str, message: str) -> None:
    def handler(request: OutboundRequest) -> InboundResponse:
        if "/down" in request.url:
            raise TransportError(kind, message)
        return echo(request)

    report = run([case(get("/down")), case(get("/up"))], FakeTransport(handler))
    step = report["testcases"][0]["steps"][0]
    assert (step["error_type"], step["error"]) == (kind, message)
    assert step["status_code"] is None
    assert step["request"]["url"] == f"{BASE}/down"
    assert report["testcases"][1]["success"] is True


def test_bodies_are_truncated_and_marked() -> None:
    fake = FakeTransport(lambda r: InboundResponse(200, [], b"y" * 100))
    report = run([case(get(request={"method": "POST", "data": "x" * 50}))], fake,
                 max_body_chars=10)
    step = only_step(report)
    assert step["response"]["body"] == "y" * 10
    assert step["response"]["body_truncated"] is True
    assert step["response"]["body_chars"] == 100
    assert step["request"]["body"] == "x" * 10
    assert step["request"]["body_truncated"] is True

    report = run([case(get())], FakeTransport(lambda r: InboundResponse(200, [], b"short")),
                 max_body_chars=10)
    assert "body_truncated" not in only_step(report)["response"]


# ---- retries ----


def test_retry_until_validators_pass_records_every_attempt() -> None:
    counter = {"n": 0}
    sleeps: list[float] = []

    def handler(request: OutboundRequest) -> InboundResponse:
        counter["n"] += 1
        return json_response({"ready": counter["n"] >= 3})

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    report = run([case(get(validate=[{"eq": ["body.ready", True]}], retry_times=5,
                           retry_interval=1.5))],
                 FakeTransport(handler), sleep=fake_sleep)
    step = only_step(report)
    assert step["success"] is True
    assert [a["success"] for a in step["attempts"]] == [False, False, True]
    assert [a["validators"][0]["actual"] for a in step["attempts"]] == [False, False, True]
    assert sleeps == [1.5, 1.5]


def test_retry_gives_up_after_retry_times_and_also_retries_transport_errors() -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def handler(request: OutboundRequest) -> InboundResponse:
        raise TransportError("timeout", "slow")

    report = run([case(get(retry_times=2, retry_interval=0))], FakeTransport(handler),
                 sleep=fake_sleep)
    step = only_step(report)
    assert step["success"] is False
    assert len(step["attempts"]) == 3
    assert all(a["error_type"] == "timeout" for a in step["attempts"])
    assert sleeps == [0, 0]


def test_no_attempts_list_without_retries() -> None:
    assert "attempts" not in only_step(run([case(get())]))


# ---- parameters ----


def test_each_parameter_combination_is_its_own_testcase() -> None:
    fake = FakeTransport()
    report = run([case(
        get("/login", request={"params": {"u": "$user", "p": "$pw", "a": "$agent"}}),
        name="login",
        parameters={"user-pw": [["ann", "1"], ["bob", "2"]], "agent": ["ios", "web"]},
    )], fake)
    assert report["tests_run"] == 4
    names = [c["name"] for c in report["testcases"]]
    assert names == [
        "login [user=ann, pw=1, agent=ios]", "login [user=ann, pw=1, agent=web]",
        "login [user=bob, pw=2, agent=ios]", "login [user=bob, pw=2, agent=web]",
    ]
    assert report["testcases"][3]["parameters"] == {"user": "bob", "pw": "2", "agent": "web"}
    assert sorted(r.url.split("?")[1] for r in fake.sent) == sorted(
        f"u={u}&p={p}&a={a}" for u, p in (("ann", 1), ("bob", 2)) for a in ("ios", "web")
    )


def test_parameterised_name_with_variables_is_rendered_instead() -> None:
    report = run([case(get(), name="as $user", parameters={"user": ["ann", "bob"]})])
    assert [c["name"] for c in report["testcases"]] == ["as ann", "as bob"]


# ---- export ----


def test_config_export_is_reported() -> None:
    fake = FakeTransport(lambda r: json_response({"id": 9}))
    report = run([case(get(extract={"uid": "body.id"}), export=["uid"], variables={"v": 1})],
                 fake)
    assert report["testcases"][0]["export"] == {"uid": 9}
    report = run([case(get(), export=["ghost"])], fake)
    assert report["testcases"][0]["success"] is False
    assert "ghost not defined" in report["testcases"][0]["error"]


# ---- referenced testcases ----

LOGIN = {
    "config": {"name": "login", "variables": {"user": "default"}, "export": ["token"]},
    "teststeps": [get("/login", request={"method": "POST", "json": {"user": "$user"}},
                      extract={"token": "body.json.user", "internal": "body.path"})],
}


def test_referenced_testcase_gets_step_variables_and_exports_back() -> None:
    fake = FakeTransport()
    doc = case(
        {"name": "log in", "testcase": "login", "variables": {"user": "$who"}},
        get("/me", request={"headers": {"T": "$token"}}),
        variables={"who": "ann"},
    )
    report = run([doc], fake, resolve_testcase={"login": LOGIN}.__getitem__)
    assert report["success"], report
    ref_step = only_step(report)
    assert ref_step["testcase"] == "login"
    assert ref_step["exported"] == {"token": "ann"}
    assert ref_step["steps"][0]["name"] == "step"
    assert json.loads(fake.sent[0].body) == {"user": "ann"}
    assert fake.sent[0].url == f"{BASE}/login"  # the caller's base_url, the ref has none
    assert dict(fake.sent[1].headers)["T"] == "ann"


def test_step_export_adds_to_config_export_and_async_resolvers_work() -> None:
    async def resolve(ref: str) -> dict:
        await asyncio.sleep(0)
        return LOGIN

    doc = case({"name": "r", "testcase": "login", "export": ["internal"]},
               get("/after/$internal"))
    fake = FakeTransport()
    report = run([doc], fake, resolve_testcase=resolve)
    assert report["success"], report
    assert only_step(report)["exported"] == {"token": "default", "internal": "/login"}
    assert fake.sent[1].url == f"{BASE}/after//login"


def test_references_share_the_cookie_jar() -> None:
    def handler(request: OutboundRequest) -> InboundResponse:
        if request.url.endswith("/login"):
            return json_response({}, headers=[("Set-Cookie", "sid=abc; Path=/")])
        return echo(request)

    fake = FakeTransport(handler)
    report = run([case({"name": "r", "testcase": "login"}, get("/me"))], fake,
                 resolve_testcase=lambda ref: {"config": {"name": "l"},
                                               "teststeps": [get("/login")]})
    assert report["success"], report
    assert dict(fake.sent[1].headers)["Cookie"] == "sid=abc"


@pytest.mark.parametrize(
    ("resolver", "needle"),
    [
        (None, "cannot look testcases up"),
        ({}.__getitem__, "not found"),
        (lambda ref: (_ for _ in ()).throw(TestcaseNotFound(ref)), "not found"),
        (lambda ref: {"config": {"name": "x"}}, "is invalid"),
        (lambda ref: {"config": {"name": "x", "parameters": {"a": [1, 2]}},
                      "teststeps": [get()]}, "has parameters"),
    ],
)
def test_reference_problems_fail_the_step(resolver: object, needle: str) -> None:
    report = run([case({"name": "r", "testcase": "missing"}, get("/after"))],
                 resolve_testcase=resolver)
    step = only_step(report)
    assert step["error_type"] == "reference"
    assert needle in step["error"]
    assert report["testcases"][0]["steps"][1]["skipped"] is True


def test_reference_cycles_are_stopped() -> None:
    docs = {
        "a": {"config": {"name": "a"}, "teststeps": [{"name": "to b", "testcase": "b"}]},
        "b": {"config": {"name": "b"}, "teststeps": [{"name": "to a", "testcase": "a"}]},
    }
    report = run([case({"name": "start", "testcase": "a"})], resolve_testcase=docs.__getitem__)
    inner = only_step(report)["steps"][0]["steps"][0]
    assert "reference cycle: a -> b -> a" in inner["error"]


def test_referenced_testcase_is_resolved_once_per_run() -> None:
    calls: list[str] = []

    def resolve(ref: str) -> dict:
        calls.append(ref)
        return LOGIN

    run([case({"name": "r", "testcase": "login"}), case({"name": "r", "testcase": "login"})],
        resolve_testcase=resolve)
    assert calls == ["login"]


# ---- redirects and cookies ----


def redirector(request: OutboundRequest) -> InboundResponse:
    path = request.url.split("?")[0].split("/", 3)[3]
    if path.startswith("r/"):
        status, target = path[2:].split("/", 1)
        return InboundResponse(int(status), [("Location", "/" + target),
                                             ("Set-Cookie", f"hop{status}=1; Path=/")], b"")
    if path == "loop":
        return InboundResponse(302, [("Location", "/loop")], b"")
    if path == "away":
        return InboundResponse(302, [("Location", "https://elsewhere.example.test/land")], b"")
    return echo(request)


@pytest.mark.parametrize(
    ("status", "method", "expected_method", "keeps_body"),
    [(301, "POST", "GET", False), (302, "POST", "GET", False), (303, "PUT", "GET", False),
     (307, "POST", "POST", True), (308, "PUT", "PUT", True), (302, "PUT", "PUT", True)],
)
def test_redirects_are_followed_like_requests(
    status: int, method: str, expected_method: str, keeps_body: bool
) -> None:
    fake = FakeTransport(redirector)
    report = run([case(get(f"/r/{status}/final", request={"method": method, "json": {"a": 1}},
                           validate=[{"eq": ["body.path", "/final"]},
                                     {"eq": ["cookies", {f"hop{status}": "1"}]}]))], fake)
    assert report["success"], report
    final = fake.sent[-1]
    assert final.method == expected_method
    assert (final.body is not None) == keeps_body
    assert ("Content-Type" in dict(final.headers)) == keeps_body
    assert dict(final.headers)["Cookie"] == f"hop{status}=1"
    assert only_step(report)["response"]["url"] == f"{BASE}/final"


def test_redirects_can_be_disabled_and_are_bounded() -> None:
    fake = FakeTransport(redirector)
    report = run([case(get("/r/302/final", request={"allow_redirects": False},
                           validate=[{"eq": ["status_code", 302]},
                                     {"eq": ["headers.Location", "/final"]}]))], fake)
    assert report["success"], report
    assert len(fake.sent) == 1

    report = run([case(get("/loop"))], FakeTransport(redirector))
    step = only_step(report)
    assert step["error_type"] == "too_many_redirects"
    assert str(MAX_REDIRECTS) in step["error"]


def test_authorization_is_dropped_on_a_cross_host_redirect() -> None:
    fake = FakeTransport(redirector)
    run([case(get("/away", request={"headers": {"Authorization": "Bearer x"}}))], fake)
    assert "Authorization" in dict(fake.sent[0].headers)
    assert fake.sent[1].url == "https://elsewhere.example.test/land"
    assert "Authorization" not in dict(fake.sent[1].headers)


def test_cookies_are_per_testcase() -> None:
    def handler(request: OutboundRequest) -> InboundResponse:
        if "/login" in request.url:
            return json_response({}, headers=[("Set-Cookie", "sid=mine; Path=/")])
        return echo(request)

    fake = FakeTransport(handler)
    report = run([case(get("/login"), get("/me")), case(get("/me"))], fake, concurrency=1)
    assert report["success"]
    cookies = [dict(r.headers).get("Cookie") for r in fake.sent]
    assert cookies == [None, "sid=mine", None]


# ---- the outbound guard, as the engine applies it ----


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "http://10.0.0.8:8080/x", "http://169.254.169.254/latest/meta-data/",
     "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",
     "http://0.0.0.0/", "http://[fd00:ec2::254]/", "http://192.168.1.1/", "http://100.64.0.1/",
     "ftp://example.test/", "file:///etc/passwd", "http:///nohost", "http://example.test:99999/"],
)
def test_refused_urls_fail_the_step_before_any_connection(url: str) -> None:
    fake = FakeTransport()
    report = run([case(get(url))], fake)
    step = only_step(report)
    assert step["error_type"] == "outbound_refused"
    assert fake.sent == []


def test_a_redirect_to_a_private_address_is_refused() -> None:
    def handler(request: OutboundRequest) -> InboundResponse:
        return InboundResponse(302, [("Location", "http://169.254.169.254/latest/")], b"")

    fake = FakeTransport(handler)
    report = run([case(get("/innocent"))], fake)
    step = only_step(report)
    assert step["error_type"] == "outbound_refused"
    assert "metadata" in step["error"]
    assert len(fake.sent) == 1


def test_allow_list_and_allow_private_open_the_guard() -> None:
    fake = FakeTransport()
    report = run([case(get("http://10.1.2.3/a"), get("http://[::1]/b"))], fake,
                 outbound_allow=["10.0.0.0/8", "::1/128"])
    assert report["success"], report
    report = run([case(get("http://192.168.0.1/a"))], allow_private=True)
    assert report["success"], report
    report = run([case(get("http://192.168.0.1/a"))], outbound_allow=["10.0.0.0/8"])
    assert only_step(report)["error_type"] == "outbound_refused"


# ---- the run ----


def test_concurrency_is_bounded() -> None:
    async def slow(request: OutboundRequest) -> InboundResponse:
        await asyncio.sleep(0.001)
        return echo(request)

    fake = FakeTransport(slow)
    report = run([case(get(), get()) for _ in range(12)], fake, concurrency=3)
    assert report["tests_run"] == 12 and report["success"]
    assert fake.max_in_flight == 3


def test_a_big_run_keeps_its_order_with_only_concurrency_tasks() -> None:
    # later testcases answer sooner, so they end out of order; the report keeps the input's
    tasks: list[int] = []
    progress: list[tuple[int, int]] = []

    async def later_first(request: OutboundRequest) -> InboundResponse:
        tasks.append(len(asyncio.all_tasks()))
        await asyncio.sleep((40 - int(request.url.rsplit("/", 1)[1])) * 0.0002)
        return echo(request)

    docs = [case(get(f"/c/{i}"), name=f"case {i}") for i in range(40)]
    report = run(docs, FakeTransport(later_first), concurrency=4,
                 on_progress=lambda done, total: progress.append((done, total)))
    assert [c["name"] for c in report["testcases"]] == [f"case {i}" for i in range(40)]
    assert report["tests_run"] == 40 and report["success"]
    assert max(tasks) <= 4 + 1  # the workers and the run's own task, not one per testcase
    assert progress == [(done, 40) for done in range(1, 41)]


def test_an_invalid_testcase_is_a_failed_testcase_not_a_crashed_run() -> None:
    report = run([{"config": {"name": "broken"}, "teststeps": [{"name": "x"}]}, case(get())])
    broken, fine = report["testcases"]
    assert broken["name"] == "broken" and broken["success"] is False
    assert "exactly one" in broken["error"]
    assert fine["success"] is True
    assert (report["tests_run"], report["failures"]) == (2, 1)


def test_deadline_fails_steps_not_started_in_time() -> None:
    now = {"t": 0.0}

    def clock() -> float:
        return now["t"]

    def handler(request: OutboundRequest) -> InboundResponse:
        now["t"] += 20
        return echo(request)

    fake = FakeTransport(handler)
    report = run([case(get("/a"), get("/b"))], fake, clock=clock, deadline_seconds=15)
    first, second = report["testcases"][0]["steps"]
    assert first["success"] is True
    assert fake.sent[0].timeout == 15  # cut to the time left
    assert second["error_type"] == "deadline"
    assert len(fake.sent) == 1
    assert first["elapsed_ms"] == 20_000.0


def test_report_shape_is_json_and_matches_the_api() -> None:
    report = run([case(get(validate=[{"eq": ["status_code", 200]}]))])
    decoded = json.loads(json.dumps(report))
    assert decoded == report
    assert set(report) >= {"tests_run", "successes", "failures", "duration_ms", "testcases"}
    testcase = report["testcases"][0]
    assert set(testcase) >= {"name", "success", "steps"}
    assert set(testcase["steps"][0]) >= {
        "name", "success", "status_code", "elapsed_ms", "validators"}


def test_an_injected_transport_is_left_open_and_concurrency_is_checked() -> None:
    fake = FakeTransport()
    run([case(get())], fake)
    assert fake.closed is False
    with pytest.raises(ValueError):
        asyncio.run(run_testcases([], transport=fake, concurrency=0))


def test_progress_is_reported_per_testcase() -> None:
    seen: list[tuple[int, int]] = []
    run([case(get()), case(get()), {"config": {}}], on_progress=lambda d, t: seen.append((d, t)))
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]


def test_a_referenced_testcase_sees_the_callers_variables_over_its_own() -> None:
    """HttpRunner 3 hands it the caller's merged variables (step > extracted > config);
    the environment's stay below the referenced config's (issue 17, item 1)."""
    shared = {"config": {"name": "shared", "variables": {"token": "its own", "who": "its own",
                                                         "env_var": "its own"}},
              "teststeps": [get("/shared", request={"headers": {
                  "T": "$token", "W": "$who", "E": "$env_var", "C": "$only_caller"}})]}
    doc = case(get("/login", extract={"token": "body.path"}),
               {"name": "call", "testcase": "shared", "variables": {"who": "the step"}},
               variables={"only_caller": "the caller's config"})
    fake = FakeTransport()
    report = run([doc], fake, resolve_testcase={"shared": shared}.__getitem__,
                 environment={"variables": {"env_var": "the environment"}})
    assert report["success"], report
    headers = dict(fake.sent[1].headers)
    assert headers["T"] == "/login"  # extracted by the caller
    assert headers["W"] == "the step"
    assert headers["E"] == "its own"  # the environment is below the referenced config
    assert headers["C"] == "the caller's config"


def test_content_and_json_paths_read_the_body_as_httprunner_3_does() -> None:
    """HttpRunner 2's `content.x` / `json.x` (what har2case writes): issue 17, item 2."""
    fake = FakeTransport(lambda request: json_response({"data": {"items": [{"id": 7}]}}))
    doc = case(get(extract={"a": "content.data.items[0].id", "b": "json.data"},
                   validate=[{"eq": ["content.data.items[0].id", 7]},
                             {"eq": ["json.data.items | length(@)", 1]},
                             {"eq": ["content", {"data": {"items": [{"id": 7}]}}]}]))
    report = run([doc], fake)
    step = only_step(report)
    assert step["success"], step
    assert step["extracted"] == {"a": 7, "b": {"items": [{"id": 7}]}}


def test_list_values_repeat_their_key_in_params_and_forms_as_requests_does() -> None:
    """Issue 17, item 5: `ids=1&ids=2` on the wire, not `ids=[1,2]`; nulls left out."""
    fake = FakeTransport()
    run([case(get("/q", request={"params": {"ids": [1, "a b", None], "one": 1, "none": None,
                                            "obj": {"k": 1}}}),
              get("/f", request={"method": "POST", "data": {"ids": "$ids", "none": None}},
                  variables={"ids": [3, 4]}))], fake)
    query, form = fake.sent
    assert query.url == f"{BASE}/q?ids=1&ids=a+b&one=1&obj=%7B%22k%22%3A1%7D"
    assert form.body == b"ids=3&ids=4"


def test_a_variable_inside_an_extract_path_is_substituted_first() -> None:
    fake = FakeTransport(lambda request: json_response({"args": {"color": "red"}}))
    report = run([case(get(variables={"key": "color"},
                           extract={"value": "body.args.$key", "bad": "body.$missing"}))], fake)
    step = only_step(report)
    assert step["extracted"]["value"] == "red"
    assert "$missing is not defined" in step["error"]


def test_a_cookie_set_by_a_redirect_is_checkable_and_request_verify_wins() -> None:
    """Issue 17, item 10: `cookies.sid` after a 302 that set it; `verify: true` per request."""
    def handler(request: OutboundRequest) -> InboundResponse:
        if request.url.endswith("/login"):
            return InboundResponse(302, [("Set-Cookie", "sid=abc; Path=/"),
                                         ("Location", "/home")], b"")
        return json_response({"ok": True})

    fake = FakeTransport(handler)
    report = run([case(get("/login", validate=[{"eq": ["cookies.sid", "abc"]}],
                           request={"verify": True}), verify=False)], fake)
    assert only_step(report)["success"], only_step(report)
    assert [s.verify for s in fake.sent] == [True, True]
    assert dict(fake.sent[1].headers)["Cookie"] == "sid=abc"
