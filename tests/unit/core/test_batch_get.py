"""core/db.py's BatchGetItem: chunks of 100, unprocessed keys asked again, answers in the keys' order."""
import pytest

from chalicelib.core import db
from chalicelib.core.errors import ServiceUnavailable


class FakeDynamo:
    """Answers batch_get_item from `items` (table -> list of items), leaving the first
    `unprocessed` keys of each of the first `stingy` calls unprocessed."""

    def __init__(self, items: dict[str, list[dict]], *, stingy: int = 0, unprocessed: int = 1) -> None:
        self.items, self.stingy, self.unprocessed = items, stingy, unprocessed
        self.calls: list[dict] = []

    def batch_get_item(self, RequestItems: dict) -> dict:  # boto3's argument name
        self.calls.append(RequestItems)
        responses: dict[str, list[dict]] = {}
        left: dict[str, dict] = {}
        for table, spec in RequestItems.items():
            keys = spec["Keys"]
            if len(self.calls) <= self.stingy:
                left[table] = {**spec, "Keys": keys[:self.unprocessed]}
                keys = keys[self.unprocessed:]
            responses[table] = [item for item in self.items.get(table, [])
                                if any(all(item[n] == v for n, v in key.items()) for key in keys)]
        return {"Responses": responses, "UnprocessedKeys": left}


@pytest.fixture
def fake(monkeypatch):
    def install(client: FakeDynamo) -> FakeDynamo:
        monkeypatch.setattr(db, "get_client", lambda service: client)
        return client
    return install


def key(value: str) -> dict:
    return {"id": {"S": value}}


def test_answers_follow_the_keys_with_none_for_missing_and_duplicates_sent_once(fake):
    client = fake(FakeDynamo({"a": [{"id": {"S": "1"}, "x": {"N": "1"}}],
                              "b": [{"id": {"S": "2"}, "y": {"S": "b"}}]}))
    got = db.batch_get_items([("b", key("2")), ("a", key("9")), ("a", key("1")), ("b", key("2"))])
    assert got == [{"id": {"S": "2"}, "y": {"S": "b"}}, None, {"id": {"S": "1"}, "x": {"N": "1"}},
                   {"id": {"S": "2"}, "y": {"S": "b"}}]
    assert client.calls == [{"b": {"Keys": [key("2")], "ConsistentRead": True},
                             "a": {"Keys": [key("9"), key("1")], "ConsistentRead": True}}]


def test_composite_keys_and_eventual_reads(fake):
    items = {"stats": [{"project_id": {"S": "p"}, "period": {"N": "7"}, "t1": {"N": "3"}}]}
    client = fake(FakeDynamo(items))
    asked = [("stats", {"period": {"N": "7"}, "project_id": {"S": "p"}}),
             ("stats", {"project_id": {"S": "p"}, "period": {"N": "8"}})]
    assert db.batch_get_items(asked, consistent=False) == [items["stats"][0], None]
    assert client.calls[0]["stats"]["ConsistentRead"] is False


def test_one_call_per_hundred_keys_and_none_without_keys(fake):
    client = fake(FakeDynamo({"t": [{"id": {"S": str(n)}} for n in range(250)]}))
    assert db.batch_get_items([]) == [] and client.calls == []
    got = db.batch_get_items([("t", key(str(n))) for n in range(250)])
    assert got == [{"id": {"S": str(n)}} for n in range(250)]
    assert [len(call["t"]["Keys"]) for call in client.calls] == [100, 100, 50]


def test_unprocessed_keys_are_asked_again_after_a_growing_pause(fake):
    client = fake(FakeDynamo({"t": [{"id": {"S": "1"}}, {"id": {"S": "2"}}]}, stingy=2))
    pauses: list[float] = []
    got = db.batch_get_items([("t", key("1")), ("t", key("2"))], sleep=pauses.append)
    assert got == [{"id": {"S": "1"}}, {"id": {"S": "2"}}]
    assert [call["t"]["Keys"] for call in client.calls] == [[key("1"), key("2")], [key("1")], [key("1")]]
    assert pauses == [0.1, 0.2]


def test_keys_left_unprocessed_after_five_calls_are_a_503(fake):
    client = fake(FakeDynamo({"t": [{"id": {"S": "1"}}]}, stingy=99))
    pauses: list[float] = []
    with pytest.raises(ServiceUnavailable) as raised:
        db.batch_get_items([("t", key("1"))], sleep=pauses.append)
    assert raised.value.code == "busy" and raised.value.headers["Retry-After"] == "1"
    assert len(client.calls) == 5 and pauses == [0.1, 0.2, 0.4, 0.8]


def test_get_many_makes_models_in_order_and_passes_none_through(fake):
    from chalicelib.accounts.models import LimitCounter, User

    fake(FakeDynamo({User.Meta.table_name: [{"id": {"S": "u1"}, "username": {"S": "ann"}}],
                     LimitCounter.Meta.table_name: [{"key": {"S": "c"}, "count": {"N": "2"},
                                                     "window_ends": {"N": "10"}}]}))
    user, missing, nothing, counter = db.get_many([(User, "u1"), (User, "u2"), None, (LimitCounter, "c")])
    assert (user.id, user.username, missing, nothing, counter.count) == ("u1", "ann", None, None, 2)
