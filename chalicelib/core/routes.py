"""Routes every stage serves whatever the features: health and the API's own description."""
from base64 import b64encode
from hashlib import sha256
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.core.http import html_headers
from chalicelib.core.openapi import DOCS_STYLE, answers
from chalicelib.core.settings import get_settings

core_routes = Blueprint(__name__)
# The docs page: no script at all, and only its own stylesheet, allowed by its hash.
DOCS_STYLE_HASH = b64encode(sha256(DOCS_STYLE.encode()).digest()).decode()
DOCS_CSP = (f"default-src 'none'; style-src 'sha256-{DOCS_STYLE_HASH}'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@core_routes.route("/health", methods=["GET"])
@answers(200, "chalicelib.core.answers:Health")
def health() -> dict[str, str]:
    """Liveness: the stage and version this deployment runs."""
    settings = get_settings()
    return {"status": "ok", "stage": settings.stage, "version": settings.version}


@core_routes.route("/openapi.json", methods=["GET"])
@answers(200, "chalicelib.core.answers:OpenAPIDocument")
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API, generated from its routes."""
    from chalicelib.core.openapi import cached_openapi

    return cached_openapi(core_routes.current_app, get_settings().version)


@core_routes.route("/docs", methods=["GET"])
@answers(200, media_type="text/html", description="A readable HTML page of every route")
def docs() -> Response:
    """A readable page of every route."""
    from chalicelib.core.openapi import cached_openapi, docs_html

    spec = cached_openapi(core_routes.current_app, get_settings().version)
    headers: dict[str, str | list[str]] = {**html_headers(DOCS_CSP)}
    return Response(body=docs_html(spec), headers=headers)
