"""What the worker keeps of a sandbox's report: the user's process's word, checked."""
from __future__ import annotations


def test_a_sandboxs_report_is_checked_before_it_is_kept():
    from chalicelib.sandbox.service import _merged

    good = {"name": "ok", "success": True, "duration_ms": 1.0,
            "steps": [{"name": "s", "success": True, "elapsed_ms": 1.0, "validators": []}]}
    forged = [good, {"name": "x", "success": True, "steps": "not a list"},
              {"name": "y", "success": True, "steps": [{"name": 1}]}, "not a case"]
    merged = _merged([{"testcases": forged, "successes": 99, "tests_run": 99}])
    assert (merged["tests_run"], merged["successes"]) == (4, 1)
    assert [c["success"] for c in merged["testcases"]] == [True, False, False, False]
    assert "malformed" in merged["testcases"][1]["error"]
