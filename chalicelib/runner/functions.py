"""The fixed table of functions a testcase may call as ``${name(args)}``.

HttpRunner resolves ``${func()}`` against the user's debugtalk.py and then against all of
Python's builtins; we run other people's testcases on shared workers, so only this table
exists: pure functions of their arguments (plus the clock, a random source and the run's
environment variables), each bounded in the memory it can allocate.
"""

from __future__ import annotations

import base64 as _base64
import hashlib
import hmac
import random
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chalicelib.runner.errors import SubstitutionError

if TYPE_CHECKING:
    from datetime import datetime  # imported where a function needs it (cold start)

MAX_RANDOM_STRING_CHARS = 4096
MAX_ZONE_NAME_CHARS = 64  # the longest IANA name is 32 characters
MAX_FORMAT_CHARS = 256  # a strftime format; "%c" grows ~12x, so the result stays small
MAX_ROUND_DIGITS = 400  # round(5, -20000000) would compute 10**20000000 on the event loop
MAX_RESULT_BITS = 4096  # an integer computed by add/sub/mul: chained, they could double it


@dataclass
class FunctionContext:
    """What the builtins may read besides their arguments; injectable for tests."""

    wall_clock: Callable[[], float] = time.time  # seconds since the epoch
    rng: random.Random = field(default_factory=random.Random)
    environment: Mapping[str, Any] = field(default_factory=dict)
    # the project's debugtalk.py functions (see runner/debugtalk.py), only ever given inside
    # the project's sandbox; they win over the builtins of the same name, as in HttpRunner
    user_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _get_timestamp(ctx: FunctionContext, str_len: int = 13) -> str:
    # HttpRunner's semantics: the first str_len digits of the epoch time (13 = milliseconds)
    if isinstance(str_len, bool) or not isinstance(str_len, int) or not 0 < str_len < 17:
        raise SubstitutionError("get_timestamp(str_len): str_len must be an integer 1..16")
    return f"{ctx.wall_clock():.6f}".replace(".", "")[:str_len]


def _utc(ctx: FunctionContext, tz: str) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if len(tz) > MAX_ZONE_NAME_CHARS:
        raise SubstitutionError(
            f"unknown time zone {tz[:MAX_ZONE_NAME_CHARS]!r}...: zone names are at most "
            f"{MAX_ZONE_NAME_CHARS} characters (e.g. Asia/Shanghai)"
        )
    try:
        zone = ZoneInfo(tz)
    # OSError: a name the zone database cannot open as a file (its message would show
    # the worker's paths, so only the name is repeated)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SubstitutionError(f"unknown time zone {tz!r} (e.g. UTC, Asia/Shanghai)") from None
    return datetime.fromtimestamp(ctx.wall_clock(), tz=zone)


def _strftime(moment: datetime, fmt: Any, function: str) -> str:
    fmt = _text(fmt)
    if len(fmt) > MAX_FORMAT_CHARS:
        raise SubstitutionError(f"{function}(fmt): at most {MAX_FORMAT_CHARS} characters")
    try:
        return moment.strftime(fmt)
    except ValueError as exc:  # a NUL in the format
        raise SubstitutionError(f"{function}(fmt): {exc}") from None


def _now(ctx: FunctionContext, tz: str = "UTC", fmt: str = "") -> str:
    moment = _utc(ctx, _text(tz))
    return _strftime(moment, fmt, "now") if fmt else moment.isoformat(timespec="seconds")


def _get_current_date(ctx: FunctionContext, fmt: str = "%Y-%m-%d") -> str:
    return _strftime(_utc(ctx, "UTC"), fmt, "get_current_date")


def _round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is not None and (
        isinstance(ndigits, bool) or not isinstance(ndigits, int)
        or not -MAX_ROUND_DIGITS <= ndigits <= MAX_ROUND_DIGITS
    ):
        raise ValueError(f"ndigits must be an integer -{MAX_ROUND_DIGITS}..{MAX_ROUND_DIGITS}")
    return round(number, ndigits)


def _random_string(ctx: FunctionContext, length: int = 8) -> str:
    if isinstance(length, bool) or not isinstance(length, int):
        raise SubstitutionError("random_string(length): length must be an integer")
    if not 0 <= length <= MAX_RANDOM_STRING_CHARS:
        raise SubstitutionError(f"random_string(length): length must be 0..{MAX_RANDOM_STRING_CHARS}")
    alphabet = string.ascii_letters + string.digits
    return "".join(ctx.rng.choice(alphabet) for _ in range(length))


def _random_int(ctx: FunctionContext, low: int = 0, high: int = 100) -> int:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or low > high:
        raise SubstitutionError("random_int(low, high): two integers, low <= high")
    return ctx.rng.randint(low, high)


def _uuid(ctx: FunctionContext) -> str:
    import uuid

    return str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4))


def _digest(algorithm: str) -> Callable[..., str]:
    def digest(ctx: FunctionContext, value: Any) -> str:
        return hashlib.new(algorithm, _text(value).encode()).hexdigest()

    return digest


def _hmac_sha256(ctx: FunctionContext, key: Any, message: Any) -> str:
    return hmac.new(_text(key).encode(), _text(message).encode(), hashlib.sha256).hexdigest()


def _base64_encode(ctx: FunctionContext, value: Any) -> str:
    return _base64.b64encode(_text(value).encode()).decode("ascii")


