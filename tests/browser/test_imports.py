"""The import page (docs/console.md, docs/imports.md): a pasted cURL command and a Postman
collection (pasted, and chosen as a file) previewed with their report, then imported into a
module whose page lists them; a project import making modules; the API's refusals shown
(a source of no known format, a body over the limit, a re-sync of a module with no URL)."""
from __future__ import annotations

import json
import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import api_call, make_account, sign_in_page

CURL = (
    "curl -X POST https://shop.example/orders -H 'Content-Type: application/json' "
    "-d '{\"sku\": \"SKU-1\", \"quantity\": 2}' --proxy http://proxy.example:3128\n"
    "curl -F note=hello -F 'receipt=@/home/ann/receipt.pdf' https://shop.example/receipts"
)


def _collection(*folders: str) -> dict:
    def request(name: str) -> dict:
        return {"name": name, "request": {"method": "GET", "url": f"{{{{baseUrl}}}}/{name.lower()}"},
                "event": [{"listen": "test", "script": {"exec": [
                    "pm.response.to.have.status(200);", "postman.setNextRequest(null);"]}}]}

    return {"info": {"name": "Shop", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "variable": [{"key": "baseUrl", "value": "https://shop.example"}],
            "item": [{"name": folder, "item": [request(f"{folder}List"), request(f"{folder}Count")]}
                     for folder in folders]}


def _setup(stack):
    username = f"i{uuid.uuid4().hex[:10]}"
    headers = make_account(stack, username)
    project = api_call(stack, headers, "POST", "/projects", {"name": "shop"})
    module = api_call(stack, headers, "POST", f"/projects/{project['id']}/modules", {"name": "checkout"})
    return username, headers, project, module


def _preview(page) -> None:
    page.get_by_role("button", name="Preview", exact=True).click()


def test_paste_preview_and_import_into_a_module(console, stack, tmp_path):
    username, headers, project, module = _setup(stack)
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/modules/{module['id']}")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/ui/modules/{module['id']}/import$"))
    expect(page.get_by_role("heading", name="Import into checkout")).to_be_visible()
    source = page.get_by_label("Or paste the source", exact=True)

    # cURL: the preview lists the test case and the report (the file to upload, the option left out)
    source.fill(CURL)
    _preview(page)
    expect(page.get_by_role("heading", name="Preview: 1 test cases would be made (curl)")).to_be_visible()
    expect(page.get_by_test_id("import-preview").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("import-preview")).to_contain_text("2")  # two steps, one per command
    warnings = page.get_by_test_id("import-warnings")
    expect(warnings).to_contain_text("sent from the project file 'files/receipt.pdf'")
    expect(page.get_by_test_id("import-not-converted")).to_contain_text("--proxy")
    expect(page.get_by_test_id("import-not-converted")).to_contain_text("not an option hat converts")
    console.shot("import-curl-preview")
    assert api_call(stack, headers, "GET", f"/modules/{module['id']}/testcases")["items"] == []  # a dry run

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Imported 1 test cases")).to_be_visible()
    made = page.get_by_test_id("import-made").get_by_role("link")
    expect(made).to_have_count(1)
    curl_name = made.first.inner_text()

    # Postman, chosen as a file and named explicitly, its folders as they are (one test case each)
    collection = tmp_path / "shop.postman_collection.json"
    collection.write_text(json.dumps(_collection("Orders", "Users")))
    page.get_by_label("Choose a file", exact=True).set_input_files(str(collection))
    expect(source).to_have_value(re.compile(r'"name": "Shop"'))
    page.get_by_label("Format", exact=True).select_option("postman")
    page.get_by_label("Postman folders become", exact=True).select_option("collection")
    _preview(page)
    expect(page.get_by_role("heading", name="Preview: 1 test cases would be made (postman)")).to_be_visible()
    expect(page.get_by_test_id("import-not-converted")).to_contain_text("postman.setNextRequest(null)")
    page.get_by_label("Postman folders become", exact=True).select_option("")
    _preview(page)
    expect(page.get_by_role("heading", name="Preview: 2 test cases would be made (postman)")).to_be_visible()
    expect(page.get_by_test_id("import-preview")).to_contain_text("Orders")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Imported 2 test cases")).to_be_visible()
    console.shot("import-postman-done")
    page.get_by_test_id("import-made").get_by_role("link", name="Users").click()
    expect(page).to_have_url(re.compile(r"/ui/testcases/"))

    page.goto(f"/ui/modules/{module['id']}")
    listed = page.locator("ul.list li a")
    expect(listed).to_have_count(3)
    assert sorted(listed.all_inner_texts()) == sorted([curl_name, "Orders", "Users"])


