"""The catalog against the local stack as `make dev` runs it: real HTTP, YAML import, and a
project delete whose cascade the stack's poller runs through the real queue."""
from __future__ import annotations

import os
import re
import time

PASSWORD = "a long and unusual secret"
YAML_CASE = """\
config:
  name: Health
  base_url: http://127.0.0.1:9
teststeps:
  - name: health
    request: {method: GET, url: /health}
    validate:
      - eq: [status_code, 200]
"""


def signed_in(stack, http) -> dict:
    marker = os.urandom(3).hex()
    email, username = f"cat-{marker}@example.com", f"cat_{marker}"
    assert http.post(f"{stack.url}/auth/codes", timeout=5, json={
        "channel": "email", "destination": email, "purpose": "register"}).status_code == 202
    deadline, code = time.monotonic() + 15, None
    while code is None and time.monotonic() < deadline:
        for item in http.get(f"{stack.url}/_local/outbox", timeout=5).json()["items"]:
            match = re.search(r"\b(\d{6})\b", item["body"]) if item["to"] == email else None
            code = match.group(1) if match else code
        time.sleep(0.2)
    assert code, "no verification code in the outbox"
    assert http.post(f"{stack.url}/auth/register", timeout=10, json={
        "username": username, "password": PASSWORD, "email": email, "code": code}).status_code == 201
    token = http.post(f"{stack.url}/auth/login", timeout=10,
                      json={"account": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_projects_modules_yaml_import_and_a_cascade_through_the_queue(stack, http):
    headers = signed_in(stack, http)
    project = http.post(f"{stack.url}/projects", headers=headers, timeout=5, json={
        "name": f"e2e {os.urandom(2).hex()}", "environments": {"local": {"base_url": "http://127.0.0.1:8080"}}})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    module = http.post(f"{stack.url}/projects/{project_id}/modules", headers=headers, timeout=5,
                       json={"name": "health"})
    assert module.status_code == 201, module.text
    module_id = module.json()["id"]
    imported = http.post(f"{stack.url}/modules/{module_id}/testcases/import", timeout=5, data=YAML_CASE,
                         headers={**headers, "Content-Type": "application/yaml"})
    assert imported.status_code == 201, imported.text
    assert imported.json()["testcase"]["teststeps"][0]["validate"] == [{"eq": ["status_code", 200]}]
    counted = http.get(f"{stack.url}/projects/{project_id}", headers=headers, timeout=5).json()
    assert counted["testcase_count"] == 1

    assert http.delete(f"{stack.url}/projects/{project_id}", headers=headers, timeout=5).status_code == 204
    hidden = http.get(f"{stack.url}/testcases/{imported.json()['id']}", headers=headers, timeout=5)
    assert hidden.status_code == 404
    ddb = stack.boto3_client("dynamodb")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        left = ddb.get_item(TableName="hat-dev-projects", Key={"id": {"S": project_id}}, ConsistentRead=True)
        if "Item" not in left:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the poller never finished the project's cleanup")
    gone = ddb.get_item(TableName="hat-dev-testcases", Key={"id": {"S": imported.json()["id"]}},
                        ConsistentRead=True)
    assert "Item" not in gone
