"""An OpenAPI 3.1 document generated from the app's route table and pydantic models.

Nothing is maintained by hand: paths and methods come from `app.routes`; a route's
request body is the pydantic model its view passes to `parse_body(...)` (found by
reading the view's source); its success answers are what the view declares with
`@answers(...)` (below its `@bp.route`); list routes (those calling `page_params`) get
`limit` and `cursor`; every route but the public ones needs the bearer token.

Routes import this module (for `answers`) at cold start: pydantic loads only in
`build_openapi`, where the declared models are imported by name.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from collections.abc import Callable
from functools import lru_cache
from types import FunctionType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from chalicelib.core.auth import is_public

if TYPE_CHECKING:
    from chalice.app import Chalice
    from pydantic import BaseModel

View = Callable[..., Any]
ViewT = TypeVar("ViewT", bound=View)
Json = dict[str, Any]  # a JSON object of the document

ERROR_SCHEMA: Json = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "fields": {"type": "object", "additionalProperties": {"type": "string"}}},
    }},
}
_ERROR_RESPONSES = {
    "400": "bad request: a field is named in error.fields", "401": "missing or bad token",
    "404": "not there, or not yours", "409": "conflict (duplicate)", "413": "body too large",
    "429": "too many requests (see Retry-After)",
}
# What the code can also answer (owner only, Chalice's 415, AWS throttling): same Error shape.
_OTHER_ERRORS = {"403": "forbidden (e.g. the owner only)", "415": "unsupported content type",
                 "503": "busy; retry (see Retry-After)"}
ANSWERS_ATTRIBUTE = "__hat_answers__"
# The /docs page's only stylesheet; its CSP allows exactly this text (core/routes.py).
DOCS_STYLE = "body{font-family:sans-serif;margin:2em}td{padding:4px 10px;border-bottom:1px solid #ddd}"


class Declared(NamedTuple):
    """One success answer of a view: status, "package.module:Model" (None: no body), media type."""

    status: int
    model: str | None
    media_type: str | None
    description: str | None


def answers(status: int, model: str | None = None, *, media_type: str | None = None,
            description: str | None = None) -> Callable[[ViewT], ViewT]:
    """Declare a success answer of a view, under its `@bp.route(...)`; stack one per status.

    `model` is "package.module:Name" of a pydantic model (resolved only when the document is
    built: pydantic stays out of the cold start); without it the answer has no JSON body:
    nothing (204), or a string of `media_type` (JUnit XML, the HTML docs).
    """
    if model is not None and ":" not in model:
        raise ValueError(f"answers({status}, {model!r}): name the model as 'package.module:Name'")

    def declare(view: ViewT) -> ViewT:
        declared = view.__dict__.setdefault(ANSWERS_ATTRIBUTE, {})
        declared[status] = Declared(status, model, media_type or ("application/json" if model else None),
                                    description)
        return view

    return declare


OUTSIDE_ATTRIBUTE = "__hat_outside_api__"


def outside_api(view: ViewT) -> ViewT:
    """Keep a route out of the document: served by the app but not part of its API (the
    console's redirect and its built files, whose types vary by name). Put it under the
    route, beside `@answers`."""
    view.__dict__[OUTSIDE_ATTRIBUTE] = True
    return view


def declared_answers(view: View) -> dict[int, Declared]:
    """The success answers a view declares ({} for none), through wrappers like core/http.py's."""
    declared: dict[int, Declared] = inspect.unwrap(view).__dict__.get(ANSWERS_ATTRIBUTE, {})
    return declared


def resolve_model(reference: str) -> type[BaseModel]:
    """The class a "package.module:Name" reference names."""
    from pydantic import BaseModel

    module_name, _, name = reference.partition(":")
    model = getattr(importlib.import_module(module_name), name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise LookupError(f"{reference!r} is not a pydantic model")
    return model


def _calls(view: View) -> list[ast.Call]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(view)))
    except (OSError, TypeError, SyntaxError):
        return []
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _names_in_scope(view: FunctionType) -> dict[str, Any]:
    """The view's globals plus what it imports inside itself (bodies load lazily there)."""
    names = dict(view.__globals__)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(view)))
    except (OSError, TypeError, SyntaxError):
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = importlib.import_module(node.module)
            for alias in node.names:
                if hasattr(module, alias.name):
                    names[alias.asname or alias.name] = getattr(module, alias.name)
    return names


def body_model(view: FunctionType, *, depth: int = 1) -> type[BaseModel] | None:
    """The model the view (or a helper of its module it calls, e.g. `_run_body()`) parses."""
    from pydantic import BaseModel

    for call in _calls(view):
        helper = view.__globals__.get(call.func.id) if isinstance(call.func, ast.Name) else None
        if depth and inspect.isfunction(helper) and helper.__module__ == view.__module__:
            found = body_model(helper, depth=depth - 1)
            if found is not None:
                return found
        if _call_name(call) in ("parse_body", "validate") and len(call.args) >= 2:
            arg = call.args[1]
            model = None
            if isinstance(arg, ast.Name):
                model = _names_in_scope(view).get(arg.id)
            elif isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
                owner = _names_in_scope(view).get(arg.value.id)  # e.g. a lazy schemas module
                model = getattr(owner, arg.attr, None)
            if isinstance(model, type) and issubclass(model, BaseModel):
                return model
    return None


