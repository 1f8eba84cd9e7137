"""HAR 1.2 recordings to one testcase: filters, browser headers, cookies, redirects, correlation."""

from __future__ import annotations

import pytest

from chalicelib.importers import har
from chalicelib.importers.common import SourceInvalid
from chalicelib.runner.schema import validate_testcase
from tests.unit.importers.conftest import fixture_json


@pytest.fixture
def recording() -> dict:
    return fixture_json("shop_session.har")


def test_steps_in_order_without_static_assets_tracking_or_preflights(recording):
    conversion = har.convert(recording)
    [item] = conversion.testcases
    validate_testcase(item.document)
    assert item.name == "Shop - my account"
    assert [s["name"] for s in item.document["teststeps"]] == [
        "GET /",
        "POST /login",
        "GET /me",
        "GET /orders",
        "GET /orders/ord-000042",
        "GET /account",
        "GET /account/overview",
        "POST /orders/ord-000042/notes",
    ]
    left_out = {e["what"] for e in conversion.report.not_converted}
    assert left_out == {
        "3 entries: static assets (scripts, styles, images, fonts, media)",
        "1 entry: tracking calls",
        "1 entry: CORS preflights (OPTIONS)",
    }
    assert item.document["config"]["base_url"] == "http://shop.test"


def test_static_assets_on_request_and_host_filter(recording):
    everything = har.convert(recording, include_static=True).testcases[0].document["teststeps"]
    assert len(everything) == len(recording["log"]["entries"])
    other_host = har.convert(recording, hosts=["www.google-analytics.com"], include_static=True)
    assert [s["request"]["method"] for s in other_host.testcases[0].document["teststeps"]] == ["POST"]
    with pytest.raises(SourceInvalid):
        har.convert(recording, hosts=["nowhere.test"])


def test_browser_headers_dropped_and_cookies_the_run_sets_not_replayed(recording):
    steps = har.convert(recording).testcases[0].document["teststeps"]
    me = steps[2]["request"]
    assert set(me["headers"]) == {"accept-language", "user-agent", "authorization", "accept"}
    assert me["cookies"] == {"_ga": "GA1.1.12345.67890"}  # sid came from the login's answer
    assert "cookies" not in steps[3]["request"]
    warnings = [w["message"] for w in har.convert(recording).report.warnings]
    assert any("replays recorded cookies _ga" in m for m in warnings)


def test_redirects_are_not_followed_and_304_expects_200(recording):
    steps = har.convert(recording).testcases[0].document["teststeps"]
    assert steps[5]["request"]["allow_redirects"] is False
    assert steps[5]["validate"] == [{"equal": ["status_code", 302]}]
    assert steps[4]["validate"] == [{"equal": ["status_code", 200]}]


def test_values_from_answers_become_extracts(recording):
    steps = har.convert(recording).testcases[0].document["teststeps"]
    assert steps[1]["extract"] == {"token": "body.token", "x_csrf_token": "headers.x-csrf-token"}
    assert steps[2]["request"]["headers"]["authorization"] == "Bearer ${token}"
    assert steps[3]["extract"] == {"id": "body.items[0].id"}
    assert steps[4]["request"]["url"] == "/orders/${id}"
    assert steps[7]["request"]["headers"]["x-csrf-token"] == "${x_csrf_token}"
    assert steps[1]["request"]["json"] == {"user": "ann", "password": "pw-$$ecret"}  # literal $


def test_body_validators_leave_out_correlated_values(recording):
    steps = har.convert(recording, body_validators=True).testcases[0].document["teststeps"]
    assert steps[2]["validate"] == [
        {"equal": ["status_code", 200]},
        {"equal": ["body.id", 7]},
        {"equal": ["body.name", "ann"]},
    ]
    assert all("body.token" not in str(v) for v in steps[1]["validate"])


def test_refusals():
    with pytest.raises(SourceInvalid):
        har.convert({"log": {}})
    with pytest.raises(SourceInvalid):
        har.convert({"log": {"entries": [{"request": {"method": "GET", "url": "ws://x/"}}]}})
