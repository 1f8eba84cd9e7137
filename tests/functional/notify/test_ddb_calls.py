"""The recipients' routes, and the routes that take `notify`, within 4 DynamoDB calls (auth
included): asking outside addresses to confirm is a queued job, not a read in the request."""
from __future__ import annotations

from chalicelib.notify.recipients import CONFIRM_PATH, UNSUBSCRIBE_PATH
from tests.functional.conftest import token_in
from tests.functional.ddb_budget import CallBudget
from tests.functional.runs.conftest import case

BUDGET = 4
OUTSIDE = {"emails": ["ext@example.org", "ops@example.org"], "mobiles": ["+8613800138999"],
           "users": ["alice"], "when": "failure"}


def test_recipient_routes_and_routes_with_recipients_stay_within_budget(alice, target, notify, client,
                                                                         ddb_calls, request):
    shop = alice.shop(target.url, [case("a")])
    p, m, t = shop["project"]["id"], shop["module"]["id"], shop["testcases"][0]["id"]
    budget = CallBudget(ddb_calls, BUDGET)
    measure = budget.measure

    measure("PATCH /projects/{id} (notify)", 200, lambda: alice.patch(f"/projects/{p}", {"notify": OUTSIDE}))
    measure("POST /projects/{id}/runs (notify)", 202,
            lambda: alice.post(f"/projects/{p}/runs", {"notify": OUTSIDE}))
    measure("POST /modules/{id}/runs (notify)", 202,
            lambda: alice.post(f"/modules/{m}/runs", {"notify": OUTSIDE}))
    measure("POST /testcases/{id}/runs (notify)", 202,
            lambda: alice.post(f"/testcases/{t}/runs", {"notify": OUTSIDE}))
    task = {"name": "nightly", "project_id": p, "crontab": "0 3 * * *", "notify": OUTSIDE}
    measure("POST /tasks (notify)", 201, lambda: alice.post("/tasks", task))
    task_id = alice.get(f"/tasks?project_id={p}").body["items"][0]["id"]
    measure("PATCH /tasks/{id} (notify)", 200,
            lambda: alice.patch(f"/tasks/{task_id}", {"notify": {**OUTSIDE, "when": "always"}}))
    notify.deliver(rounds=3)
    mail = next(m for m in notify.smtp.messages if m["To"] == "ext@example.org")
    text = mail.get_content()
    confirm, unsubscribe = token_in(text, CONFIRM_PATH), token_in(text, UNSUBSCRIBE_PATH)
    measure("GET /projects/{id}/recipients", 200, lambda: alice.get(f"/projects/{p}/recipients"))
    measure("GET /hooks/recipients/confirm", 200, lambda: client.http.get(f"{CONFIRM_PATH}?token={confirm}"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    measure("POST /hooks/recipients/confirm", 200,
            lambda: client.http.post(CONFIRM_PATH, body=f"token={confirm}".encode(), headers=form))
    measure("GET /hooks/recipients/unsubscribe", 200,
            lambda: client.http.get(f"{UNSUBSCRIBE_PATH}?token={unsubscribe}"))
    measure("POST /hooks/recipients/unsubscribe", 200,
            lambda: client.http.post(f"{UNSUBSCRIBE_PATH}?token={unsubscribe}",
                                     body=b"List-Unsubscribe=One-Click", headers=form))

    alerts = [{"id": "ci", "type": "webhook", "target": f"{target.url}/hook"},
              {"id": "mail", "type": "email", "target": "ext@example.org"}]
    measure("PATCH /projects/{id} (alerts)", 200, lambda: alice.patch(f"/projects/{p}", {"alerts": alerts}))
    measure("POST /projects/{id}/alerts/{id}/test (webhook)", 200,
            lambda: alice.post(f"/projects/{p}/alerts/ci/test"))
    measure("POST /projects/{id}/alerts/{id}/test (email)", 200,
            lambda: alice.post(f"/projects/{p}/alerts/mail/test"))

    budget.check(request, "DynamoDB calls per route (auth GetItem included)")
