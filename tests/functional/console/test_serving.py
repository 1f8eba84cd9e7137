"""The console served by the API: redirects, deep links, caching and security headers."""
import json
import re

import pytest

from chalicelib.console import assets


@pytest.fixture(scope="module")
def built():
    if assets._index_template() is None:
        pytest.fail("the console is not built: make console (npm ci && npm run build in console/)")
    return assets.ASSETS_DIR


def test_root_redirects_to_the_console(client):
    response = client.http.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/ui/"


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/signin", "/ui/projects/p1", "/ui/projects/p1/settings",
                                  "/ui/modules/m1/new", "/ui/a/b/c/d", "/ui/no-such-page"])
def test_every_console_path_answers_the_page_with_strict_headers(client, built, path):
    response = client.http.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-cache"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    page = response.body.decode()
    assert '<base href="/ui/">' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "no inline script"


def test_the_docs_page_has_a_csp_without_scripts(client):
    response = client.http.get("/docs")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_built_assets_are_hashed_and_immutable(client, built):
    page = client.http.get("/ui/").body.decode()
    names = re.findall(r'(?:src|href)="\./assets/([^"]+)"', page)
    assert any(name.endswith(".js") for name in names) and any(name.endswith(".css") for name in names)
    for name in names:
        assert re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", name), name
        response = client.http.get(f"/ui/assets/{name}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Type"].split(";")[0] in ("application/javascript", "text/css")


@pytest.mark.parametrize("name", ["missing.js", "..%2F..%2Fapp.py", ".built", "index.html", "x.py"])
def test_unknown_assets_are_404(client, built, name):
    response = client.http.get(f"/ui/assets/{name}")
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "asset_not_found"


def test_the_redirect_and_the_files_stay_out_of_the_api_document(client):
    paths = json.loads(client.http.get("/openapi.json").body)["paths"]
    assert "/" not in paths and "/ui/assets/{name}" not in paths
    assert "text/html" in paths["/ui/{first}"]["get"]["responses"]["200"]["content"]


def test_the_page_needs_no_session_but_the_api_still_does(client, built):
    assert client.http.get("/ui/projects").status_code == 200
    assert client.http.get("/projects").status_code == 401


def test_the_base_follows_the_stage_path_behind_api_gateway():
    assert assets.index_html("/api").count('<base href="/api/ui/">') == 1