def is_paginated(view: View) -> bool:
    return any(_call_name(call) == "page_params" for call in _calls(view))


def _responses(declared: dict[int, Declared], refs: dict[type[BaseModel], Json]) -> Json:
    """The declared success answers, then every error: the Error shape, whatever the status."""
    from http import HTTPStatus

    responses: Json = {}
    for status, answer in sorted(declared.items()):
        model = resolve_model(answer.model) if answer.model else None
        text = answer.description
        if text is None and model is not None:  # the model's own docstring, first paragraph
            text = inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        response: Json = {"description": text or HTTPStatus(status).phrase}
        if answer.media_type:
            schema = refs[model] if model is not None else {"type": "string"}
            response["content"] = {answer.media_type: {"schema": schema}}
        responses[str(status)] = response
    if not declared:
        responses["default"] = {"description": "success (no answer declared)"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for code, text in (_ERROR_RESPONSES | _OTHER_ERRORS).items():
        responses.setdefault(code, {"description": text, "content": error})
    if declared:  # anything undeclared (a 200 where 201 was promised...) must at least be an Error
        responses["default"] = {"description": "any other status: an error", "content": error}
    return responses


def _operation(path: str, method: str, routed: View, refs: dict[type[BaseModel], Json]) -> Json:
    view: FunctionType = inspect.unwrap(routed)  # core/http.py wraps views to translate AWS throttling
    operation: Json = {
        "operationId": f"{method.lower()}_{view.__name__}",
        "summary": (inspect.getdoc(view) or view.__name__.replace("_", " ")).splitlines()[0],
        "responses": _responses(declared_answers(view), refs),
    }
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{(\w+)}", path)]
    if is_paginated(view):
        parameters += [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                        "default": 20}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        ]
    if parameters:
        operation["parameters"] = parameters
    model = body_model(view)
    if model is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[model]}}}
    if is_public(path):
        operation["security"] = []
    return operation


def _schemas(views: list[View]) -> tuple[dict[type[BaseModel], Json], Json]:
    """({model: {"$ref": ...}}, components.schemas) for every body and answer model, made in
    one pass so that two models of one name (each feature's `Notify`) keep apart."""
    from pydantic.json_schema import models_json_schema

    models: list[type[BaseModel] | None] = []
    for view in views:
        view = inspect.unwrap(view)
        models.append(body_model(view))
        models += [resolve_model(answer.model) for answer in declared_answers(view).values() if answer.model]
    unique = list(dict.fromkeys(model for model in models if model is not None))
    if not unique:
        return {}, {}
    keys, document = models_json_schema([(model, "validation") for model in unique],
                                        ref_template="#/components/schemas/{model}")
    return {model: keys[(model, "validation")] for model in unique}, document.get("$defs", {})


def build_openapi(app: Chalice, version: str) -> Json:
    routes = [(path, method, entry.view_function) for path in sorted(app.routes)
              for method, entry in sorted(app.routes[path].items())
              if not getattr(inspect.unwrap(entry.view_function), OUTSIDE_ATTRIBUTE, False)]
    refs, schemas = _schemas([view for _, _, view in routes])
    paths: Json = {}
    for path, method, view in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, view, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "hat", "version": version,
                 "description": "A serverless platform for testing HTTP APIs."},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA} | schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


@lru_cache(maxsize=1)
def cached_openapi(app: Chalice, version: str) -> Json:
    return build_openapi(app, version)


def _answer_name(response: Json) -> str:
    """The answer's model name (Project), else its media type, else "" (no body)."""
    for media_type, content in response.get("content", {}).items():
        ref = content.get("schema", {}).get("$ref", "")
        return str(ref.rsplit("/", 1)[-1] if ref else media_type)
    return ""


def docs_html(spec: Json) -> str:
    """A readable, self-contained page (no CDN: works offline and under a strict CSP)."""
    from html import escape

    rows = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            auth = "public" if operation.get("security") == [] else "bearer"
            answer = ", ".join(f"{status} {_answer_name(response)}".strip()
                               for status, response in operation["responses"].items() if status[0] == "2")
            rows.append(f"<tr><td><b>{method.upper()}</b></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(operation['summary'])}</td><td>{escape(ref)}</td>"
                        f"<td>{escape(answer)}</td><td>{auth}</td></tr>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>hat API</title><style>"
            + DOCS_STYLE + "</style></head><body><h1>hat API</h1><p>Machine-readable: <a href='openapi.json'>"
            "openapi.json</a> (OpenAPI 3.1)</p><table><tr><th>method</th><th>path</th><th>what</th>"
            "<th>body</th><th>answer</th><th>auth</th></tr>" + "".join(rows) + "</table></body></html>")
