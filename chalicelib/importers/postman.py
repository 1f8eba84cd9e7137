"""Postman collections v2.0 and v2.1 to HttpRunner v3 testcases.

- Folders: `folders="testcases"`: each top-level folder is one testcase whose steps are its
  requests in order, deeper folders naming the steps ("Admin / Get order"); requests
  outside any folder make a testcase named after the collection. `folders="modules"`: each
  folder (nested ones flattened, their path in the name: "Orders / Admin") is a group (a
  module on a project import), each request a testcase of one step. `folders="collection"`:
  the whole collection is one testcase, as a Newman run is: a value one request's script
  sets is there for every later request (hat does not carry values between testcases, and
  the report says where another mode would lose one).
- Variables: the collection's, then each folder's, then an environment file's (Postman's
  precedence) become the testcase's config variables; `{{name}}` becomes `${name}`. With
  `environment_to` (a project environment's name), the environment file's values go there
  instead, its `secret`-typed ones as that environment's secrets; without it, a secret value
  is never written into a testcase (the report says where to put it).
- Auth (bearer, basic, API key; inherited from folder and collection, `noauth` stops it)
  becomes headers or query parameters; other auth types are reported.
- Bodies: raw JSON (a `json` body) or text, urlencoded and form-data text fields (a form;
  hat sends forms urlencoded, which the report says), GraphQL. Form-data with file fields
  becomes a multipart `upload`, each file read from `files/<its name>` in the project's
  files (common.ProjectFiles; the report names each path to upload). A `file` body (the
  whole body one file) is reported: the runner sends files only as multipart parts.
- Test scripts (the collection's, the folders', the request's, in that order): the shapes
  scripts.py reads become validators and extracts; every other line is reported.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.importers.common import (
    MALFORMED,
    Conversion,
    ProjectFiles,
    SourceInvalid,
    Templater,
    as_dict,
    as_list,
    clean_name,
    finish,
    testcase_document,
    upload_text,
)
from chalicelib.importers.scripts import translate

FOLDER_MODES = ("testcases", "modules", "collection")
MAX_FOLDER_DEPTH = 20
_SCHEMA_MARK = "schema.getpostman.com/json/collection/v2"
HOP_HEADERS = {"content-length", "host", "connection", "transfer-encoding"}


def looks_like(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    if isinstance(document.get("collection"), dict):
        document = document["collection"]
    info = document.get("info")
    return isinstance(info, dict) and (
        _SCHEMA_MARK in str(info.get("schema", "")) or ("item" in document and "name" in info)
    )


def _secret_keys(items: Any) -> set[str]:
    """The keys of an environment file's values typed `secret` (Postman's masked values)."""
    if not isinstance(items, list):
        return set()
    return {item["key"] for item in items
            if isinstance(item, dict) and item.get("type") == "secret" and isinstance(item.get("key"), str)}


def _pairs(items: Any) -> list[tuple[str, Any]]:
    """[{key, value, disabled?}] (Postman's list of key/values) as (key, value) pairs."""
    out = []
    if isinstance(items, list):
        for item in items:
            if (
                isinstance(item, dict)
                and not item.get("disabled")
                and item.get("enabled", True) is not False
                and isinstance(item.get("key"), str)
                and item["key"]
            ):
                out.append((item["key"], item.get("value", "")))
    elif isinstance(items, dict):  # v2.0 also allowed a plain mapping
        out = [(str(k), v) for k, v in items.items()]
    return out


def _auth_params(auth: dict[str, Any], kind: str) -> dict[str, Any]:
    """v2.1 carries [{key, value}], v2.0 a mapping."""
    raw = auth.get(kind)
    if isinstance(raw, dict):
        return raw
    return dict(_pairs(raw)) if isinstance(raw, list) else {}


class _Converter:
    def __init__(self, collection: dict[str, Any], environment: dict[str, Any] | None, folders: str,
                 environment_to: str | None) -> None:
        self.collection = collection
        self.folders = folders
        self.environment_to = environment_to
        self.secret_keys = _secret_keys(as_dict(environment).get("values"))
        self.name = clean_name(as_dict(collection.get("info")).get("name"), "collection")
        self.conversion = Conversion("postman", title=self.name)
        self.report = self.conversion.report
        self.templater = Templater(self.report)
        self.files = ProjectFiles(self.report)
        self.environment = dict(_pairs(as_dict(environment).get("values")))

    # --- what is inherited down the folders ---

    def _variables(self, node: dict[str, Any], what: str) -> dict[str, Any]:
        values = {}
        for key, value in _pairs(node.get("variable")):
            values[self.templater.name(key)] = self.templater.value(value, what)
        return values

    def _tests(self, node: dict[str, Any]) -> tuple[str, str]:
        test, prerequest = "", ""
        for event in as_list(node.get("event")):
            if not isinstance(event, dict) or event.get("disabled"):
                continue
            script = event.get("script") or {}
            lines = script.get("exec") if isinstance(script, dict) else None
            text = "\n".join(str(line) for line in lines) if isinstance(lines, list) else str(lines or "")
            if event.get("listen") == "test":
                test += "\n" + text
            elif event.get("listen") == "prerequest":
                prerequest += "\n" + text
        return test, prerequest

    def run(self) -> Conversion:
        self.root_vars = self._variables(self.collection, "collection variables")
        self._environment()
        test, prerequest = self._tests(self.collection)
        requests: list[tuple[list[str], dict[str, Any], dict[str, Any]]] = []
        self._folder(self.collection, [], {}, self.collection.get("auth"), test, prerequest, 0, requests)
        self._group(requests)
        self._check_variables()
        return finish(self.conversion)

    def _environment(self) -> None:
        """The environment file's values: into the project environment `environment_to` (as
        `conversion.environment`), or into every testcase's config variables, secrets left out."""
        plain: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        for key, value in self.environment.items():
            name = self.templater.name(key)
            if key in self.secret_keys:
                secrets[name] = value if isinstance(value, str) else str(value)
            else:
                plain[name] = self.templater.value(value, "environment")
        self.env_names = set(plain) | set(secrets)
        self.env_vars: dict[str, Any] = {}
        if self.environment_to:
            # The run's environment has the lowest precedence: a collection variable of the same
            # name would hide the environment's value, which Postman lets win.
            for name in sorted(self.env_names & set(self.root_vars)):
                del self.root_vars[name]
                self.report.warn(f"collection variable {name!r}",
                                 "left out: the environment file's value wins, from project environment "
                                 f"{self.environment_to!r}")
            if plain or secrets:
                self.conversion.environment = {"name": self.environment_to, "variables": plain,
                                               "secrets": secrets}
                self.report.done("the environment's variables",
                                 f"project environment {self.environment_to!r}: {len(plain)} variables, "
                                 f"{len(secrets)} secrets")
            return
        self.env_vars = plain
        if plain:
            self.report.done("the environment's variables", "config variables of every testcase")
        for name in secrets:
            self.report.skip(f"secret {name!r}", "a secret value is not written into testcases: import with "
                             "environment=<name> to keep it as a secret of that project environment, or set "
                             "it there")

    def _group(self, requests: list[tuple[list[str], dict[str, Any], dict[str, Any]]]) -> None:
        """Steps into testcases by the `folders` mode; folder variables ride on their steps."""
        config_vars = {**self.root_vars, **self.env_vars}
        if self.folders == "modules":
            for path, step, folder_vars in requests:
                group = " / ".join(path) if path else self.name
                self.conversion.add(
                    step["name"],
                    testcase_document(step["name"], [step], variables={**config_vars, **folder_vars}),
                    group,
                )
            return
        testcases: dict[str, list[dict[str, Any]]] = {}
        for path, step, folder_vars in requests:
            if self.folders == "collection":
                title, inner = self.name, path
            else:  # a top-level folder is a testcase; deeper folders name its steps
                title, inner = (path[0], path[1:]) if path else (self.name, [])
            if inner:
                step["name"] = clean_name(" / ".join([*inner, step["name"]]))
            if folder_vars:
                step["variables"] = folder_vars
            testcases.setdefault(title, []).append(step)
        for title, steps in testcases.items():
            self.conversion.add(title, testcase_document(title, steps, variables=dict(config_vars)))

    def _check_variables(self) -> None:
        """Name what a run could not resolve: variables defined nowhere, and (outside the
        collection mode) values one testcase's script sets for another, which hat does not
        carry across testcases. A value a script sets before it is first used in the same
        testcase is declared empty, as Postman would send it unresolved."""
        extracted_in: dict[str, str] = {}
        for item in self.conversion.testcases:
            for step in item.document["teststeps"]:
                for name in step.get("extract") or {}:
                    extracted_in.setdefault(name, item.name)
        defined = set(self.root_vars) | self.env_names
        warned: set[tuple[str, str]] = set()
        for item in self.conversion.testcases:
            config = item.document["config"]
            own = set(config.get("variables") or {})
            set_here: set[str] = set()
            for step in item.document["teststeps"]:
                own |= set(step.get("variables") or {})
                for name in _references(step.get("request")):
                    if name in own or name in set_here or (name, item.name) in warned:
                        continue
                    if name in extracted_in and extracted_in[name] == item.name:
                        config.setdefault("variables", {})[name] = ""
                    elif name in extracted_in:
                        self.report.warn(
                            f"variable {self.templater.used.get(name, name)!r} in {item.name!r}",
                            f"set by a script in {extracted_in[name]!r}; hat does not carry values "
                            "between testcases (import with folders=collection to keep them)",
                        )
                    elif name not in defined:
                        self.report.warn(
                            f"variable {self.templater.used.get(name, name)!r}",
                            "used but defined nowhere in the collection; give it a value in the "
                            "project environment",
                        )
                        defined.add(name)
                    warned.add((name, item.name))
                set_here |= set(step.get("extract") or {})

    def _folder(
        self,
        node: dict[str, Any],
        path: list[str],
        folder_vars: dict[str, Any],
        auth: Any,
        test: str,
        prerequest: str,
        depth: int,
        out: list[tuple[list[str], dict[str, Any], dict[str, Any]]],
    ) -> None:
        """Every request under `node`, in the collection's order, with its folder path."""
        if depth > MAX_FOLDER_DEPTH:
            self.report.skip(f"folder {' / '.join(path)!r}", f"nested more than {MAX_FOLDER_DEPTH} deep")
            return
        items = node.get("item") or []
        if not isinstance(items, list):
            raise SourceInvalid({"item": "a list of requests and folders"})
        for item in items:
            if not isinstance(item, dict):
                continue
            name = clean_name(item.get("name"), "request")
            if isinstance(item.get("item"), list):
                own_test, own_pre = self._tests(item)
                self._folder(
                    item,
                    [*path, name],
                    {**folder_vars, **self._variables(item, f"folder {name!r}")},
                    item.get("auth") or auth,
                    test + own_test,
                    prerequest + own_pre,
                    depth + 1,
                    out,
                )
            elif "request" in item:
                try:
                    step = self._step(item, name, auth, test, prerequest, path)
                except MALFORMED as error:
                    self.report.skip(f"request {' / '.join([*path, name])!r}", f"malformed: {error}")
                    continue
                if step is not None:
                    out.append((path, step, folder_vars))
            else:
                self.report.skip(f"item {name!r}", "neither a request nor a folder")

    # --- one request ---

    def _step(
        self, item: dict[str, Any], name: str, auth: Any, test: str, prerequest: str, path: list[str]
    ) -> dict[str, Any] | None:
        what = f"request {' / '.join([*path, name])!r}"
        request = item["request"]
        if isinstance(request, str):
            request = {"url": request, "method": "GET"}
        if not isinstance(request, dict):
            self.report.skip(what, "the request is not an object")
            return None
        method = str(request.get("method") or "GET").upper()
        if method not in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"):
            self.report.skip(what, f"method {method} is not one hat sends")
            return None
        url, params = self._url(request.get("url"), what)
        if not url:
            self.report.skip(what, "the request has no URL")
            return None
        headers: dict[str, Any] = {}
        for key, value in _pairs(request.get("header")):
            if key.lower() in HOP_HEADERS:
                continue
            headers[self.templater.text(key, what)] = self.templater.text(str(value), what)
        out: dict[str, Any] = {"method": method, "url": url}
        self._auth(request.get("auth") or auth, headers, params, what)
        if params:
            out["params"] = params
        if headers:
            out["headers"] = headers
        self._body(request.get("body"), out, headers, what)
        step: dict[str, Any] = {"name": name, "request": out}
        own_test, own_pre = self._tests(item)
        if (prerequest + own_pre).strip():
            self.report.skip(f"{what}: pre-request script", "pre-request scripts are not converted")
        translated = translate(test + own_test)
        if translated.validators:
            step["validate"] = translated.validators
        if translated.extract:
            step["extract"] = translated.extract
        for line in translated.not_converted:
            self.report.skip(f"{what}: script line {line!r}", "not one of the script shapes hat converts")
        if item.get("response"):
            self.report.skip(
                f"{what}: {len(item['response'])} saved example response(s)",
                "examples are documentation, not checks",
            )
        self.report.done(
            what,
            f"step {name!r}"
            + (f" with {len(translated.validators)} validator(s)" if translated.validators else ""),
        )
        return step

    def _url(self, url: Any, what: str) -> tuple[str, dict[str, Any]]:
        if isinstance(url, str):
            raw, query, variables = url, None, {}
        elif isinstance(url, dict):
            raw = url.get("raw")
            if not isinstance(raw, str) or not raw:
                raw = self._raw_from_parts(url)
            query = url.get("query") if isinstance(url.get("query"), list) else None
            variables = dict(_pairs(url.get("variable")))
        else:
            return "", {}
        raw = raw.strip().split("#", 1)[0]
        base, _, query_text = raw.partition("?")
        if query is None:
            pairs = parse_qsl(query_text, keep_blank_values=True)
        else:
            pairs = [(k, "" if v is None else v) for k, v in _pairs(query)]
        params = {}
        for key, value in pairs:
            params[self.templater.text(key, what)] = self.templater.text(str(value), what)
        if "://" not in base and not base.startswith("{{"):
            base = "http://" + base  # Postman's default scheme
        # :name path variables, segment by segment
        parts = base.split("/")
        for index, part in enumerate(
            parts[3:] if "://" in base else parts[1:], start=3 if "://" in base else 1
        ):
            if part.startswith(":") and len(part) > 1:
                key = part[1:]
                if key in variables and variables[key] not in (None, ""):
                    parts[index] = str(variables[key])
                else:
                    parts[index] = "{{" + key + "}}"
                    self.report.warn(what, f"path variable :{key} has no value; it reads ${key}")
        return self.templater.text("/".join(parts), what), params

    def _raw_from_parts(self, url: dict[str, Any]) -> str:
        host = url.get("host")
        host = ".".join(map(str, host)) if isinstance(host, list) else str(host or "")
        path = url.get("path")
        path = (
            "/".join(str(p.get("value", "") if isinstance(p, dict) else p) for p in path)
            if isinstance(path, list)
            else str(path or "")
        )
        protocol = url.get("protocol")
        port = f":{url['port']}" if url.get("port") else ""
        prefix = f"{protocol}://" if protocol else ""
        return f"{prefix}{host}{port}/{path.lstrip('/')}" if host else path

    def _auth(self, auth: Any, headers: dict[str, Any], params: dict[str, Any], what: str) -> None:
        if not isinstance(auth, dict):
            return
        kind = auth.get("type")
        if kind in (None, "noauth", "inherit"):
            return
        values = {k: self.templater.text(str(v), what) for k, v in _auth_params(auth, kind).items()}
        if kind == "bearer":
            headers.setdefault("Authorization", f"Bearer {values.get('token', '')}")
        elif kind == "basic":
            user, password = values.get("username", ""), values.get("password", "")
            if "${" in user + password:
                # a call's arguments hold $name references, not ${name}
                pair = f"{user}:{password}".replace("${", "$").replace("}", "")
                headers.setdefault("Authorization", f"Basic ${{base64({pair})}}")
            else:
                pair = f"{user}:{password}".replace("$$", "$")
                headers.setdefault("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        elif kind == "apikey":
            key, value = values.get("key", ""), values.get("value", "")
            if not key:
                self.report.skip(f"{what}: API key auth", "no key name")
                return
            target = params if values.get("in") == "query" else headers
            target.setdefault(key, value)
        else:
            self.report.skip(f"{what}: {kind} auth", "only bearer, basic and API key auth are converted")
            return
        self.report.done(
            f"{what}: {kind} auth",
            "a header" if kind != "apikey" or values.get("in") != "query" else "a query parameter",
        )

    def _body(self, body: Any, out: dict[str, Any], headers: dict[str, Any], what: str) -> None:
        if not isinstance(body, dict) or body.get("disabled"):
            return
        mode = body.get("mode")
        if mode == "raw":
            raw = body.get("raw")
            if not isinstance(raw, str) or not raw:
                return
            language = as_dict(as_dict(body.get("options")).get("raw")).get("language")
            content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
            if (
                language == "json"
                or "json" in content_type
                or (not content_type and raw.lstrip()[:1] in "{[")
            ):
                try:
                    from chalicelib.importers.loading import load_json

                    out["json"] = self.templater.value(load_json(raw), what)
                    return
                except SourceInvalid:
                    if language == "json" and not content_type:
                        headers["Content-Type"] = "application/json"
            out["data"] = self.templater.text(raw, what)
        elif mode == "urlencoded":
            out["data"] = {
                self.templater.text(k, what): self.templater.text(str(v), what)
                for k, v in _pairs(body.get("urlencoded"))
            }
        elif mode == "formdata":
            self._formdata(as_list(body.get("formdata")), out, what)
            for key in [k for k in headers if k.lower() == "content-type"]:
                del headers[key]  # the form's own type (the runner sets a multipart boundary)
            if not headers:
                out.pop("headers", None)
        elif mode == "graphql":
            graphql = body.get("graphql") or {}
            document: dict[str, Any] = {"query": self.templater.text(str(graphql.get("query", "")), what)}
            variables = graphql.get("variables")
            if isinstance(variables, str) and variables.strip():
                try:
                    from chalicelib.importers.loading import load_json

                    document["variables"] = self.templater.value(load_json(variables), what)
                except SourceInvalid:
                    self.report.warn(what, "GraphQL variables are not JSON; left out")
            out["json"] = document
        elif mode == "file":
            self.report.skip(
                f"{what}: file body",
                "hat sends a file only as a part of a multipart form (upload), not as the whole "
                "body: make it a form-data file field, or paste the file's text as a raw body",
            )
        elif mode:
            self.report.skip(f"{what}: {mode} body", "not a body mode hat converts")


    def _formdata(self, fields: list[Any], out: dict[str, Any], what: str) -> None:
        """Text fields alone: a form, sent urlencoded. With file fields: the runner's multipart
        `upload` in the collection's order, each file read from the project path
        `ProjectFiles` gives it (warned)."""
        parts: list[tuple[str, str, bool]] = []  # (field, text or project path, is a file)
        for field in fields:
            if not isinstance(field, dict) or field.get("disabled") or not field.get("key"):
                continue
            key = self.templater.text(str(field["key"]), what)
            if field.get("type") != "file":
                parts.append((key, self.templater.text(str(field.get("value", "")), what), False))
                continue
            field_what = f"{what}: file field {field['key']!r}"
            src = field.get("src")
            sources = [s for s in (src if isinstance(src, list) else [src]) if isinstance(s, str) and s]
            if not sources:
                self.report.skip(field_what, "no file chosen in the collection (no src)")
                continue
            if len(sources) > 1:
                self.report.skip(
                    f"{field_what}: {len(sources) - 1} more file(s)",
                    "hat's upload sends one file per field; the first is sent",
                )
            parts.append((key, self.files.path(sources[0], field_what), True))
            if field.get("contentType"):
                self.report.warn(
                    field_what,
                    f"its type {field['contentType']!r} is not kept: hat guesses it from the file name",
                )
        files = sum(1 for _, _, is_file in parts if is_file)
        if files:
            out["upload"] = {
                key: value
                for key, value, is_file in parts
                if is_file or upload_text(value, f"{what}: text field {key!r}", self.report)
            }
            self.report.done(f"{what}: form-data", f"a multipart upload of {files} file(s)")
        elif parts:
            out["data"] = {key: value for key, value, _ in parts}
            self.report.warn(
                what,
                "form-data text fields are sent urlencoded, not multipart (hat's multipart upload "
                "is kept for forms with files: it reads any value holding a / as a file path)",
            )


def convert(
    document: Any, *, environment: dict[str, Any] | None = None, folders: str = "testcases",
    environment_to: str | None = None,
) -> Conversion:
    """A parsed collection (or {"collection", "environment"}) to testcases; see the module doc."""
    if folders not in FOLDER_MODES:
        raise SourceInvalid({"folders": f"one of {', '.join(FOLDER_MODES)}"})
    if isinstance(document, dict) and isinstance(document.get("collection"), dict):
        environment = environment or document.get("environment")
        document = document["collection"]
    if not looks_like(document):
        raise SourceInvalid({"body": "not a Postman collection (v2.0 or v2.1: info and item)"})
    if environment is not None and not isinstance(environment, dict):
        raise SourceInvalid({"environment": "a Postman environment file (name and values)"})
    if environment_to is not None and environment is None:
        raise SourceInvalid({"environment": "send a Postman environment file with the collection: "
                                            '{"collection": {...}, "environment": {...}}'})
    return _Converter(document, environment, folders, environment_to).run()


__all__ = ["FOLDER_MODES", "convert", "looks_like"]


def _references(value: Any) -> list[str]:
    """The ${name} references in a request, in order (a linear scan of its JSON)."""
    import json

    text = json.dumps(value)
    names, position = [], 0
    while (start := text.find("${", position)) >= 0:
        end = text.find("}", start)
        if end < 0:
            break
        inner = text[start + 2 : end]
        doubled = start > 0 and text[start - 1] == "$" and (start < 2 or text[start - 2] != "$")
        if inner.isidentifier() and not doubled:
            names.append(inner)
        position = end + 1
    return names
