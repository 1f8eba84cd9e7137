"""OpenAPI 3.0 / 3.1 and Swagger 2.0 documents (JSON or YAML) to smoke testcases.

One testcase per operation (`per="operation"`) or per tag (`per="tag"`, the tag's
operations as steps), grouped by the first tag (a module on a project import). Each step:
- path, query, header and cookie parameters from their example, else their schema's
  example, default, first enum value or a value synthesised from the schema; path
  parameters become config variables (`${id}` in the url) so they are easy to change;
- a JSON (or form) body the same way, from the request body's example or schema;
- the security the operation needs (its own, else the document's) as headers, query
  parameters or cookies fed by variables named after the scheme, for the project
  environment to fill (`Authorization: Bearer ${bearer}`);
- a validator for the documented success status and, when that answer has a JSON schema,
  one that the body matches it (the runner's `json_schema` comparator), the schema carried
  with every component it references under `$defs`, so recursive schemas stay recursive.

`$ref`s are local (`#/...`); each is followed at most MAX_REF_DEPTH deep while
synthesising and a cycle stops the synthesis there, so a recursive schema gives a finite
value. Synthesised values are bounded in depth and size; schemas carried into validators are
bounded in size (a bigger one is reported, not carried).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.importers.common import (
    MALFORMED,
    Conversion,
    SourceInvalid,
    as_dict,
    as_list,
    clean_name,
    finish,
    literal,
    literal_value,
    testcase_document,
    variable_name,
)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
PER_MODES = ("operation", "tag")
MAX_REF_DEPTH = 12
MAX_SYNTH_DEPTH = 8
MAX_SYNTH_NODES = 500
MAX_SCHEMA_BYTES = 64 * 1024
MAX_OBJECT_PROPERTIES = 50
_FORMATS = {
    "email": "user@example.com",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "uri": "https://example.com",
    "url": "https://example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "aGF0",
    "password": "secret-password",
    "binary": "binary",
}
_OWN_HEADERS = {"accept", "content-type", "authorization"}


def looks_like(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("paths"), dict)
        and (str(document.get("openapi", "")).startswith("3.") or str(document.get("swagger", "")) == "2.0")
    )


class _Unresolved(Exception):
    pass


class _Document:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.swagger = str(document.get("swagger", "")) == "2.0"
        self.version31 = str(document.get("openapi", "")).startswith("3.1")

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
        """Follow $ref chains (local only); (node, refs followed so far) or _Unresolved."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or len(seen) >= MAX_REF_DEPTH:
                raise _Unresolved(f"$ref {ref} is a cycle or nests more than {MAX_REF_DEPTH} deep")
            seen = (*seen, ref)
            node = self.pointer(ref)
        return node, seen

    def pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise _Unresolved(f"external $ref {ref!r} is not followed")
        node: Any = self.document
        for raw in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise _Unresolved(f"$ref {ref!r} points at nothing")
        return node


class _Synthesis:
    """An example value for a schema, bounded in depth, nodes and $ref hops."""

    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        self.nodes = 0

    def value(self, schema: Any, depth: int = 0, seen: tuple[str, ...] = ()) -> Any:
        self.nodes += 1
        if depth > MAX_SYNTH_DEPTH or self.nodes > MAX_SYNTH_NODES:
            return None
        try:
            schema, seen = self.doc.resolve(schema, seen)
        except _Unresolved:
            return None
        if not isinstance(schema, dict):
            return None
        for key in ("example", "default", "const"):
            if key in schema:
                return schema[key]
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return schema["examples"][0]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.value(schema[key][0], depth + 1, seen)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self.value(part, depth + 1, seen)
                if isinstance(value, dict):
                    merged.update(value)
            if merged or "properties" not in schema:
                return merged
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else None
        if kind == "object":
            out = {}
            properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
            for name in list(properties)[:MAX_OBJECT_PROPERTIES]:
                prop = properties[name]
                try:
                    resolved, _ = self.doc.resolve(prop, seen)
                except _Unresolved:
                    continue  # a cycle: leave the property out
                if isinstance(resolved, dict) and resolved.get("readOnly"):
                    continue
                out[name] = self.value(prop, depth + 1, seen)
            return out
        if kind == "array":
            item = self.value(schema.get("items"), depth + 1, seen)
            return [] if item is None else [item] * max(1, min(int(schema.get("minItems") or 1), 3))
        if kind == "string":
            text = _FORMATS.get(str(schema.get("format")), "string")
            low = schema.get("minLength")
            if isinstance(low, int) and len(text) < low:
                text = text + "x" * min(low - len(text), 1000)
            high = schema.get("maxLength")
            if isinstance(high, int) and 0 <= high < len(text):
                text = text[:high]
            return text
        if kind in ("integer", "number"):
            low = schema.get("minimum")
            if isinstance(low, (int, float)) and not isinstance(low, bool):
                return low + 1 if schema.get("exclusiveMinimum") is True else low
            if isinstance(schema.get("exclusiveMinimum"), (int, float)) and not isinstance(
                schema["exclusiveMinimum"], bool
            ):
                return schema["exclusiveMinimum"] + 1
            return 1 if kind == "integer" else 1.5
        if kind == "boolean":
            return True
        return None


