"""Postman test scripts: the supported shapes, and everything else listed, never guessed."""

from __future__ import annotations

import pytest

from chalicelib.importers.scripts import split_statements, translate


@pytest.mark.parametrize(
    ("line", "validator"),
    [
        ("pm.response.to.have.status(201)", {"equal": ["status_code", 201]}),
        ("pm.expect(pm.response.code).to.eql(200)", {"equal": ["status_code", 200]}),
        ("pm.expect(pm.response.code).to.equal(200, 'ok?')", {"equal": ["status_code", 200, "ok?"]}),
        ("pm.expect(pm.response.json().a.b).to.eql('x')", {"equal": ["body.a.b", "x"]}),
        (
            "pm.expect(pm.response.json()['a-b'][0]).to.deep.equal({\"k\": [1]})",
            {"equal": ['body."a-b"[0]', {"k": [1]}]},
        ),
        ("pm.expect(pm.response.json().items).to.have.lengthOf(3)", {"length_equal": ["body.items", 3]}),
        ("pm.expect(pm.response.json().n).to.be.above(2)", {"greater_than": ["body.n", 2]}),
        ("pm.expect(pm.response.json().n).to.be.at.most(9)", {"less_or_equals": ["body.n", 9]}),
        ("pm.expect(pm.response.json().tags).to.include('new')", {"contains": ["body.tags", "new"]}),
        ("pm.expect(pm.response.json().id).to.be.a('number')", {"type_match": ["body.id", "number"]}),
        ("pm.expect(pm.response.json().id).to.not.eql(null)", {"not_equal": ["body.id", None]}),
        ("pm.response.to.have.header('Content-Type')", {"not_equal": ["headers.Content-Type", None]}),
        ('pm.response.to.have.header("X-A", "1")', {"equal": ["headers.X-A", "1"]}),
        ("pm.expect(pm.response.headers.get('X-Rate')).to.eql('10')", {"equal": ["headers.X-Rate", "10"]}),
        (
            "pm.expect(pm.response.json().who).to.eql(pm.environment.get('user'))",
            {"equal": ["body.who", "${user}"]},
        ),
        ("pm.expect(pm.response.json().price).to.eql('$5')", {"equal": ["body.price", "$$5"]}),
        ('tests["ok"] = responseCode.code === 200', {"equal": ["status_code", 200]}),
    ],
)
def test_supported_shapes(line, validator):
    translated = translate(line + ";")
    assert translated.validators == [validator]
    assert translated.not_converted == []


def test_aliases_blocks_and_extracts():
    script = """
    // comments and console output change nothing
    var jsonData = pm.response.json();
    pm.test("Status code is 200", function () {
        pm.response.to.have.status(200);
        pm.test("nested", () => { pm.expect(jsonData.user.id).to.eql(7); });
    });
    const legacy = JSON.parse(responseBody);
    pm.expect(legacy.ok).to.eql(true);
    pm.environment.set("token", jsonData.token);
    pm.collectionVariables.set('first-id', jsonData.items[0].id);
    pm.globals.set("rid", pm.response.headers.get("X-Request-Id"));
    console.log(jsonData);
    """
    translated = translate(script)
    assert translated.validators == [
        {"equal": ["status_code", 200]},
        {"equal": ["body.user.id", 7]},
        {"equal": ["body.ok", True]},
    ]
    assert translated.extract == {
        "token": "body.token",
        "first_id": "body.items[0].id",
        "rid": "headers.X-Request-Id",
    }
    assert translated.not_converted == []


def test_unsupported_lines_are_returned_whole():
    script = """pm.test("loop", function () {
        _.each(pm.response.json(), (x) => pm.expect(x.id).to.be.ok);
    });
    if (pm.response.code === 200) { postman.setNextRequest("next"); }
    pm.expect(pm.response.responseTime).to.be.below(200);
    pm.expect(something).to.eql(1);
    pm.expect(pm.response.json().a).to.match(/x+/);"""
    translated = translate(script)
    assert translated.validators == []
    assert len(translated.not_converted) == 5
    assert translated.not_converted[1].startswith("if (pm.response.code === 200)")


def test_statements_split_outside_quotes_brackets_and_comments():
    text = 'a("x; y");b({c: 1;\n d})\n// e; f\nc("/* no */") /* g; */ ;h'
    assert split_statements(text) == ['a("x; y")', "b({c: 1;\n d})", 'c("/* no */")', "h"]


def test_a_huge_or_unbalanced_script_is_bounded():
    assert translate("x" * 200_000).not_converted[0].startswith("a script of 200000 characters")
    translated = translate("pm.expect(" * 2000)
    assert translated.validators == [] and len(translated.not_converted) == 1
