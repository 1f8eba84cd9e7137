"""An OpenAPI 3.1 document generated from the app's route table and pydantic models.

Nothing is maintained by hand: paths and methods come from `app.routes`; a route's
request body is the pydantic model its view passes to `parse_body(...)` (found by
reading the view's source); list routes (those calling `page_params`) get `limit`
and `cursor`; every route but the public ones needs the bearer token.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from functools import lru_cache

from chalice.app import Chalice
from pydantic import BaseModel

from chalicelib.core.auth import is_public

ERROR_SCHEMA = {
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


def _calls(view) -> list[ast.Call]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(view)))
    except (OSError, TypeError, SyntaxError):
        return []
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _names_in_scope(view) -> dict:
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


def body_model(view, *, depth: int = 1) -> type[BaseModel] | None:
    """The model the view (or a helper of its module it calls, e.g. `_run_body()`) parses."""
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


def is_paginated(view) -> bool:
    return any(_call_name(call) == "page_params" for call in _calls(view))


def _operation(path: str, method: str, view, schemas: dict) -> dict:
    view = inspect.unwrap(view)  # core/http.py wraps views to translate AWS throttling
    operation: dict = {
        "operationId": f"{method.lower()}_{view.__name__}",
        "summary": (inspect.getdoc(view) or view.__name__.replace("_", " ")).splitlines()[0],
        "responses": {"default": {"description": "success"}} | {
            code: {"description": text, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
            for code, text in _ERROR_RESPONSES.items()},
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
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
    if is_public(path):
        operation["security"] = []
    return operation


def build_openapi(app: Chalice, version: str) -> dict:
    schemas: dict = {"Error": ERROR_SCHEMA}
    paths: dict = {}
    for path in sorted(app.routes):
        for method, entry in sorted(app.routes[path].items()):
            operation = _operation(path, method, entry.view_function, schemas)
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "hat", "version": version,
                 "description": "A serverless platform for testing HTTP APIs."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


@lru_cache(maxsize=1)
def cached_openapi(app: Chalice, version: str) -> dict:
    return build_openapi(app, version)


def docs_html(spec: dict) -> str:
    """A readable, self-contained page (no CDN: works offline and under a strict CSP)."""
    from html import escape

    rows = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            auth = "public" if operation.get("security") == [] else "bearer"
            rows.append(f"<tr><td><b>{method.upper()}</b></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(operation['summary'])}</td><td>{escape(ref)}</td><td>{auth}</td></tr>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>hat API</title><style>"
            "body{font-family:sans-serif;margin:2em}td{padding:4px 10px;border-bottom:1px solid #ddd}"
            "</style></head><body><h1>hat API</h1><p>Machine-readable: <a href='openapi.json'>"
            "openapi.json</a> (OpenAPI 3.1)</p><table><tr><th>method</th><th>path</th><th>what</th>"
            "<th>body</th><th>auth</th></tr>" + "".join(rows) + "</table></body></html>")
