"""Routes every stage serves whatever the features: health and the API's own description."""
from chalice import Blueprint, Response

from chalicelib.core.openapi import answers
from chalicelib.core.settings import get_settings

core_routes = Blueprint(__name__)


@core_routes.route("/health", methods=["GET"])
@answers(200, "chalicelib.core.answers:Health")
def health() -> dict:
    """Liveness: the stage and version this deployment runs."""
    settings = get_settings()
    return {"status": "ok", "stage": settings.stage, "version": settings.version}


@core_routes.route("/openapi.json", methods=["GET"])
@answers(200, "chalicelib.core.answers:OpenAPIDocument")
def openapi() -> dict:
    """The OpenAPI 3.1 document of this API, generated from its routes."""
    from chalicelib.core.openapi import cached_openapi

    return cached_openapi(core_routes.current_app, get_settings().version)


@core_routes.route("/docs", methods=["GET"])
@answers(200, media_type="text/html", description="A readable HTML page of every route")
def docs() -> Response:
    """A readable page of every route."""
    from chalicelib.core.openapi import cached_openapi, docs_html

    spec = cached_openapi(core_routes.current_app, get_settings().version)
    return Response(body=docs_html(spec), headers={"Content-Type": "text/html; charset=utf-8"})
