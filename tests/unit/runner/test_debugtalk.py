"""debugtalk.py in the runner: names read with ast, the function table, hooks, custom
comparators, function-valued variables and parameters, save-time checks that know them."""
from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.runner.debugtalk import (
    DebugtalkInvalid,
    UserCodeError,
    expand_documents,
    function_names,
    load_functions,
)
from chalicelib.runner.errors import TestcaseInvalid
from chalicelib.runner.functions import FunctionContext
from chalicelib.runner.schema import needs_user_code, validate_testcase

from .fakes import FakeTransport, case, get, run

SOURCE = '''
import hashlib

def sign(*parts):
    return hashlib.md5("".join(map(str, parts)).encode()).hexdigest()

def add_header(request, name):
    request["headers"][name] = "from-hook"

def set_json(request):
    request["json"]["hooked"] = 1

def alter(response):
    response.status_code = 201
    response.body["extra"] = "seen"

def status_of(response):
    return response.status_code

def even(check, expect):
    assert (check % 2 == 0) == expect, f"{check} is odd"

def boom():
    return {}["missing"]

def forever():
    while True:
        pass

def config_vars():
    return {"who": "ann"}

def when():
    import datetime
    return datetime.datetime(2026, 1, 1)

def pairs():
    return [{"a": 1, "b": 2}, {"a": 3, "b": 4}]

def _helper():
    pass
'''


@pytest.fixture
def table(tmp_path: Path) -> dict:
    path = tmp_path / "debugtalk.py"
    path.write_text(SOURCE)
    return load_functions(path, call_seconds=1)


def test_function_names_are_read_without_running_the_code():
    assert function_names("import os\nos.remove('/nonexistent')\ndef a(): pass\n"
                          "async def b(): pass\ndef _c(): pass\n") == ["a", "b"]
    with pytest.raises(DebugtalkInvalid) as invalid:
        function_names("def ok():\n    pass\ndef bad(:\n")
    assert invalid.value.line == 3 and "line 3" in str(invalid.value)
    with pytest.raises(DebugtalkInvalid):
        function_names("x = '" + "a" * 70_000 + "'")
    with pytest.raises(DebugtalkInvalid):
        function_names("x = 1\x00")


def test_the_table_wraps_failures_with_the_users_frames_only(table):
    assert "_helper" not in table and "sign" in table
    with pytest.raises(UserCodeError) as failed:
        table["boom"]()
    message = str(failed.value)
    assert message.startswith("boom() raised KeyError: 'missing'")
    assert 'File "debugtalk.py", line 24, in boom' in message and "chalicelib" not in message
    with pytest.raises(UserCodeError, match="ran longer than 1 s"):
        table["forever"]()


def test_user_functions_hooks_and_comparators_in_a_step(table):
    transport = FakeTransport()
    step = get("/items", variables={"sig": "${sign(a, 1)}"},
               setup_hooks=["${add_header($request, X-Hook)}", "${set_json($request)}",
                            {"before": "${sign(b)}"}],
               teardown_hooks=["${alter($response)}", {"seen_status": "${status_of($response)}"}],
               validate=[{"eq": ["status_code", 201]}, {"eq": ["body.extra", "seen"]},
                         {"eq": ["body.headers.x-hook", "from-hook"]},
                         {"eq": ["body.json.hooked", 1]},
                         {"eq": ["$seen_status", 201]}, {"eq": ["$before", "${sign(b)}"]},
                         {"even": ["body.json.n", True]}])
    step["request"]["json"] = {"n": 2, "sig": "$sig"}
    doc = case(step)
    report = run([doc], transport, function_context=FunctionContext(user_functions=table))
    result = report["testcases"][0]["steps"][0]
    assert result["success"] is True, result
    sent = transport.sent[0]
    assert ("X-Hook", "from-hook") in sent.headers
    assert b'"hooked": 1' in sent.body and "content-length" not in {k.lower() for k, _ in sent.headers}


