"""cURL command lines to steps: bash and cmd quoting, curl's options as curl reads them."""

from __future__ import annotations

import pytest

from chalicelib.importers import curl
from chalicelib.importers.common import SourceInvalid
from chalicelib.importers.convert import convert_text, detect_format
from chalicelib.runner.schema import validate_testcase
from tests.unit.importers.conftest import fixture_text


def request_of(text: str, **options) -> dict:
    conversion = curl.convert(text, **options)
    [item] = conversion.testcases
    validate_testcase(item.document)
    [step] = item.document["teststeps"]
    request = dict(step["request"])
    if item.document["config"].get("base_url"):
        request["url"] = item.document["config"]["base_url"] + request["url"]
    return request


def test_api_docs_lines_become_steps_in_order():
    conversion = convert_text(fixture_text("api_docs.curl"))
    assert conversion.format == "curl"
    [item] = conversion.testcases
    validate_testcase(item.document)
    steps = item.document["teststeps"]
    assert [s["name"] for s in steps] == [
        "POST customers",
        "GET issues",
        "POST Messages.json",
        "POST XXXX",
        "POST post",
        "GET get",
        "HEAD 204",
        "POST pets",
    ]
    stripe, github, twilio, slack, form, query, head, as_json = (s["request"] for s in steps)
    assert stripe["data"] == "name=Jenny Rosen&email=jennyrosen%40example.com"
    assert stripe["headers"] == {
        "Authorization": "Basic c2tfdGVzdF80ZUMzOUhxTHlqV0Rhcmp0VDF6ZHA3ZGM6",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert github["allow_redirects"] is True and github["params"] == {"state": "open", "per_page": "5"}
    assert twilio["url"].endswith("/Accounts/${TWILIO_ACCOUNT_SID}/Messages.json")
    assert twilio["data"] == "Body=Hi+there+%26+welcome&From=%2B15557122661&To=%2B15558675310"
    assert twilio["headers"]["Authorization"] == "Basic ${base64($TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN)}"
    assert slack["json"] == {"text": "Hello, World!"} and slack["method"] == "POST"
    assert form["upload"] == {"name": "ann", "avatar": "files/photo.png"} and form["method"] == "POST"
    assert query == {
        "method": "GET",
        "url": "/get",
        "params": {"q": "hat tests", "page": "2"},
        "headers": {"User-Agent": "hat/1.0", "Referer": "https://example.com/"},
        "cookies": {"session": "abc", "theme": "dark"},
        "allow_redirects": False,
        "verify": False,
    }
    assert head["method"] == "HEAD"
    assert as_json["json"] == {"name": "rex", "price": "$$5"}
    assert as_json["headers"] == {"Content-Type": "application/json", "Accept": "application/json"}
    upload = next(w for w in conversion.report.warnings if w["what"] == "command 5: -F avatar=@photo.png")
    assert "'files/photo.png'" in upload["message"]
    assert any("TWILIO_AUTH_TOKEN" in w["what"] for w in conversion.report.warnings)


def test_windows_cmd_as_chrome_copies_it():
    request = request_of(fixture_text("chrome_copy_as_curl_cmd.txt"))
    assert request["method"] == "POST"
    assert request["json"] == {"sku": "SKU-1", "quantity": 2}
    assert request["headers"]["authorization"] == "Bearer ${SHOP_TOKEN}"
    assert request["cookies"] == {"sid": "s-ann-session", "theme": "dark"}
    assert request["params"] == {"status": "open"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("curl 'http://x/a' -H 'A: 1'", {"headers": {"A": "1"}}),
        ('curl "http://x/a" -H "A: \\"q\\" \\$HOME"', {"headers": {"A": '"q" $$HOME'}}),
        ("curl http://x/a -H $'A: tab\\there\\x41'", {"headers": {"A": "tab\there" + "A"}}),
        ("curl http://x/a -H 'A: it'\\''s'", {"headers": {"A": "it's"}}),
        ("curl -XPUT http://x/a", {"method": "PUT"}),
        ("curl --request=DELETE http://x/a", {"method": "DELETE"}),
        ("curl -sSLk http://x/a", {"allow_redirects": True, "verify": False}),
        ("curl -d a=1 -d b=2 --data-raw '@c' http://x/a", {"data": "a=1&b=2&@c"}),
        (
            "curl --data-urlencode 'q=a b&c' --data-urlencode =x/y --data-urlencode plain http://x/a",
            {"data": "q=a+b%26c&x%2Fy&plain"},
        ),
        ("curl -G -d a=1 http://x/a?b=2", {"params": {"b": "2", "a": "1"}, "method": "GET"}),
        ("curl -u ann:pw http://x/a", {"headers": {"Authorization": "Basic YW5uOnB3"}}),
        (
            "curl --url http://x/a -A bot -e http://r/",
            {"headers": {"User-Agent": "bot", "Referer": "http://r/"}},
        ),
        ("curl http://x/a -H 'Content-Type: application/json' -d '{\"a\": [1]}'", {"json": {"a": [1]}}),
        ("curl x.test/a", {"url": "http://x.test/a"}),
        ("$ curl http://x/a # the docs' prompt and a comment", {"method": "GET"}),
    ],
)
def test_quoting_and_options(line, expected):
    request = request_of(line)
    for key, value in expected.items():
        if key == "url":
            assert request["url"] == value
        else:
            assert request[key] == value, (key, request)


def test_continued_and_separate_commands_and_what_is_left():
    text = (
        "curl http://x/a \\\n  -H 'A: 1'\ncurl http://x/b | jq .\nwget http://x/c\n"
        "curl http://x/d --trace-time"
    )
    conversion = curl.convert(text)
    steps = conversion.testcases[0].document["teststeps"]
    assert [s["request"]["url"] for s in steps] == ["/a", "/b", "/d"]
    assert steps[0]["request"]["headers"] == {"A": "1"}
    skipped = [e["what"] for e in conversion.report.not_converted]
    assert any("wget" in s for s in skipped) and any("--trace-time" in s for s in skipped)


def test_a_final_backslash_is_text_not_a_hang():
    assert request_of("curl http://x/a -H 'A: 1' \\")["headers"] == {"A": "1"}
    assert request_of("curl http://x/a\\")["url"] == "http://x/a\\"


def test_refusals_and_detection():
    with pytest.raises(SourceInvalid):
        curl.convert("curl 'http://x/a")
    with pytest.raises(SourceInvalid):
        curl.convert("echo hi")
    with pytest.raises(SourceInvalid):
        curl.convert('curl ^"http://x^', shell="cmd")
    assert detect_format("\n# a comment\ncurl http://x/") == "curl"
    assert detect_format("{}", {}) is None


def test_adversarial_input_is_read_in_one_pass():
    # escapes and quotes by the tens of thousands, which a backtracking pattern would choke on
    request = request_of(
        "curl http://x/a -d " + '"' + "\\$" * 20_000 + '"' + " -H 'A: " + "x'\\''" * 20_000 + "'"
    )
    assert request["data"] == "$$" * 20_000
    assert request["headers"]["A"] == "x'" * 20_000
    assert request_of("curl http://x/a -d " + "^^" * 50_000, shell="cmd")["data"] == "^" * 50_000
    with pytest.raises(SourceInvalid):
        curl.convert("curl " + "-H x " * 5000)