class _SchemaBundle:
    """A response schema for the json_schema comparator: its own $refs rewritten to $defs,
    every schema they reach carried once (recursion kept, not unrolled)."""

    def __init__(self, doc: _Document) -> None:
        self.doc = doc

    def build(self, schema: Any) -> dict[str, Any] | None:
        defs: dict[str, Any] = {}
        pending: list[str] = []

        def rewrite(node: Any, depth: int) -> Any:
            if depth > 64:
                raise _Unresolved("a schema nested more than 64 deep")
            if isinstance(node, dict):
                if isinstance(node.get("$ref"), str):
                    ref = node["$ref"]
                    self.doc.pointer(ref)  # raises for external or dangling refs
                    name = _def_name(ref)
                    if name not in defs:
                        defs[name] = None
                        pending.append(ref)
                    return {"$ref": f"#/$defs/{name}"}
                out = {}
                for key, value in node.items():
                    if (
                        not isinstance(key, str)
                        or key.startswith("x-")
                        or key in ("example", "examples", "xml", "externalDocs", "discriminator")
                    ):
                        continue
                    out[key] = rewrite(value, depth + 1) if key not in ("enum", "const", "default") else value
                return self._dialect(out)
            if isinstance(node, list):
                return [rewrite(item, depth + 1) for item in node]
            return node

        root = rewrite(schema, 0)
        while pending:
            ref = pending.pop()
            defs[_def_name(ref)] = rewrite(self.doc.pointer(ref), 0)
        if not isinstance(root, dict):
            return None
        if defs:
            root = (
                {**root, "$defs": {**root.get("$defs", {}), **defs}}
                if "$ref" not in root
                else {"allOf": [root], "$defs": defs}
            )
        if len(json.dumps(root)) > MAX_SCHEMA_BYTES:
            raise _Unresolved(f"the response schema is over {MAX_SCHEMA_BYTES // 1024} KB")
        return root

    def _dialect(self, node: dict[str, Any]) -> dict[str, Any]:
        """OpenAPI 3.0 / Swagger 2.0 schema words as JSON Schema 2020-12 reads them."""
        if self.doc.version31:
            return node
        if node.pop("nullable", False) is True and "type" in node:
            node["type"] = (
                [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
            )
        for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(node.get(exclusive), bool):
                if node.pop(exclusive) and bound in node:
                    node[exclusive] = node.pop(bound)
        for word in ("readOnly", "writeOnly", "deprecated", "collectionFormat", "allowEmptyValue"):
            node.pop(word, None)
        if node.get("type") == "file":
            node.pop("type")
        return node


def _def_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].replace("~1", "_").replace("~0", "_") or "root"


def _base_url(doc: _Document, document: dict[str, Any]) -> tuple[str, str]:
    """(base_url, path prefix): an absolute server becomes the base_url; a relative one
    (served next to the document) a prefix of every path, the base_url left to the environment."""
    if doc.swagger:
        host = document.get("host")
        base_path = str(document.get("basePath") or "").rstrip("/")
        if not host:
            return "", base_path
        schemes = [s for s in as_list(document.get("schemes")) if s in ("http", "https")] or ["https"]
        return f"{schemes[0]}://{host}{base_path}", ""
    servers = document.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return "", ""
    url = str(servers[0].get("url") or "")
    for name, variable in as_dict(servers[0].get("variables")).items():
        if isinstance(variable, dict):
            url = url.replace("{" + str(name) + "}", str(variable.get("default", "")))
    if "://" in url:
        return url.rstrip("/"), ""
    return "", url.rstrip("/")