def _base64_decode(ctx: FunctionContext, value: Any) -> str:
    try:
        return _base64.b64decode(_text(value), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SubstitutionError(f"base64_decode: not base64 of UTF-8 text: {exc}") from exc


def _url_encode(ctx: FunctionContext, value: Any) -> str:
    return quote(_text(value), safe="")


def _env(ctx: FunctionContext, name: Any) -> Any:
    # The project environment's variables, never os.environ: that is the worker's own
    # configuration (credentials included) and no testcase may read it.
    try:
        return ctx.environment[_text(name)]
    except KeyError:
        raise SubstitutionError(f"ENV({name}): no variable {name!r} in the environment") from None


def _number(value: Any, function: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):  # "3" extracted from a body or a header reads as 3
            try:
                return float(value) if any(c in value for c in ".eE") else int(value)
            except ValueError:
                pass
        raise SubstitutionError(f"{function}(): {value!r} is not a number")
    return value


def _bounded(result: int | float, function: str) -> int | float:
    if isinstance(result, int) and result.bit_length() > MAX_RESULT_BITS:
        raise SubstitutionError(f"{function}(): the result exceeds {MAX_RESULT_BITS} bits")
    return result


def _add(ctx: FunctionContext, *numbers: Any) -> int | float:
    total: int | float = 0
    for value in numbers:
        total = _bounded(total + _number(value, "add"), "add")
    return total


def _sub(ctx: FunctionContext, minuend: Any, subtrahend: Any) -> int | float:
    return _bounded(_number(minuend, "sub") - _number(subtrahend, "sub"), "sub")


def _mul(ctx: FunctionContext, *numbers: Any) -> int | float:
    product: int | float = 1
    for value in numbers:
        factor = _number(value, "mul")
        if isinstance(product, int) and isinstance(factor, int) and (
            product.bit_length() + factor.bit_length() > MAX_RESULT_BITS + 1
        ):
            raise SubstitutionError(f"mul(): the result exceeds {MAX_RESULT_BITS} bits")
        product = _bounded(product * factor, "mul")
    return product


def _concat(ctx: FunctionContext, *parts: Any) -> str:
    return "".join(_text(part) for part in parts)


def _substr(ctx: FunctionContext, value: Any, start: Any = 0, end: Any = None) -> str:
    """Python's slicing, value[start:end], on text."""
    for bound in (start, end):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
            raise SubstitutionError("substr(value, start, end): start and end are integers")
    return _text(value)[start:end]


def _plain(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(ctx: FunctionContext, *args: Any) -> Any:
        try:
            return func(*args)
        except (TypeError, ValueError, OverflowError) as exc:
            shown = func.__name__.lstrip("_")
            raise SubstitutionError(f"{shown}(): {exc}") from None

    return call


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "get_timestamp": _get_timestamp,
    "get_current_date": _get_current_date,
    "now": _now,
    "random_string": _random_string,
    "gen_random_string": _random_string,  # HttpRunner's own name for it
    "random_int": _random_int,
    "uuid": _uuid,
    "uuid4": _uuid,
    "md5": _digest("md5"),
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "hmac_sha256": _hmac_sha256,
    "base64": _base64_encode,
    "base64_encode": _base64_encode,
    "base64_decode": _base64_decode,
    "url_encode": _url_encode,
    "ENV": _env,
    "environ": _env,
    # what HttpRunner examples' debugtalk.py functions most often do, without user code
    "add": _add,
    "sub": _sub,
    "mul": _mul,
    "concat": _concat,
    "substr": _substr,
    # the harmless part of what HttpRunner took from Python's builtins
    "int": _plain(int),
    "float": _plain(float),
    "str": _plain(str),
    "bool": _plain(bool),
    "len": _plain(len),
    "abs": _plain(abs),
    "min": _plain(min),
    "max": _plain(max),
    "round": _plain(_round),
}

SAFE_FUNCTION_NAMES = frozenset(FUNCTIONS)

# HttpRunner builtins that read files from the runner's disk: named in the refusal message
CSV_FUNCTIONS = frozenset({"parameterize", "P"})


def call_function(
    name: str, args: list[Any], kwargs: dict[str, Any], ctx: FunctionContext
) -> Any:
    """Call one safe builtin (or a debugtalk.py function the context holds);
    SubstitutionError for an unknown name or bad arguments."""
    user = ctx.user_functions.get(name) if ctx.user_functions else None
    if user is not None:
        return user(*args, **kwargs)  # the table's wrapper reports its failures
    func = FUNCTIONS.get(name)
    if func is None:
        raise SubstitutionError(unknown_function_message(name))
    try:
        return func(ctx, *args, **kwargs)
    except TypeError as exc:
        raise SubstitutionError(f"{name}(): {exc}") from exc


BUILTINS_NOTE = f"the safe builtins: {', '.join(sorted(SAFE_FUNCTION_NAMES))}"
UNKNOWN_FUNCTION = "is not a safe builtin"


def unknown_function_message(name: str, shown: str | None = None, *, list_builtins: bool = True) -> str:
    """Why ``${name(...)}`` cannot run, and what to write instead. ``shown``: the call as
    written; ``list_builtins``: False where one message lists them for many calls."""
    if name in CSV_FUNCTIONS:
        return (
            f"${{{name}(...)}} reads a project's CSV file, and only as the whole value of a "
            f'config.parameters entry: parameters: {{"username-password": "${{{name}(data/users.csv)}}"}}; '
            "elsewhere list the values inline"
        )
    message = (
        f"{shown or f'${{{name}()}}'} {UNKNOWN_FUNCTION}: user Python (debugtalk.py) is not "
        "supported; write the value it returns, or compute it with a safe builtin"
    )
    return f"{message} ({BUILTINS_NOTE})" if list_builtins else message
