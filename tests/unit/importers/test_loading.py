"""Sources are read bounded: depth before the C loaders see it, size, YAML alias bombs."""

from __future__ import annotations

import json

import pytest

from chalicelib.importers.common import SourceInvalid, UniqueNames, clean_name, literal, variable_name
from chalicelib.importers.convert import convert_text
from chalicelib.importers.loading import MAX_DEPTH, load_structured


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,  # would overflow json's C scanner
        "a:\n" + "".join(" " * i + "- \n" for i in range(1, 300)),
        "[" * 50_000 + "]" * 50_000,  # YAML flow: libyaml's composer would segfault
        '{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
    ],
)
def test_deep_nesting_is_refused_not_crashed(text):
    with pytest.raises(SourceInvalid) as refused:
        load_structured(text)
    assert "body" in refused.value.fields


def test_brackets_in_strings_do_not_count():
    value = load_structured(json.dumps({"a": "[" * 5000}))
    assert value == {"a": "[" * 5000}


def test_yaml_alias_bombs_and_odd_keys():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(SourceInvalid) as refused:
        load_structured(bomb)
    assert "aliases" in refused.value.fields["body"]
    assert load_structured("200: {description: ok}\n") == {200: {"description": "ok"}}
    with pytest.raises(SourceInvalid):
        load_structured("? [a, b]\n: c\n")
    assert load_structured("d: 2026-01-01\n") == {"d": "2026-01-01"}  # dates stay text


def test_bad_sources_name_the_field():
    with pytest.raises(SourceInvalid) as refused:
        convert_text("{not json")
    assert "body" in refused.value.fields
    with pytest.raises(SourceInvalid) as refused:
        convert_text('{"a": 1}')
    assert "format" in refused.value.fields
    with pytest.raises(SourceInvalid) as refused:
        convert_text("  ")
    with pytest.raises(SourceInvalid) as refused:
        convert_text("curl http://x", "soap")
    assert "format" in refused.value.fields
    with pytest.raises(SourceInvalid) as refused:
        convert_text("curl http://x", options={"colour": "red"})
    assert "colour" in refused.value.fields


def test_names_and_literals():
    names = UniqueNames()
    assert [names.take(n) for n in ["Login", "login", "LOGIN", "x" * 120, "x" * 120]] == [
        "Login",
        "login (2)",
        "LOGIN (3)",
        "x" * 100,
        "x" * 96 + " (2)",
    ]
    assert names.take("Login", "other group") == "Login"
    assert clean_name("  a\tb\x00 ") == "a b" and clean_name("") == "unnamed"
    assert variable_name("base-url") == "base_url" and variable_name("1st") == "v_1st"
    assert literal("$5 and ${x}") == "$$5 and $${x}"