class _Converter:
    def __init__(self, document: dict[str, Any], per: str) -> None:
        self.document = document
        self.doc = _Document(document)
        self.per = per
        self.conversion = Conversion("openapi")
        self.report = self.conversion.report
        info = document.get("info") if isinstance(document.get("info"), dict) else {}
        self.conversion.title = clean_name(info.get("title"), "API")
        self.base_url, self.prefix = _base_url(self.doc, document)
        components = document.get("components") if isinstance(document.get("components"), dict) else {}
        self.schemes = (
            document.get("securityDefinitions") if self.doc.swagger else components.get("securitySchemes")
        ) or {}
        self.needs: set[str] = set()

    def run(self) -> Conversion:
        by_tag: dict[str, list[dict[str, Any]]] = {}
        for path, item in self.document["paths"].items():
            try:
                item, _ = self.doc.resolve(item)
            except _Unresolved as error:
                self.report.skip(f"path {path}", str(error))
                continue
            if not isinstance(item, dict):
                continue
            for method, operation in item.items():
                if method not in METHODS:
                    if method not in ("parameters", "summary", "description", "servers", "$ref") and not str(
                        method
                    ).startswith("x-"):
                        self.report.skip(f"{str(method).upper()} {path}", "not a method hat sends")
                    continue
                if not isinstance(operation, dict):
                    continue
                what = f"{method.upper()} {path}"
                try:
                    step, variables = self._step(path, method, item, operation, what)
                except _Unresolved as error:
                    self.report.skip(what, str(error))
                    continue
                except MALFORMED as error:
                    self.report.skip(what, f"malformed: {error}")
                    continue
                tags = operation.get("tags")
                tag = clean_name(tags[0]) if isinstance(tags, list) and tags else "default"
                name = clean_name(operation.get("operationId") or operation.get("summary") or what)
                if self.per == "operation":
                    self.conversion.add(
                        name,
                        testcase_document(name, [step], variables=variables, base_url=self.base_url),
                        tag,
                        key=what,
                    )
                else:
                    by_tag.setdefault(tag, []).append({"step": step, "variables": variables})
                self.report.done(
                    what, f"testcase {name!r}" if self.per == "operation" else f"a step of {tag!r}"
                )
        for tag, entries in by_tag.items():
            variables: dict[str, Any] = {}
            for entry in entries:
                variables.update(entry["variables"])
            self.conversion.add(
                tag,
                testcase_document(
                    tag, [e["step"] for e in entries], variables=variables, base_url=self.base_url
                ),
                tag,
            )
        if self.needs:
            self.report.warn(
                "security variables " + ", ".join(sorted(self.needs)),
                "requests send them: give them values in the project environment",
            )
        if not self.base_url:
            self.report.warn(
                "servers", "no absolute server URL: the runs take base_url from the project environment"
            )
        return finish(self.conversion)

    def _parameters(self, item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*as_list(item.get("parameters")), *as_list(operation.get("parameters"))]:
            parameter, _ = self.doc.resolve(raw)
            if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
                merged[(parameter["name"], str(parameter.get("in")))] = parameter
        return list(merged.values())

    def _example(self, holder: dict[str, Any], schema: Any) -> Any:
        if "example" in holder:
            return holder["example"]
        examples = holder.get("examples")
        if isinstance(examples, dict) and examples:
            first, _ = self.doc.resolve(next(iter(examples.values())))
            if isinstance(first, dict) and "value" in first:
                return first["value"]
        if isinstance(examples, list) and examples:
            return examples[0]
        return _Synthesis(self.doc).value(schema)

    def _step(
        self, path: str, method: str, item: dict[str, Any], operation: dict[str, Any], what: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        url = self.prefix + path
        request: dict[str, Any] = {"method": method.upper()}
        variables: dict[str, Any] = {}
        params: dict[str, Any] = {}
        headers: dict[str, Any] = {}
        cookies: dict[str, Any] = {}
        form: dict[str, Any] = {}
        body: Any = None
        for parameter in self._parameters(item, operation):
            name, where = parameter["name"], parameter.get("in")
            schema = parameter.get("schema", parameter if self.doc.swagger else None)
            if where == "body":
                body = literal_value(self._example(parameter, parameter.get("schema")))
                continue
            if where == "formData" and parameter.get("type") == "file":
                self.report.skip(f"{what}: file parameter {name!r}", "file uploads need project files")
                continue
            required = bool(parameter.get("required")) or where == "path"
            has_example = (
                "example" in parameter
                or "examples" in parameter
                or (isinstance(schema, dict) and ("example" in schema or "default" in schema))
            )
            if not required and not has_example:
                continue
            value = self._example(parameter, schema)
            if value is None:
                value = "string" if where == "path" else ""
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            if where == "path":
                variable = variable_name(name)
                variables[variable] = literal(str(value)) if isinstance(value, str) else value
                url = url.replace("{" + name + "}", "${" + variable + "}")
            elif where == "query":
                params[literal(name)] = literal_value(value)
            elif where == "header" and name.lower() not in _OWN_HEADERS:
                headers[literal(name)] = literal(str(value))
            elif where == "cookie":
                cookies[literal(name)] = literal(str(value))
            elif where == "formData":
                form[literal(name)] = literal(str(value))
        content_type = None
        if not self.doc.swagger and operation.get("requestBody") is not None:
            body, form, content_type = self._request_body(operation["requestBody"], what)
        elif self.doc.swagger and body is not None:
            content_type = "application/json"
        request["url"] = url
        if params:
            request["params"] = params
        self._security(operation, headers, params, cookies)
        if headers:
            request["headers"] = headers
        if cookies:
            request["cookies"] = cookies
        if body is not None:
            request["json"] = body
        elif form:
            request["data"] = form
        if content_type and content_type != "application/json" and body is not None:
            request.setdefault("headers", {})["Content-Type"] = content_type
        step: dict[str, Any] = {"name": clean_name(operation.get("summary") or what), "request": request}
        step["validate"] = self._validators(operation, what)
        return step, variables

    def _request_body(self, raw: Any, what: str) -> tuple[Any, dict[str, Any], str | None]:
        request_body, _ = self.doc.resolve(raw)
        content = request_body.get("content") if isinstance(request_body, dict) else None
        if not isinstance(content, dict) or not content:
            return None, {}, None
        for media, entry in content.items():
            if ("json" in media) and isinstance(entry, dict):
                return literal_value(self._example(entry, entry.get("schema"))), {}, media.split(";")[0]
        for media, entry in content.items():
            if media in ("application/x-www-form-urlencoded", "multipart/form-data") and isinstance(
                entry, dict
            ):
                value = self._example(entry, entry.get("schema"))
                if media == "multipart/form-data":
                    self.report.warn(what, "multipart fields are sent urlencoded (hat sends no multipart)")
                form = (
                    {
                        literal(str(k)): literal(v if isinstance(v, str) else json.dumps(v))
                        for k, v in (value or {}).items()
                    }
                    if isinstance(value, dict)
                    else {}
                )
                return None, form, None
        self.report.skip(f"{what}: request body", f"no JSON or form media type ({', '.join(content)})")
        return None, {}, None

    def _security(
        self,
        operation: dict[str, Any],
        headers: dict[str, Any],
        params: dict[str, Any],
        cookies: dict[str, Any],
    ) -> None:
        requirements = operation.get("security", self.document.get("security"))
        if not isinstance(requirements, list) or not requirements:
            return
        first = requirements[0]
        if not isinstance(first, dict):
            return
        for scheme_name in first:
            scheme, _ = self.doc.resolve(self.schemes.get(scheme_name))
            if not isinstance(scheme, dict):
                self.report.skip(f"security scheme {scheme_name!r}", "not defined in the document")
                continue
            variable = variable_name(scheme_name)
            kind, where = scheme.get("type"), scheme.get("in")
            if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic" or kind == "basic":
                headers["Authorization"] = f"Basic ${{base64(${variable}_username:${variable}_password)}}"
                self.needs.update({f"{variable}_username", f"{variable}_password"})
                continue
            if kind == "apiKey" and isinstance(scheme.get("name"), str):
                target = params if where == "query" else cookies if where == "cookie" else headers
                target[literal(scheme["name"])] = "${" + variable + "}"
            elif kind in ("http", "oauth2", "openIdConnect"):
                headers["Authorization"] = "Bearer ${" + variable + "}"
            else:
                self.report.skip(f"security scheme {scheme_name!r}", f"type {kind!r} is not converted")
                continue
            self.needs.add(variable)

    def _validators(self, operation: dict[str, Any], what: str) -> list[dict[str, list[Any]]]:
        responses = operation.get("responses") if isinstance(operation.get("responses"), dict) else {}
        codes = sorted(str(code) for code in responses if str(code)[:1] == "2" and str(code)[1:].isdigit())
        if not codes:
            if any(str(code).upper() == "2XX" for code in responses):
                return [{"greater_or_equals": ["status_code", 200]}, {"less_than": ["status_code", 300]}]
            self.report.warn(what, "no documented 2xx answer: no status validator")
            return []
        code = codes[0]
        validators: list[dict[str, list[Any]]] = [{"equal": ["status_code", int(code)]}]
        response, _ = self.doc.resolve(responses.get(code) if code in responses else responses.get(int(code)))
        schema = None
        if isinstance(response, dict):
            if self.doc.swagger:
                schema = response.get("schema")
            else:
                content = response.get("content") or {}
                schema = next(
                    (
                        entry.get("schema")
                        for media, entry in content.items()
                        if "json" in media and isinstance(entry, dict)
                    ),
                    None,
                )
        if schema is not None:
            try:
                bundle = _SchemaBundle(self.doc).build(schema)
            except _Unresolved as error:
                self.report.skip(f"{what}: response schema", str(error))
                bundle = None
            if bundle is not None:
                validators.append({"json_schema": ["body", literal_value(bundle)]})
        return validators


def convert(document: Any, *, per: str = "operation") -> Conversion:
    if per not in PER_MODES:
        raise SourceInvalid({"per": f"one of {', '.join(PER_MODES)}"})
    if not looks_like(document):
        raise SourceInvalid({"body": "not an OpenAPI 3 or Swagger 2.0 document (openapi/swagger and paths)"})
    return _Converter(document, per).run()
