"""Every pattern that reads client input, timed on adversarial input of the maximum body size.

Issue 14 (item 4): `callback_url` of "http://" + "a" * 100000 + " x" took 26 s, because the
URL pattern backtracked (quadratically) and ran before the length check. Validators now check
lengths first (tests/unit/core/test_field_checks.py), and no pattern may be super-linear
even if a check were missed: each runs here on inputs of HAT_MAX_BODY_BYTES (1 MiB) built to
make a backtracking engine try every split, and its time is divided by a linear scan of the
same text (a one-class regex, `[\\s\\S]*`, measured in the same run). Two budgets: the ratio
(a pattern that searches every position costs a few dozen times the tight one-class loop),
and its growth from 16 KiB to 1 MiB (a linear pattern's ratio stays put; a quadratic one's
grows 64-fold). A quadratic pattern shows at the 2 KiB and 16 KiB pre-screens as a ratio in
the thousands (the old URL pattern: ~20,000x at 16 KiB), so 1 MiB never runs for it.

Exit 1 over either budget (like the other benches).
"""
from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chalicelib.accounts import schemas as accounts_schemas  # noqa: E402
from chalicelib.catalog import schemas as catalog_schemas  # noqa: E402
from chalicelib.core import fields, ids, logs  # noqa: E402
from chalicelib.core.settings import DEFAULT_MAX_BODY_BYTES  # noqa: E402
from chalicelib.importers import cli as importers_cli  # noqa: E402
from chalicelib.importers import common as importers_common  # noqa: E402
from chalicelib.keys import service as keys_service  # noqa: E402
from chalicelib.notify import messages, recipients  # noqa: E402
from chalicelib.runner import nesting  # noqa: E402
from chalicelib.runs import github  # noqa: E402

BUDGET_RATIO = 250.0  # a case-insensitive alternation tried at every position: ~170x
BUDGET_GROWTH = 8.0  # ratio at 1 MiB / ratio at 16 KiB: ~1 when linear (noise to ~2.5), 64 if quadratic
PRESCREEN_CHARS = (2 * 1024, 16 * 1024)  # a quadratic pattern is caught here, in seconds
LINEAR = re.compile(r"[\s\S]*")


def _run(pattern: re.Pattern, use: str) -> Callable[[str], object]:
    if use == "sub":
        return lambda text: pattern.sub("", text)
    return getattr(pattern, use)


# (name, pattern, how the code uses it, adversarial text makers: size -> text)
PATTERNS: list[tuple[str, re.Pattern, str]] = [
    ("core.fields URL", fields.URL, "fullmatch"),
    ("core.fields E164", fields.E164, "fullmatch"),
    ("core.fields email local part", fields._LOCAL_PART, "fullmatch"),
    ("core.fields email domain label", fields._DOMAIN_LABEL, "fullmatch"),
    ("catalog environment name", catalog_schemas._ENVIRONMENT_NAME, "fullmatch"),
    ("catalog variable name", catalog_schemas._VARIABLE_NAME, "fullmatch"),
    ("catalog control characters", catalog_schemas._CONTROL, "search"),
    ("catalog member username", catalog_schemas._USERNAME, "fullmatch"),
    ("ids (core.ids: catalog, runs, schedules, keys)", ids.ID, "fullmatch"),
    ("keys API key shape", keys_service._KEY_SHAPE, "fullmatch"),
    ("runs GitHub repository", github._REPOSITORY, "fullmatch"),
    ("runs GitHub commit sha", github._SHA, "fullmatch"),
    ("notify recipient link token", recipients._TOKEN, "fullmatch"),
    ("catalog alert channel id", catalog_schemas._ALERT_ID, "fullmatch"),
    ("runs message unsafe characters", messages._UNSAFE, "sub"),
    ("accounts username", accounts_schemas.USERNAME, "fullmatch"),
    ("accounts code", accounts_schemas.CODE, "fullmatch"),
    ("core.logs secret pairs", logs._PAIRS, "sub"),
    ("core.logs secret word", logs._SECRET_WORD, "search"),
    ("core.logs secret keys", logs.SECRET_KEYS, "search"),
    ("core.logs bearer", logs._BEARER, "sub"),
    ("core.logs six digits", logs._SIX_DIGITS, "sub"),
    ("JSON depth scan not a bracket (runner.nesting: runner, core, importers)", nesting._NOT_BRACKET, "sub"),
    ("importers variable name", importers_common._IDENTIFIER, "fullmatch"),
    ("importers not a word character", importers_common._NOT_WORD, "sub"),
    ("importers CLI file name", importers_cli._UNSAFE, "sub"),
]

# Shapes that make backtracking engines try every split: long runs of what one part of a
# pattern accepts, then a character that makes the whole fail, in the prefixes the patterns want.
ADVERSARIAL: list[tuple[str, Callable[[int], str]]] = [
    ("a * n + ' x'", lambda n: "a" * n + " x"),
    ("'http://' + a * n + ' x'", lambda n: "http://" + "a" * n + " x"),
    ("'http://a/' + '/' * n + ' '", lambda n: "http://a/" + "/" * n + " "),
    ("'a.' * n + '!'", lambda n: "a." * (n // 2) + "!"),
    ("'-' * n + '!'", lambda n: "-" * n + "!"),
    ("'1' * n + 'x'", lambda n: "1" * n + "x"),
    ("'+1' + '0' * n", lambda n: "+1" + "0" * n),
    ("'a=' * n", lambda n: "a=" * (n // 2)),
    ("'\"a\": ' * n", lambda n: '"a": ' * (n // 5)),
    ("'password' * n", lambda n: "password" * (n // 8)),
    ("'Bearer ' * n", lambda n: "Bearer " * (n // 7)),
    ("'x' + ' ' * n", lambda n: "x" + " " * n),
]


def seconds(function: Callable[[str], object], text: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - started)
    return best


def ratio_at(size: int, function: Callable[[str], object], make: Callable[[int], str]) -> float:
    text = make(size)
    peer = seconds(LINEAR.fullmatch, text)
    return seconds(function, text) / max(peer, 1e-9)


def main() -> int:
    worst: dict[str, tuple[float, float, str]] = {}
    over = []
    for name, pattern, use in PATTERNS:
        function = _run(pattern, use)
        for shape, make in ADVERSARIAL:
            for size in PRESCREEN_CHARS:
                small = ratio_at(size, function, make)
                if small > BUDGET_RATIO:
                    break
            ratio = ratio_at(DEFAULT_MAX_BODY_BYTES, function, make) if small <= BUDGET_RATIO else small
            # Ratios under 1 are patterns that stop early (bounded or anchored): no growth to see.
            growth = ratio / small if small >= 1 else 1.0
            if ratio > worst.get(name, (0.0, 0.0, ""))[0]:
                worst[name] = (ratio, growth, shape)
            if ratio > BUDGET_RATIO or growth > BUDGET_GROWTH:
                over.append(f"{name} on {shape}: {ratio:.1f}x, {growth:.1f}x growth from 16 KiB")
    width = max(len(name) for name in worst)
    print(f"pattern time / linear scan time, worst of {len(ADVERSARIAL)} adversarial inputs of "
          f"{DEFAULT_MAX_BODY_BYTES} characters (budgets {BUDGET_RATIO:.0f}x, growth {BUDGET_GROWTH:.0f}x):")
    for name, (ratio, growth, shape) in worst.items():
        print(f"  {name:<{width}}  {ratio:7.2f}x  growth {growth:4.2f}x  ({shape})")
    if over:
        print("OVER budget:\n  " + "\n  ".join(over))
        return 1
    print("every pattern within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
