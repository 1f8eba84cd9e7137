"""$var / ${var} / ${func(args)} / $$ substitution and the builtins."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import uuid

import pytest

from chalicelib.runner.errors import SubstitutionError
from chalicelib.runner.functions import (
    MAX_RANDOM_STRING_CHARS,
    SAFE_FUNCTION_NAMES,
    FunctionContext,
    call_function,
)
from chalicelib.runner.template import MAX_RENDERED_CHARS, Call, Scope, Var, parse, render

CTX = FunctionContext(wall_clock=lambda: 1_700_000_000.123456, rng=random.Random(1),
                      environment={"HOST": "h.example", "N": 5})
VARS = {"a": 1, "b": "two", "c": [1, 2], "d": {"k": "v"}, "t": True, "n": None, "path": "/x"}


def sub(content: object, variables: dict | None = None) -> object:
    values = VARS if variables is None else variables
    return render(content, values.__getitem__ if not isinstance(values, Scope)
                  else values.lookup, CTX)


def lookup_missing(name: str) -> object:
    raise SubstitutionError(f"variable ${name} is not defined")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$a", 1),  # a lone reference keeps its type
        ("${a}", 1),
        ("$c", [1, 2]),
        ("$d", {"k": "v"}),
        ("$t", True),
        ("$n", None),
        ("x$a", "x1"),
        ("${a}b", "1b"),  # braces end the name
        ("$ab", KeyError),  # without braces the name is "ab"
        ("$a$b", "1two"),
        ("/api/$path/$a?x=$t", "/api//x/1?x=True"),
        ("cost $$5 and $$a", "cost $5 and $a"),  # $$ escapes a dollar
        ("$100", "$100"),  # a name starts with a letter or _: prices stay text
        ("$", "$"),
        ("a $ b", "a $ b"),
        ("${unclosed", "${unclosed"),
        ("no refs", "no refs"),
        ("$c and $d", "[1, 2] and {'k': 'v'}"),  # HttpRunner renders with str()
    ],
)
def test_variable_substitution(text: str, expected: object) -> None:
    if expected is KeyError:
        with pytest.raises(KeyError):
            sub(text)
    else:
        assert sub(text) == expected


def test_nested_structures_and_keys_are_substituted() -> None:
    content = {"$b": ["$a", {"deep": "${a}"}], "k": 3, "none": None, "f": 1.5}
    assert sub(content) == {"two": [1, {"deep": 1}], "k": 3, "none": None, "f": 1.5}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${md5(abc)}", hashlib.md5(b"abc").hexdigest()),
        ("${md5($b)}", hashlib.md5(b"two").hexdigest()),
        ("${md5(x$b)}", hashlib.md5(b"xtwo").hexdigest()),
        ("${sha256('a, b')}", hashlib.sha256(b"a, b").hexdigest()),  # quotes keep commas
        ('${sha1("q")}', hashlib.sha1(b"q").hexdigest()),
        ("${hmac_sha256(key, msg)}", hmac.new(b"key", b"msg", hashlib.sha256).hexdigest()),
        ("${base64(hello)}", base64.b64encode(b"hello").decode()),
        ("${base64_encode(hello)}", base64.b64encode(b"hello").decode()),
        ("${base64_decode(aGVsbG8=)}", "hello"),
        ("${url_encode(a b/c)}", "a%20b%2Fc"),
        ("${max(1, 5, 3)}", 5),
        ("${min(4, -2)}", -2),
        ("${abs(-3)}", 3),
        ("${round(2.567, 1)}", 2.6),
        ("${int(42)}", 42),
        ("${int($b)}", SubstitutionError),
        ("${float(1.5)}", 1.5),
        ("${str(7)}", "7"),
        ("${bool(0)}", False),
        ("${len($c)}", 2),
        ("${len(abcd)}", 4),
        ("id-${len($c)}", "id-2"),
        ("${ENV(HOST)}", "h.example"),
        ("${environ(N)}", 5),
        ("${ENV(NOPE)}", SubstitutionError),
        ("${get_timestamp()}", "1700000000123"),
        ("${get_timestamp(10)}", "1700000000"),
        ("${get_timestamp(str_len=16)}", "1700000000123456"),
        ("${get_timestamp(0)}", SubstitutionError),
        ("${get_current_date()}", "2023-11-14"),
        ("${get_current_date(%Y/%m)}", "2023/11"),
        ("${now()}", "2023-11-14T22:13:20+00:00"),
        ("${now(Asia/Shanghai)}", "2023-11-15T06:13:20+08:00"),
        ("${now(tz=America/New_York, fmt=%H)}", "17"),
        ("${now(Mars/Olympus)}", SubstitutionError),
        ("${random_string(-1)}", SubstitutionError),
        (f"${{random_string({MAX_RANDOM_STRING_CHARS + 1})}}", SubstitutionError),
        ("${random_string(abc)}", SubstitutionError),
        ("${random_int(5, 1)}", SubstitutionError),
        ("${base64_decode(!!)}", SubstitutionError),
        ("${md5()}", SubstitutionError),  # wrong arity is an error, not a crash
        ("${max(a=1)}", SubstitutionError),
        ("${eval(1)}", SubstitutionError),
        ("${__import__(os)}", SubstitutionError),
        ("${open(x)}", SubstitutionError),
    ],
)
def test_function_calls(text: str, expected: object) -> None:
    if expected is SubstitutionError:
        with pytest.raises(SubstitutionError):
            sub(text)
    else:
        assert sub(text) == expected


def test_argument_literals() -> None:
    (call,) = parse("${f(1, -2, 3.5, True, false, None, null, 'q', \"w\", bare, $a, k=v)}")
    assert isinstance(call, Call)
    assert call.args[:9] == (1, -2, 3.5, True, False, None, None, "q", "w")
    assert call.args[9] == "bare"
    assert call.args[10] == (Var("a"),)
    assert call.kwargs == (("k", "v"),)


def test_positional_after_keyword_is_an_error() -> None:
    with pytest.raises(SubstitutionError):
        parse("${md5(a=1, 2)}")


def test_random_values_come_from_the_injected_source() -> None:
    first = FunctionContext(rng=random.Random(3))
    second = FunctionContext(rng=random.Random(3))
    a = [call_function(n, [], {}, first) for n in ("random_string", "uuid", "random_int")]
    b = [call_function(n, [], {}, second) for n in ("random_string", "uuid", "random_int")]
    assert a == b
    assert len(a[0]) == 8 and a[0].isalnum()
    assert uuid.UUID(a[1]).version == 4
    assert 0 <= a[2] <= 100
    assert call_function("uuid4", [], {}, FunctionContext()) != call_function(
        "uuid4", [], {}, FunctionContext())


def test_unknown_function_messages_name_the_alternatives() -> None:
    with pytest.raises(SubstitutionError, match="debugtalk.py"):
        call_function("gen_token", [], {}, CTX)
    with pytest.raises(SubstitutionError, match="CSV"):
        call_function("P", ["a.csv"], {}, CTX)
    assert "sleep" not in SAFE_FUNCTION_NAMES  # would block every testcase of the worker


def test_rendered_strings_are_bounded() -> None:
    variables = {"v0": "x" * 1000}
    for i in range(1, 12):
        variables[f"v{i}"] = f"$v{i - 1}$v{i - 1}"
    scope = Scope(variables, {}, CTX)
    with pytest.raises(SubstitutionError, match=str(MAX_RENDERED_CHARS)):
        scope.lookup("v11")


def test_scope_resolves_in_any_order_and_memoises() -> None:
    calls = []
    ctx = FunctionContext(wall_clock=lambda: calls.append(1) or 1.0)
    scope = Scope({"b": "$a-x", "a": "${get_timestamp(1)}", "c": "$outer"}, {"outer": 9}, ctx)
    assert scope.lookup("b") == "1-x"
    assert scope.lookup("a") == "1"
    assert len(calls) == 1  # each variable is computed once
    assert scope.resolve_all() == {"outer": 9, "b": "1-x", "a": "1", "c": 9}


def test_scope_inner_definitions_shadow_outer_values() -> None:
    scope = Scope({"x": "inner"}, {"x": "outer", "y": "$x"}, CTX)
    assert scope.lookup("x") == "inner"
    assert scope.lookup("y") == "$x"  # outer values are data, never re-parsed


def test_scope_reports_cycles_and_missing_names() -> None:
    scope = Scope({"a": "$b", "b": "x$c", "c": "$a"}, {}, CTX)
    with pytest.raises(SubstitutionError, match="circular variable reference: a -> b -> c -> a"):
        scope.lookup("a")
    with pytest.raises(SubstitutionError, match=r"\$zzz is not defined"):
        Scope({}, {}, CTX).lookup("zzz")
    with pytest.raises(SubstitutionError, match="circular"):
        Scope({"s": "$s"}, {"s": 1}, CTX).lookup("s")


def test_parse_is_cached_and_splits_parts() -> None:
    assert parse("a$b${c}${f(1)}d") == ("a", Var("b"), Var("c"), Call("f", (1,), ()), "d")
    assert parse("a$b") is parse("a$b")


def test_long_texts_are_not_kept_in_the_parse_cache() -> None:
    long_text = "$a" + "x" * 5000
    assert parse(long_text) == parse(long_text)
    assert parse(long_text) is not parse(long_text)  # computed again, not kept
    assert parse("short $a") is parse("short $a")


def test_arithmetic_and_text_builtins_without_user_code() -> None:
    """Issue 17, item 9: HttpRunner's gen_random_string, and add/sub/mul/concat/substr."""
    from chalicelib.runner.errors import SubstitutionError
    from chalicelib.runner.functions import FunctionContext
    from chalicelib.runner.template import Scope

    scope = Scope({}, {"x": 2, "s": "hello", "n": "40"}, FunctionContext())
    assert scope.render("${add(1, $x)}") == 3
    assert scope.render("${add($n, 2, 0.5)}") == 42.5
    assert scope.render("${sub(10, $x)}") == 8
    assert scope.render("${mul($x, 3)}") == 6
    assert scope.render("${concat($s, -, $x)}") == "hello-2"
    assert scope.render("${substr($s, 1, 3)}") == "el"
    assert scope.render("${substr($s, -2)}") == "lo"
    assert len(scope.render("${gen_random_string(12)}")) == 12
    for bad in ("${add(1, abc)}", "${mul(" + "9" * 300 + ", " + "9" * 300 + ", " + "9" * 300
                + ", " + "9" * 300 + ", " + "9" * 300 + ")}", "${substr($s, a)}",
                "${add(true, 1)}"):
        with pytest.raises(SubstitutionError):
            scope.render(bad)
