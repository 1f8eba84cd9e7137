"""debugtalk.py on the platform: saved through the routes, run by the worker in the
project's sandbox (a fresh local process per run), HttpRunner's examples passing."""
from __future__ import annotations

from tests.functional.runs.conftest import case

from .conftest import EXAMPLES, example, put_debugtalk, step

SOURCE = (EXAMPLES / "debugtalk.py").read_text()


def _project_with_debugtalk(api, target, source: str = SOURCE) -> dict:
    shop = api.shop(target.url, [])
    saved = put_debugtalk(api, shop["project"]["id"], source)
    assert saved.status == 200, saved.body
    return shop


def _add(api, shop, document) -> dict:
    answer = api.post(f"/modules/{shop['module']['id']}/testcases", {"testcase": document})
    assert answer.status == 201, answer.body
    return answer.body


def test_save_reads_functions_with_ast_and_versions_each_save(alice):
    project = alice.project("dt")
    first = put_debugtalk(alice, project["id"], "def a():\n    return 1\n\ndef _private():\n    pass\n")
    assert first.status == 200, first.body
    assert (first.body["version"], first.body["functions"]) == (1, ["a"])
    second = put_debugtalk(alice, project["id"], "def b(x):\n    return x\n", "text/plain")
    assert (second.body["version"], second.body["functions"]) == (2, ["b"])
    shown = alice.get(f"/projects/{project['id']}/debugtalk").body
    assert shown["source"].startswith("def b") and shown["version"] == 2 and shown["size"] > 0


def test_save_never_runs_the_code_and_refuses_bad_sources(alice, tmp_path):
    project = alice.project("dt")
    marker = tmp_path / "ran"
    # valid Python that would leave a file behind if anything executed it
    harmless = f"open({str(marker)!r}, 'w').write('x')\ndef f():\n    return 1\n"
    assert put_debugtalk(alice, project["id"], harmless).status == 200
    assert not marker.exists()
    bad = put_debugtalk(alice, project["id"], "def f(:\n    pass\n")
    assert bad.status == 400 and "line 1" in str(bad.body["error"]["fields"])
    assert put_debugtalk(alice, project["id"], "x" * 70_000).status == 413
    assert put_debugtalk(alice, project["id"], "def f(): pass", "application/json").status == 415
    assert put_debugtalk(alice, project["id"], "def f():\n  return '\x00'").status in (200, 400)


def test_other_users_cannot_read_or_change_a_projects_debugtalk(alice, bob, target):
    shop = _project_with_debugtalk(alice, target)
    path = f"/projects/{shop['project']['id']}/debugtalk"
    assert bob.get(path).status == 404
    assert put_debugtalk(bob, shop["project"]["id"], "def f():\n    return 1\n").status == 404
    assert bob.call("DELETE", path).status == 404
    assert alice.get(path).status == 200


def test_save_time_checks_know_the_projects_functions(alice, target):
    shop = _project_with_debugtalk(alice, target)
    module = shop["module"]["id"]
    typo = {"config": {"name": "typo"}, "teststeps": [step("s", "/x/${get_sgn(1)}")]}
    answer = alice.post(f"/modules/{module}/testcases", {"testcase": typo})
    assert answer.status == 400
    message = answer.body["error"]["fields"]["testcase.teststeps[0].request.url"]
    assert "get_sgn" in message and "did you mean 'get_sign'" in message
    hooks_elsewhere = alice.shop(target.url, [], name="plain")  # no debugtalk.py: refused as before
    refused = alice.post(f"/modules/{hooks_elsewhere['module']['id']}/testcases",
                         {"testcase": example("hooks.yml")})
    assert refused.status == 400 and "user Python" in str(refused.body["error"]["fields"])


def test_httprunner_examples_pass_through_the_worker(alice, echo, run_report):
    shop = _project_with_debugtalk(alice, echo)
    for name in ("signed.yml", "hooks.yml", "parameters.yml"):
        _add(alice, shop, example(name))
    plain = case("plain")
    plain["teststeps"][0]["request"]["url"] = "/json"
    plain["teststeps"][0]["validate"] = [{"eq": ["body.ok", True]}]
    _add(alice, shop, plain)  # no user code: the worker's own fast path
    report = run_report(alice, shop["project"]["id"])
    failed = [(t["name"], [s.get("error") for s in t["steps"]]) for t in report["testcases"]
              if not t["success"]]
    assert report["status"] == "passed", failed
    assert report["tests_run"] == 7  # plain + signed + hooks + 4 parameter combinations
    assert report["testcases"][0]["name"] == "plain"
    assert report["debugtalk_version"] == 1



def test_the_routes_and_user_code_saves_stay_within_4_dynamodb_calls(alice, target, ddb_calls):
    shop = _project_with_debugtalk(alice, target)
    pid, module = shop["project"]["id"], shop["module"]["id"]
    user_code = {"config": {"name": "signed"},
                 "teststeps": [step("s", "/x/${get_sign(1)}", setup_hooks=["${sum_two(1, 2)}"])]}
    spent = {}

    def measure(label, expected, call):
        ddb_calls.clear()
        answer = call()
        assert answer.status == expected, (label, answer.body)
        spent[label] = list(ddb_calls)
        return answer

    measure("PUT debugtalk", 200, lambda: put_debugtalk(alice, pid, SOURCE))
    measure("GET debugtalk", 200, lambda: alice.get(f"/projects/{pid}/debugtalk"))
    made = measure("POST testcase with user code", 201,
                   lambda: alice.post(f"/modules/{module}/testcases", {"testcase": user_code}))
    measure("PUT testcase with user code", 200,
            lambda: alice.put(f"/testcases/{made.body['id']}", {"testcase": user_code}))
    measure("DELETE debugtalk", 204, lambda: alice.call("DELETE", f"/projects/{pid}/debugtalk"))
    over = {label: calls for label, calls in spent.items() if len(calls) > 4 or "Scan" in calls}
    assert not over, over


def test_a_testcase_referencing_one_with_user_code_runs_in_the_sandbox(alice, echo, run_report):
    shop = _project_with_debugtalk(alice, echo)
    signed = example("signed.yml")
    _add(alice, shop, signed)
    caller = {"config": {"name": "caller"},
              "teststeps": [{"name": "sign first", "testcase": "signed request"},
                            step("then plain", "/json", validate=[{"eq": ["body.ok", True]}])]}
    _add(alice, shop, caller)
    report = run_report(alice, shop["project"]["id"])
    assert report["status"] == "passed", [t.get("steps") for t in report["testcases"]]
    assert {t["name"] for t in report["testcases"]} == {"signed request", "caller"}
