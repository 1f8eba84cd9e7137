"""The OpenAPI document is generated from the route table: no route can be missing."""
import inspect
import json

from chalice import Chalice
from pydantic import BaseModel, Field

from chalicelib.core.openapi import OUTSIDE_ATTRIBUTE, build_openapi
from chalicelib.core.pagination import page, page_params
from chalicelib.core.validation import parse_body


class WidgetIn(BaseModel):
    name: str = Field(min_length=1, max_length=20)


def test_every_route_of_the_app_is_in_the_document(client, app):
    spec = json.loads(client.http.get("/openapi.json").body)
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routed = {(path, method) for path, methods in app.routes.items() for method in methods}
    # Only what a view marks @outside_api is left out: the console's redirect and its files.
    outside = {(path, method) for path, methods in app.routes.items() for method, entry in methods.items()
               if getattr(inspect.unwrap(entry.view_function), OUTSIDE_ATTRIBUTE, False)}
    assert outside == {("/", "GET"), ("/ui/assets/{name}", "GET")}
    assert routed - outside == documented


def test_bodies_imported_inside_views_are_documented(client):
    spec = json.loads(client.http.get("/openapi.json").body)
    register = spec["paths"]["/auth/register"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/RegisterBody"
    assert "password" in spec["components"]["schemas"]["RegisterBody"]["properties"]


def test_docs_page_lists_the_routes(client):
    response = client.http.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"/health" in response.body


def test_bodies_pagination_path_params_and_security_come_from_the_views():
    probe = Chalice(app_name="probe")

    @probe.route("/things/{thing_id}/widgets", methods=["POST"])
    def create_widget(thing_id):
        """Create a widget."""
        return parse_body(probe.current_request, WidgetIn).model_dump()

    @probe.route("/things/{thing_id}/widgets", methods=["GET"])
    def list_widgets(thing_id):
        limit, start = page_params(probe.current_request.query_params)
        return page([], None)

    @probe.route("/health")
    def health():
        return {}

    spec = build_openapi(probe, "1.0")
    post = spec["paths"]["/things/{thing_id}/widgets"]["post"]
    assert post["summary"] == "Create a widget."
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/WidgetIn"
    assert spec["components"]["schemas"]["WidgetIn"]["properties"]["name"]["maxLength"] == 20
    assert [p["name"] for p in post["parameters"]] == ["thing_id"]
    listing = spec["paths"]["/things/{thing_id}/widgets"]["get"]
    assert [p["name"] for p in listing["parameters"]] == ["thing_id", "limit", "cursor"]
    assert "requestBody" not in listing
    assert spec["paths"]["/health"]["get"]["security"] == []
    assert "security" not in post  # the document-wide bearer requirement applies
