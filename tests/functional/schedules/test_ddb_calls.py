"""DynamoDB calls per task route, the auth middleware's GetItem included (budget: 4)."""
from __future__ import annotations


def test_every_task_route_costs_at_most_four_dynamodb_calls(api, aws, ddb_calls):
    alice = api()
    shop, blog = alice.project("shop"), alice.project("blog")
    module = alice.module(shop)
    costs = {}

    ddb_calls.clear()
    task = alice.task(shop, module_ids=[module]).body
    costs["POST /tasks"] = list(ddb_calls)
    alice.task(blog, name="other")

    ddb_calls.clear()
    alice.get(f"/tasks/{task['id']}")
    costs["GET /tasks/{id}"] = list(ddb_calls)

    ddb_calls.clear()
    alice.patch(f"/tasks/{task['id']}", {"name": "renamed", "crontab": "0 0 13 * 5", "module_ids": [module]})
    costs["PATCH /tasks/{id}"] = list(ddb_calls)

    ddb_calls.clear()
    alice.get(f"/tasks?project_id={shop}&name=ren")
    costs["GET /tasks?project_id="] = list(ddb_calls)

    ddb_calls.clear()
    alice.get("/tasks")
    costs["GET /tasks (2 projects)"] = list(ddb_calls)

    ddb_calls.clear()
    alice.post(f"/tasks/{task['id']}/runs")
    costs["POST /tasks/{id}/runs"] = list(ddb_calls)

    ddb_calls.clear()
    alice.get(f"/tasks/{task['id']}")  # now with a last report
    costs["GET /tasks/{id} (last report)"] = list(ddb_calls)

    ddb_calls.clear()
    alice.delete(f"/tasks/{task['id']}")
    costs["DELETE /tasks/{id}"] = list(ddb_calls)

    print(costs)
    assert costs["POST /tasks"] == ["GetItem", "GetItem", "TransactWriteItems"]
    assert costs["GET /tasks/{id}"] == ["GetItem", "GetItem", "GetItem"]
    assert costs["GET /tasks/{id} (last report)"] == ["GetItem"] * 4
    assert costs["PATCH /tasks/{id}"] == ["GetItem", "GetItem", "GetItem", "TransactWriteItems"]
    assert costs["DELETE /tasks/{id}"] == ["GetItem", "GetItem", "GetItem", "TransactWriteItems"]
    assert costs["GET /tasks?project_id="] == ["GetItem", "GetItem", "Query"]
    # one Query of memberships, then one per project (in parallel): 2 + P
    assert sorted(costs["GET /tasks (2 projects)"]) == ["GetItem", "Query", "Query", "Query"]
    # auth, task, project (membership), start_run's PutItem (handed the project read: no
    # second GetItem), the task's ADD run_count. Was 6; 4 needs the report's PutItem and the
    # task's ADD in one TransactWriteItems, which start_run does not offer (see README).
    assert costs["POST /tasks/{id}/runs"] == ["GetItem", "GetItem", "GetItem", "PutItem", "UpdateItem"]
