"""GET /tasks across the caller's projects from the projects' index items: every create,
change and delete moves the index in the task's own transaction; reconcile adds tasks the
index lacks; pages never skip or repeat a task; a project holds at most TASKS_PER_PROJECT."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib.core.clock import utcnow
from chalicelib.schedules.gateway import default_gateway
from chalicelib.schedules.models import index_key
from chalicelib.schedules.reconcile import reconcile


def names(answer) -> list[str]:
    return [task["name"] for task in answer.body["items"]]


def all_pages(user, query: str) -> list[str]:
    seen, cursor = [], None
    while True:
        page = user.get(query + (f"&cursor={cursor}" if cursor else ""))
        assert page.status == 200, page.body
        seen += names(page)
        cursor = page.body["next_cursor"]
        if not cursor:
            return seen


def index_item(aws, project_id: str) -> dict:
    return aws("dynamodb").get_item(TableName="hat-dev-task-names", ConsistentRead=True,
                                    Key={"key": {"S": index_key(project_id)}}).get("Item") or {}


def test_pages_neither_skip_nor_repeat_with_or_without_a_project(api, aws):
    alice = api()
    shop, blog = alice.project("shop"), alice.project("blog")
    made = []
    for n in range(7):
        made.append(f"t{n}")
        alice.task(shop if n % 3 else blog, name=f"t{n}")
    newest_first = made[::-1]
    for limit in (1, 2, 3, 7, 8):
        assert all_pages(alice, f"/tasks?limit={limit}") == newest_first
    shop_only = [name for n, name in enumerate(made) if n % 3][::-1]
    for limit in (1, 2, 4):
        assert all_pages(alice, f"/tasks?project_id={shop}&limit={limit}") == shop_only


def test_the_index_follows_renames_changes_and_deletes(api, aws):
    alice, bob = api("alice"), api("bob")
    shop, blog = alice.project("shop"), alice.project("blog")
    mine = bob.project("bobs")
    a = alice.task(shop, name="alpha").body
    b = alice.task(blog, name="beta").body
    bob.task(mine, name="bobs task")
    assert names(alice.get("/tasks")) == ["beta", "alpha"]
    assert alice.patch(f"/tasks/{a['id']}", {"name": "gamma"}).status == 200
    assert names(alice.get("/tasks")) == ["gamma", "beta"]
    assert names(alice.get("/tasks?name=ALP")) == []
    assert names(alice.get("/tasks?name=gam")) == ["gamma"]
    assert alice.patch(f"/tasks/{b['id']}", {"enabled": False}).status == 200
    assert names(alice.get("/tasks")) == ["beta", "gamma"]
    assert alice.get("/tasks").body["items"][0]["enabled"] is False  # the task as it is now
    assert alice.delete(f"/tasks/{b['id']}").status == 204
    assert names(alice.get("/tasks")) == ["gamma"]
    assert names(bob.get("/tasks")) == ["bobs task"]
    item = index_item(aws, blog)
    assert item["task_count"] == {"N": "0"} and not [k for k in item if k.startswith("t") and len(k) == 33]
    assert index_item(aws, shop)["task_count"] == {"N": "1"}


def test_a_member_sees_the_projects_tasks_and_stops_seeing_them_when_removed(api, aws):
    alice, bob = api("alice"), api("bob")
    shop = alice.project("shop")
    alice.task(shop, name="nightly")
    assert names(bob.get("/tasks")) == []
    assert alice.post(f"/projects/{shop}/members", {"username": "bob"}).status in (200, 201)
    assert names(bob.get("/tasks")) == ["nightly"]
    assert alice.delete(f"/projects/{shop}/members?username=bob").status in (200, 204)
    assert names(bob.get("/tasks")) == []


def test_racing_creates_in_one_project_all_land_in_its_index(api, aws):
    """Straight to the service (the Chalice test client is not thread-safe), as test_tasks does."""
    from chalicelib.core.errors import ServiceUnavailable
    from chalicelib.schedules import service
    from chalicelib.schedules.schemas import TaskCreate

    alice = api()
    shop = alice.project("shop")

    def create(n):
        try:
            return service.create_task(alice.user, TaskCreate(name=f"t{n}", project_id=shop,
                                                              crontab="*/5 * * * *"),
                                       gateway=default_gateway(), clock=utcnow)["name"]
        except ServiceUnavailable:  # 503 busy: a transaction conflict on the index, retried once
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = sorted(name for name in pool.map(create, range(16)) if name)
    assert len(created) >= 8
    assert sorted(all_pages(alice, "/tasks?limit=5")) == created
    assert index_item(aws, shop)["task_count"] == {"N": str(len(created))}


def test_a_project_holds_at_most_the_cap(api, aws, monkeypatch):
    import chalicelib.schedules.service as service

    monkeypatch.setattr(service, "TASKS_PER_PROJECT", 2)
    alice = api()
    shop = alice.project("shop")
    first = alice.task(shop, name="one").body
    assert alice.task(shop, name="two").status == 201
    over = alice.task(shop, name="three")
    assert over.status == 409 and over.error["code"] == "too_many_tasks"
    assert sorted(names(alice.get("/tasks"))) == ["one", "two"]
    assert alice.task(alice.project("blog"), name="three").status == 201  # per project
    assert alice.delete(f"/tasks/{first['id']}").status == 204
    assert alice.task(shop, name="three").status == 201


def test_reconcile_indexes_tasks_made_before_the_index(api, aws):
    """A task written before its project had an index item (the deploy that added it) is not
    listed across projects until the reconcile round adds it; then it is, once."""
    alice = api()
    shop = alice.project("shop")
    old = alice.task(shop, name="old").body
    alice.task(shop, name="new")
    aws("dynamodb").update_item(TableName="hat-dev-task-names", Key={"key": {"S": index_key(shop)}},
                                UpdateExpression="REMOVE #e ADD task_count :m",
                                ExpressionAttributeNames={"#e": f"t{old['id']}"},
                                ExpressionAttributeValues={":m": {"N": "-1"}})
    assert names(alice.get("/tasks")) == ["new"]
    assert names(alice.get(f"/tasks?project_id={shop}")) == ["new", "old"]  # the Query sees it
    repairs = reconcile(gateway=default_gateway(), clock=utcnow)
    assert repairs.indexed == [old["id"]]
    assert names(alice.get("/tasks")) == ["new", "old"]
    assert index_item(aws, shop)["task_count"] == {"N": "2"}
    assert reconcile(gateway=default_gateway(), clock=utcnow).indexed == []  # settled
