"""The web console, served by the API itself under /ui/ (same origin: no CORS, one deploy).

`make` builds console/ (TypeScript, Vite) into chalicelib/console/static/: index.html and
content-hashed assets/. Chalice has no greedy path parameters locally (aws/chalice#2012),
so deep links (/ui/projects/abc/modules) are a few explicit routes that all answer the
same index.html; the page's router reads the path. Files are read on first use, never at
import: the API's cold start does not pay for the console.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.console import assets
from chalicelib.core.errors import NotFound
from chalicelib.core.http import error_response, html_headers
from chalicelib.core.openapi import answers, outside_api

console_routes = Blueprint(__name__)
PAGE = "a console page (the same index.html for every path; the page routes itself)"


def request_base(called_path: str, route: str) -> str:
    """What precedes the route in the caller's URL: "" locally, "/api" behind API Gateway's
    stage ("/api/ui/projects" matched "/ui/{first}"): a route template has as many
    segments as the path it matched."""
    called = [part for part in called_path.split("/") if part]
    matched = [part for part in route.split("/") if part]
    return "".join(f"/{part}" for part in called[: max(len(called) - len(matched), 0)])


def _request_base() -> str:
    request = console_routes.current_request
    return request_base(request.context.get("path", "") or "", request.path)


def _page() -> Response:
    page = assets.index_html(_request_base())
    if page is None:
        return Response(body="the console is not built: run make dev (or npm run build in console/)",
                        status_code=503, headers={"Content-Type": "text/plain; charset=utf-8"})
    return Response(body=page, status_code=200, headers=html_headers(assets.CONTENT_SECURITY_POLICY))


@console_routes.route("/", methods=["GET"])
@answers(302, description="a redirect to the console, /ui/")
@outside_api
def root() -> Response:
    """The console lives under /ui/."""
    return Response(body="", status_code=302, headers={"Location": _request_base() + "/ui/"})


@console_routes.route("/ui", methods=["GET"])
@answers(200, media_type="text/html", description=PAGE)
def console_home() -> Response:
    """The console's page (dashboard, or sign-in when signed out)."""
    return _page()


@console_routes.route("/ui/{first}", methods=["GET"])
@answers(200, media_type="text/html", description=PAGE)
def console_page(first: str) -> Response:
    """A console page one level deep, e.g. /ui/projects."""
    return _page()


@console_routes.route("/ui/{first}/{second}", methods=["GET"])
@answers(200, media_type="text/html", description=PAGE)
def console_page_2(first: str, second: str) -> Response:
    """A console page two levels deep, e.g. /ui/projects/{id}."""
    return _page()


@console_routes.route("/ui/{first}/{second}/{third}", methods=["GET"])
@answers(200, media_type="text/html", description=PAGE)
def console_page_3(first: str, second: str, third: str) -> Response:
    """A console page three levels deep, e.g. /ui/projects/{id}/settings."""
    return _page()


@console_routes.route("/ui/{first}/{second}/{third}/{fourth}", methods=["GET"])
@answers(200, media_type="text/html", description=PAGE)
def console_page_4(first: str, second: str, third: str, fourth: str) -> Response:
    """A console page four levels deep."""
    return _page()


@console_routes.route("/ui/assets/{name}", methods=["GET"])
@answers(200, media_type="application/javascript", description="a built, content-hashed asset (immutable)")
@outside_api
def console_asset(name: str) -> Response:
    """A built asset: JavaScript, CSS or an icon, cached for a year (its name changes with it)."""
    found = assets.asset(name)
    if found is None:
        return error_response(NotFound("no such console file", code="asset_not_found"))
    body, content_type = found
    return Response(body=body, status_code=200, headers={
        "Content-Type": content_type, "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff"})