def test_a_failing_custom_comparator_fails_its_check_and_a_failing_hook_its_step(table):
    context = FunctionContext(user_functions=table)
    odd = case(get("/x", request={"json": {"n": 3}}, validate=[{"even": ["body.json.n", True]}]))
    check = run([odd], function_context=context)["testcases"][0]["steps"][0]["validators"][0]
    assert check["result"] == "fail" and "3 is odd" in check["message"]
    hooked = case(get("/x", setup_hooks=["${boom()}"]), get("/y"))
    steps = run([hooked], function_context=context)["testcases"][0]["steps"]
    assert steps[0]["error_type"] == "user_code" and "setup_hooks: boom() raised" in steps[0]["error"]
    assert steps[1]["skipped"] is True
    teardown = case(get("/x", teardown_hooks=["${boom()}"]))
    step = run([teardown], function_context=context)["testcases"][0]["steps"][0]
    assert step["success"] is False and step["error_type"] == "user_code"
    config = case(get("/x"), setup_hooks=["${boom()}"])
    failed = run([config], function_context=context)["testcases"][0]
    assert failed["success"] is False and "config.setup_hooks" in failed["error"]


def test_a_value_json_cannot_carry_fails_its_step_not_the_run(table):
    doc = case(get("/x", request={"json": {"at": "${when()}"}}))
    report = run([doc, case(get("/y"))], function_context=FunctionContext(user_functions=table))
    step = report["testcases"][0]["steps"][0]
    assert step["error_type"] == "user_code" and "not JSON serializable" in step["error"], step
    assert report["testcases"][1]["success"] is True


def test_a_hook_cannot_take_a_request_past_the_guard(table, tmp_path):
    path = tmp_path / "redirect.py"
    path.write_text("def to_metadata(request):\n    request['url'] = 'http://169.254.169.254/'\n")
    context = FunctionContext(user_functions=load_functions(path))
    doc = case(get("/x", setup_hooks=["${to_metadata($request)}"]))
    step = run([doc], function_context=context, base_url=None)["testcases"][0]["steps"][0]
    assert step["error_type"] == "outbound_refused" and "169.254.169.254" in step["error"], step


def test_variables_and_parameters_from_functions(table):
    doc = case(get("/x?a=$a&b=$b&who=$who", validate=[{"eq": ["body.query.who", "ann"]}]),
               name="c $a", variables="${config_vars()}", parameters={"a-b": "${pairs()}"})
    ready, failed = expand_documents([doc], table, {})
    assert failed == []
    assert ready[0]["config"]["parameters"] == {"a-b": [[1, 2], [3, 4]]}
    report = run(ready, function_context=FunctionContext(user_functions=table))
    assert report["tests_run"] == 2 and report["success"] is True, report
    _, failed = expand_documents([case(get(), variables="${boom()}")], table, {})
    assert "boom() raised KeyError" in failed[0]["error"]


def test_save_time_checks_with_and_without_a_debugtalk():
    doc = case(get("/x/${sign(1)}", setup_hooks=["${add_header($request, X)}"],
                   validate=[{"even": ["status_code", True]}]), variables="${config_vars()}")
    assert needs_user_code(doc) and not needs_user_code(case(get("/x/${md5(a)}")))
    with pytest.raises(TestcaseInvalid) as refused:
        validate_testcase(doc)
    assert "teststeps[0].setup_hooks" in refused.value.fields
    functions = frozenset({"sign", "add_header", "even", "config_vars"})
    validate_testcase(doc, functions)
    typo = case(get("/x/${sing(1)}"))
    with pytest.raises(TestcaseInvalid) as invalid:
        validate_testcase(typo, functions)
    assert "did you mean 'sign'" in invalid.value.fields["teststeps[0].request.url"]
    with pytest.raises(TestcaseInvalid):
        validate_testcase(case(get(), variables="not a call"), functions)
    with pytest.raises(TestcaseInvalid) as bad_hook:
        validate_testcase(case(get(setup_hooks=[{"a": 1, "b": 2}])), functions)
    assert "a hook is" in str(bad_hook.value)



def test_a_hook_cannot_smuggle_a_header_line(tmp_path):
    path = tmp_path / "smuggle.py"
    path.write_text("def smuggle(request):\n    request['headers']['X-A'] = 'v\\r\\nX-Admin: 1'\n")
    context = FunctionContext(user_functions=load_functions(path))
    step = run([case(get("/x", setup_hooks=["${smuggle($request)}"]))],
               function_context=context)["testcases"][0]["steps"][0]
    assert step["error_type"] == "invalid_request" and "carriage return" in step["error"], step