def test_a_pasted_postman_collection_into_a_project_makes_modules(console, stack):
    username, headers, project, _module = _setup(stack)
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/projects/{project['id']}")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import modules into shop")).to_be_visible()
    pasted = json.dumps(_collection("Orders", "Users"), indent=2)
    page.get_by_label("Or paste the source", exact=True).fill(pasted)
    _preview(page)
    preview = page.get_by_test_id("import-preview")
    expect(preview.locator("tbody tr")).to_have_count(4)  # a request each, grouped by folder
    expect(preview.locator("thead")).to_contain_text("Module")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Imported 4 test cases")).to_be_visible()
    modules = page.get_by_test_id("import-modules").get_by_role("link")
    expect(modules).to_have_count(2)
    modules.filter(has_text="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.locator("ul.list li a")).to_have_count(2)
    modules_now = api_call(stack, headers, "GET", f"/projects/{project['id']}/modules")["items"]
    assert {m["name"] for m in modules_now} == {"checkout", "Orders", "Users"}


def test_a_postman_environment_file_goes_into_a_project_environment(console, stack, tmp_path):
    username, headers, project, module = _setup(stack)
    environment = {"name": "staging", "values": [
        {"key": "baseUrl", "value": "https://staging.shop.example", "type": "default"},
        {"key": "token", "value": "tok-123456", "type": "secret"}]}
    (tmp_path / "staging.postman_environment.json").write_text(json.dumps(environment))
    (tmp_path / "broken.json").write_text("{not json")
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/modules/{module['id']}/import")
    page.get_by_label("Or paste the source", exact=True).fill(json.dumps(_collection("Orders")))
    page.get_by_label("Environment file", exact=True).set_input_files(str(tmp_path / "broken.json"))
    _preview(page)
    expect(page.get_by_test_id("import-error")).to_contain_text("environment")  # named, nothing sent
    page.get_by_label("Environment file", exact=True).set_input_files(
        str(tmp_path / "staging.postman_environment.json"))
    page.get_by_label("Put its values in the project environment", exact=True).fill("staging")
    _preview(page)
    note = page.get_by_test_id("import-environment")
    expect(note).to_have_text("Project environment staging: variables baseUrl; secrets token")
    assert api_call(stack, headers, "GET", f"/projects/{project['id']}")["environments"] == {}  # a preview
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Imported 1 test cases")).to_be_visible()
    expect(note).to_have_text("Project environment staging: variables baseUrl; secrets token")
    expect(page.get_by_test_id("import-warnings")).to_contain_text("collection variable 'baseUrl'")
    console.shot("import-environment")
    assert "tok-123456" not in page.content()
    stored = api_call(stack, headers, "GET", f"/projects/{project['id']}")["environments"]
    assert stored == {"staging": {"base_url": "", "variables": {"baseUrl": "https://staging.shop.example"},
                                  "secrets": ["token"]}}


def test_refusals_are_shown_and_nothing_is_saved(console, stack):
    username, headers, _project, module = _setup(stack)
    page = console.page
    sign_in_page(page, username)
    page.goto(f"/ui/modules/{module['id']}/import")
    source = page.get_by_label("Or paste the source", exact=True)
    error = page.get_by_test_id("import-error")

    source.fill("just some words, not a source")
    _preview(page)
    expect(error).to_contain_text("could not tell the format")
    expect(error.locator("code")).to_have_text("format")
    console.shot("import-invalid")

    source.fill('{"info": {"title": "not a collection"}}')
    page.get_by_label("Format", exact=True).select_option("postman")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(error).to_contain_text("not a Postman collection")
    expect(page.get_by_role("heading", name=re.compile("^Imported"))).to_have_count(0)

    source.fill("curl https://shop.example/" + "a" * (1024 * 1024 + 10))
    page.get_by_label("Format", exact=True).select_option("curl")
    _preview(page)
    expect(error).to_contain_text("too large for one import")

    page.get_by_role("button", name="Re-sync", exact=True).click()
    resync = page.get_by_role("region", name="Re-sync from its OpenAPI URL")
    expect(resync.get_by_role("alert")).to_contain_text("not imported from a URL")
    assert api_call(stack, headers, "GET", f"/modules/{module['id']}/testcases")["items"] == []
