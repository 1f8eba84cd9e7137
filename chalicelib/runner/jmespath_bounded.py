"""JMESPath with bounds on the work one expression may do (check and extract paths).

JMESPath runs a user's expression over a response, on the event loop: ``[@,@] | [@,@] | ...``
doubles a value at every pipe without copying it, and flattening, joining, printing or
comparing what comes out then costs 2^n. Here every node visited counts against
MAX_PATH_STEPS, a flattened list or a joined string is sized before it is built, the
arguments of comparisons, ``contains`` and ``to_string`` are sized before they run (every
shared part counted each time it appears), and so is the result, which the step goes on
using: each bound reached fails the path with error_type ``too_large``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jmespath
from jmespath import functions
from jmespath.visitor import Options, TreeInterpreter

from chalicelib.runner._cache import text_cache
from chalicelib.runner.errors import PathError
from chalicelib.runner.template import MAX_RENDERED_SIZE, expanded_size

if TYPE_CHECKING:
    from jmespath.visitor import _TreeNode  # the stubs' name for a parsed node

MAX_PATH_STEPS = 500_000  # nodes visited by one evaluation: well under a second
MAX_PATH_SIZE = MAX_RENDERED_SIZE  # what a result (or a compared value) may expand to
MAX_PATH_ELEMENTS = 1_000_000  # a list one flatten builds


def _too_large(what: str) -> PathError:
    return PathError(f"the path's {what} exceeds what a check may compute", "too_large")


def _sized(value: Any, what: str) -> Any:
    if type(value) in (list, dict) and expanded_size(value, MAX_PATH_SIZE) > MAX_PATH_SIZE:
        raise _too_large(what)
    return value


class _BoundedFunctions(functions.Functions):
    @functions.signature({"types": ["string"]}, {"types": ["array-string"]})
    def _func_join(self, separator: str, array: list[str]) -> str:
        size = len(separator) * len(array)
        for item in array:
            size += len(item)
            if size > MAX_PATH_SIZE:
                raise _too_large("join() result")
        return separator.join(array)

    @functions.signature({"types": []})
    def _func_to_string(self, arg: Any) -> str:
        # types-jmespath leaves out Functions' built-in _func_* methods
        return super()._func_to_string(  # type: ignore[misc, no-any-return]
            _sized(arg, "to_string() argument"))

    @functions.signature({"types": ["array", "string"]}, {"types": []})
    def _func_contains(self, subject: Any, search: Any) -> bool:
        return super()._func_contains(  # type: ignore[misc, no-any-return]
            _sized(subject, "contains() argument"), _sized(search, "contains() argument"))


_FUNCTIONS = _BoundedFunctions()


class _BoundedInterpreter(TreeInterpreter):
    def __init__(self) -> None:
        super().__init__(Options(custom_functions=_FUNCTIONS))
        self._steps_left = MAX_PATH_STEPS

    def visit(self, node: _TreeNode, *args: Any, **kwargs: Any) -> Any:
        self._steps_left -= 1
        if self._steps_left < 0:
            raise _too_large("evaluation")
        return super().visit(node, *args, **kwargs)

    def visit_flatten(self, node: _TreeNode, value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        size = 0
        for element in base:
            size += len(element) if isinstance(element, list) else 1
        if size > MAX_PATH_ELEMENTS:
            raise _too_large("flattened list")
        merged: list[Any] = []
        for element in base:
            if isinstance(element, list):
                merged.extend(element)
            else:
                merged.append(element)
        return merged

    def visit_comparator(self, node: _TreeNode, value: Any) -> Any:
        # types-jmespath leaves out TreeInterpreter's _EQUALITY_OPS
        if node["value"] not in self._EQUALITY_OPS:  # type: ignore[attr-defined]
            return super().visit_comparator(node, value)  # numbers only: nothing to size
        left, right = (
            _sized(self.visit(child, value), "compared value") for child in node["children"]
        )
        return self.COMPARATOR_FUNC[node["value"]](left, right)


@text_cache(maxsize=1024)
def _compiled(expression: str) -> Any:
    return jmespath.compile(expression)


def search(expression: str, data: Any) -> Any:
    """``jmespath.search`` within the bounds above; PathError(kind="too_large") past one."""
    try:
        result = _BoundedInterpreter().visit(_compiled(expression).parsed, data)
    except RecursionError:
        raise _too_large("nesting") from None
    return _sized(result, "result")
