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
    # auth, memberships, the projects' index items, the tasks shown (was 2 + one Query per project)
    assert costs["GET /tasks (2 projects)"] == ["GetItem", "Query", "BatchGetItem", "BatchGetItem"]
    # auth, task, project (membership), then the report and the task's ADD run_count in one
    # TransactWriteItems (start_run is handed the project read and the task's update). Was 6.
    assert costs["POST /tasks/{id}/runs"] == ["GetItem", "GetItem", "GetItem", "TransactWriteItems"]


def test_listing_tasks_across_many_projects_costs_four_calls_whatever_their_number(api, aws, ddb_calls):
    """Was 2 + P (one Query per project): now auth + memberships + one BatchGetItem of the
    projects' index items + one of the tasks shown, for 1 or 12 projects, any page."""
    alice = api()
    projects = [alice.project(f"p{n}") for n in range(12)]
    for n, project in enumerate(projects):
        for m in range(2):
            assert alice.task(project, name=f"t{n}-{m}").status == 201
    ddb_calls.clear()
    first = alice.get("/tasks?limit=5").body
    assert ddb_calls == ["GetItem", "Query", "BatchGetItem", "BatchGetItem"]
    assert [t["name"] for t in first["items"]] == ["t11-1", "t11-0", "t10-1", "t10-0", "t9-1"]
    ddb_calls.clear()
    second = alice.get(f"/tasks?limit=5&cursor={first['next_cursor']}").body
    assert ddb_calls == ["GetItem", "Query", "BatchGetItem", "BatchGetItem"]
    assert [t["name"] for t in second["items"]] == ["t9-0", "t8-1", "t8-0", "t7-1", "t7-0"]
    ddb_calls.clear()
    assert alice.get("/tasks?name=nothing").body == {"items": [], "next_cursor": None}
    assert ddb_calls == ["GetItem", "Query", "BatchGetItem"]  # nothing to show: no second batch
