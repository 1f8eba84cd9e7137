"""One entry point for every format: detection, options, and the bounded parse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.importers.common import Conversion, SourceInvalid

FORMATS = ("postman", "har", "openapi", "curl")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# option -> (the formats it applies to, what it takes)
OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "folders": (("postman",), "testcases or modules"),
    "environment": (("postman",), "the project environment to put the environment file's values in"),
    "per": (("openapi",), "operation or tag"),
    "hosts": (("har",), "host names, comma-separated"),
    "include_static": (("har",), "1 or 0"),
    "body_validators": (("har",), "1 or 0"),
    "shell": (("curl",), "bash or cmd"),
}


def detect_format(text: str, document: Any = None) -> str | None:
    """The format of a source, from its content; None when it is none of them."""
    from chalicelib.importers import curl, har, openapi, postman

    if curl.looks_like(text):
        return "curl"
    if document is None:
        return None
    for name, module in (("postman", postman), ("har", har), ("openapi", openapi)):
        if module.looks_like(document):
            return name
    return None


def _flag(options: Mapping[str, str], name: str) -> bool:
    value = str(options.get(name, "")).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SourceInvalid({name: "1 or 0"})


def convert_text(
    text: str,
    format: str | None = None,  # noqa: A002 - the API's own word
    options: Mapping[str, str] | None = None,
) -> Conversion:
    """Convert a source; SourceInvalid (naming the field) when it cannot be."""
    from chalicelib.importers import curl, har, openapi, postman
    from chalicelib.importers.loading import load_structured

    options = dict(options or {})
    if format is not None and format not in FORMATS:
        raise SourceInvalid({"format": f"one of {', '.join(FORMATS)}"})
    if not text.strip():
        raise SourceInvalid({"body": "the source is empty"})
    document = None
    if format != "curl" and not (format is None and curl.looks_like(text)):
        document = load_structured(text)
    format = format or detect_format(text, document)
    if format is None:
        raise SourceInvalid({"format": "could not tell the format: give ?format=postman|har|openapi|curl"})
    for name in options:
        if name not in OPTIONS:
            raise SourceInvalid({name: f"unknown option (options: {', '.join(OPTIONS)})"})
        if format not in OPTIONS[name][0]:
            raise SourceInvalid({name: f"applies to {', '.join(OPTIONS[name][0])} sources, not {format}"})
    if format == "postman":
        return postman.convert(document, folders=options.get("folders") or "testcases",
                               environment_to=options.get("environment") or None)
    if format == "har":
        hosts = [h.strip().lower() for h in str(options.get("hosts") or "").split(",") if h.strip()]
        return har.convert(
            document,
            hosts=hosts or None,
            include_static=_flag(options, "include_static"),
            body_validators=_flag(options, "body_validators"),
        )
    if format == "openapi":
        return openapi.convert(document, per=options.get("per") or "operation")
    return curl.convert(text, shell=options.get("shell") or None)
