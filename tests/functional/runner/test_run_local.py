"""Real testcases through the real (aiohttp) transport against a server on 127.0.0.1.

The outbound guard is opened to loopback only where a test says so; names are resolved by
an injected resolver, so nothing here touches DNS or leaves the machine.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from chalicelib.runner.engine import run_testcases, run_testcases_sync
from chalicelib.runner.report import to_junit_xml

from .server import LocalServer

LOOPBACK = ["127.0.0.0/8"]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def names(table: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def steps(report: dict, case: int = 0) -> list[dict]:
    return report["testcases"][case]["steps"]


def test_a_realistic_testcase_passes(server: LocalServer) -> None:
    doc = {
        "config": {"name": "session flow", "base_url": server.url,
                   "variables": {"user": "ann"}, "export": ["sid"]},
        "teststeps": [
            {"name": "login", "request": {"method": "POST", "url": "/login",
                                          "json": {"user": "$user"}},
             "extract": {"sid": "cookies.sid"},
             "validate": [{"eq": ["status_code", 200]}, {"eq": ["body.user", "$user"]},
                          {"startswith": ["headers.Content-Type", "application/json"]}]},
            {"name": "me", "request": {"method": "GET", "url": "/me"},
             "validate": [{"eq": ["body.sid", "$sid"]}]},
            {"name": "echo", "request": {
                "method": "PUT", "url": "/echo", "params": {"q": "${md5($user)}"},
                "headers": {"X-Sig": "${hmac_sha256(k, $user)}"}, "data": {"a": "1"}},
             "validate": [
                 {"eq": ["body.method", "PUT"]},
                 {"len_eq": ["body.query.q", 32]},
                 {"eq": ["body.headers.content-type", "application/x-www-form-urlencoded"]},
                 {"eq": ["body.body", "a=1"]},
                 {"contains": ["body.headers.cookie", "sid=s-ann"]},
                 {"regex_match": ["body.headers.x-sig", "^[0-9a-f]{64}$"]}]},
            {"name": "logout", "request": {"method": "POST", "url": "/logout"}},
            {"name": "gone", "request": {"method": "GET", "url": "/me"},
             "validate": [{"eq": ["status_code", 401]}]},
        ],
    }
    report = run_testcases_sync([doc], outbound_allow=LOOPBACK)
    assert report["success"], report
    assert report["testcases"][0]["export"] == {"sid": "s-ann"}
    assert all(s["elapsed_ms"] > 0 for s in steps(report))
    to_junit_xml(report)


def test_loopback_is_refused_by_default(server: LocalServer) -> None:
    doc = {"config": {"name": "x", "base_url": server.url},
           "teststeps": [{"name": "s", "request": {"method": "GET", "url": "/json"}}]}
    step = steps(run_testcases_sync([doc]))[0]
    assert step["error_type"] == "outbound_refused"
    assert "loopback" in step["error"]


def test_names_resolving_to_private_addresses_are_refused_at_connect_time(
    server: LocalServer,
) -> None:
    port = server.url.rsplit(":", 1)[1]
    resolver = names({"rebind.example.test": ["127.0.0.1"], "ok.example.test": ["127.0.0.1"]})
    doc = {"config": {"name": "x"}, "teststeps": [
        {"name": "s", "request": {"method": "GET",
                                  "url": f"http://rebind.example.test:{port}/json"}}]}
    step = steps(run_testcases_sync([doc], host_resolver=resolver))[0]
    assert step["error_type"] == "outbound_refused"
    assert "refused to connect to rebind.example.test: a loopback address" in step["error"]

    # the same name passes once its addresses are allowed, or the name itself is
    for allow in (LOOPBACK, ["rebind.example.test"]):
        report = run_testcases_sync([doc], host_resolver=resolver, outbound_allow=allow)
        assert report["success"], report


def test_redirects_to_refused_addresses_are_stopped(server: LocalServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    resolver = names({"good.example.test": ["127.0.0.1"], "evil.example.test": ["127.0.0.1"]})
    targets = {
        "literal": "http://169.254.169.254/latest/meta-data/",
        "loopback": f"http://127.0.0.1:{port}/json",
        "name": f"http://evil.example.test:{port}/json",
    }
    for label, target in targets.items():
        doc = {"config": {"name": label}, "teststeps": [{"name": "s", "request": {
            "method": "GET", "url": f"http://good.example.test:{port}/redirect",
            "params": {"to": target}}}]}
        report = run_testcases_sync([doc], host_resolver=resolver,
                                    outbound_allow=["good.example.test"])
        step = steps(report)[0]
        assert step["error_type"] == "outbound_refused", (label, step)


def test_allowed_redirects_are_followed(server: LocalServer) -> None:
    doc = {"config": {"name": "r", "base_url": server.url}, "teststeps": [{
        "name": "s", "request": {"method": "POST", "url": "/redirect",
                                 "params": {"to": "/echo", "status": 303}, "json": {"a": 1}},
        "validate": [{"eq": ["status_code", 200]}, {"eq": ["body.method", "GET"]}]}]}
    report = run_testcases_sync([doc], outbound_allow=LOOPBACK)
    assert report["success"], report


def test_connection_errors_are_reported_per_step_and_the_run_goes_on(
    server: LocalServer,
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    docs = [
        {"config": {"name": "refused"}, "teststeps": [
            {"name": "s", "request": {"method": "GET", "url": f"http://127.0.0.1:{dead_port}/"}}]},
        {"config": {"name": "dns"}, "teststeps": [
            {"name": "s", "request": {"method": "GET", "url": "http://nowhere.example.test/"}}]},
        {"config": {"name": "timeout", "base_url": server.url}, "teststeps": [
            {"name": "s", "request": {"method": "GET", "url": "/slow", "params": {"s": 2},
                                      "timeout": 0.2}}]},
        {"config": {"name": "bad json", "base_url": server.url}, "teststeps": [
            {"name": "s", "request": {"method": "GET", "url": "/badjson"},
             "validate": [{"eq": ["body.broken", 1]}]}]},
        {"config": {"name": "too big", "base_url": server.url}, "teststeps": [
            {"name": "s", "request": {"method": "GET", "url": "/big", "params": {"n": 5000}}}]},
        {"config": {"name": "fine", "base_url": server.url}, "teststeps": [
            {"name": "s", "request": {"method": "GET", "url": "/json"},
             "validate": [{"eq": ["body.user.name", "ann"]}]}]},
    ]
    report = run_testcases_sync(docs, outbound_allow=LOOPBACK, host_resolver=names({}),
                                max_response_bytes=1000, concurrency=3)
    kinds = [c["steps"][0].get("error_type") for c in report["testcases"]]
    assert kinds == ["connection_refused", "dns", "timeout", "invalid_json", "too_large", None]
    assert report["testcases"][-1]["success"] is True
    assert (report["tests_run"], report["failures"]) == (6, 5)


def test_every_request_keeps_its_own_timeout(server: LocalServer) -> None:
    # one timer serves the whole run: a deadline sooner than those already set still ends
    # its request on time, and the longer ones are not cut short by it
    def case(name: str, path: str, pause: float, timeout: float) -> dict:
        return {"config": {"name": name, "base_url": server.url}, "teststeps": [
            {"name": "s", "request": {"method": "GET", "url": path, "params": {"s": pause},
                                      "timeout": timeout}}]}

    docs = [case("patient", "/slow", 0.6, 10), case("hasty", "/slow", 3, 0.2),
            case("stalled body", "/stall", 3, 0.3), case("quick", "/slow", 0, 0.5)]
    report = run_testcases_sync(docs, outbound_allow=LOOPBACK, concurrency=4)
    outcomes = [(c["name"], c["steps"][0].get("error")) for c in report["testcases"]]
    assert outcomes == [("patient", None), ("hasty", "no response within 0.2 s"),
                        ("stalled body", "no response within 0.3 s"), ("quick", None)]


def test_the_pool_serves_on_after_a_timeout(server: LocalServer) -> None:
    # the timed-out request's connection is dropped, not handed to the next request
    docs = [{"config": {"name": "late", "base_url": server.url}, "teststeps": [
        {"name": "s", "request": {"method": "GET", "url": "/stall", "params": {"s": 1},
                                  "timeout": 0.2}}]},
            {"config": {"name": "next", "base_url": server.url}, "teststeps": [
                {"name": "s", "request": {"method": "GET", "url": "/json"},
                 "validate": [{"eq": ["body.user.name", "ann"]}]}]}]
    report = run_testcases_sync(docs, outbound_allow=LOOPBACK, concurrency=1)
    assert [c["steps"][0].get("error_type") for c in report["testcases"]] == ["timeout", None]
    assert report["testcases"][1]["success"] is True


def test_cancelling_a_run_cancels_it_rather_than_timing_out(server: LocalServer) -> None:
    doc = {"config": {"name": "slow", "base_url": server.url}, "teststeps": [
        {"name": "s", "request": {"method": "GET", "url": "/slow", "params": {"s": 2},
                                  "timeout": 0.3}}]}

    finished: list[int] = []  # a testcase whose step took the cancel for a timeout ends

    async def main() -> None:
        run = asyncio.ensure_future(run_testcases(
            [doc], outbound_allow=LOOPBACK, on_progress=lambda done, _total: finished.append(done)
        ))
        await asyncio.sleep(0.1)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(main())
    assert finished == []


def test_eventually_consistent_api_with_retries(server: LocalServer) -> None:
    doc = {"config": {"name": "poll", "base_url": server.url}, "teststeps": [{
        "name": "wait for 3", "request": {"method": "GET", "url": "/counter/poll"},
        "validate": [{"ge": ["body.count", 3]}], "retry_times": 5, "retry_interval": 0.01}]}
    step = steps(run_testcases_sync([doc], outbound_allow=LOOPBACK))[0]
    assert step["success"] is True
    assert [a["validators"][0]["actual"] for a in step["attempts"]] == [1, 2, 3]


def test_many_testcases_share_one_pool(server: LocalServer) -> None:
    docs = [{"config": {"name": f"c{i}", "base_url": server.url,
                        "parameters": {"n": [1, 2]}},
             "teststeps": [{"name": "s", "request": {"method": "GET", "url": "/echo",
                                                     "params": {"i": i, "n": "$n"}},
                            "validate": [{"eq": ["body.query.i", str(i)]},
                                         {"str_eq": ["body.query.n", "$n"]}]}]}
            for i in range(20)]
    report = run_testcases_sync(docs, outbound_allow=LOOPBACK, concurrency=5)
    assert report["success"], [c for c in report["testcases"] if not c["success"]][:1]
    assert report["tests_run"] == 40


def test_large_bodies_are_truncated_in_the_report(server: LocalServer) -> None:
    doc = {"config": {"name": "big", "base_url": server.url}, "teststeps": [{
        "name": "s", "request": {"method": "GET", "url": "/big", "params": {"n": 5000}},
        "validate": [{"len_eq": ["body", 5000]}]}]}
    step = steps(run_testcases_sync([doc], outbound_allow=LOOPBACK, max_body_chars=100))[0]
    assert step["success"] is True  # validators saw the whole body
    assert len(step["response"]["body"]) == 100 and step["response"]["body_truncated"]


def test_headers_on_the_wire(server: LocalServer) -> None:
    doc = {"config": {"name": "h", "base_url": server.url}, "teststeps": [
        {"name": "raw body", "request": {"method": "POST", "url": "/echo", "data": "raw text"},
         "validate": [{"eq": ["body.headers.user-agent", "hat-runner/1.0"]},
                      {"eq": ["body.headers.accept", "*/*"]},
                      {"eq": ["body.headers.content-type", None]},  # as requests sends it
                      {"eq": ["body.body", "raw text"]}]},
        {"name": "own agent", "request": {"method": "GET", "url": "/echo",
                                          "headers": {"User-Agent": "mine", "Accept": "a/b"}},
         "validate": [{"eq": ["body.headers.user-agent", "mine"]},
                      {"eq": ["body.headers.accept", "a/b"]}]},
    ]}
    report = run_testcases_sync([doc], outbound_allow=LOOPBACK)
    assert report["success"], report
