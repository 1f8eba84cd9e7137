"""Catalog pieces without I/O: bodies, cursors, transaction labels, pages, documents."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pynamodb.exceptions import CancellationReason

from chalicelib.catalog.documents import checked_document, document_size
from chalicelib.catalog.models import Module, NameClaim, Project, StoredTestcase
from chalicelib.catalog.names import name_prefix
from chalicelib.catalog.schemas import MemberBody, ProjectCreate, ProjectPatch, TestcaseBody
from chalicelib.core.db import Cancelled, Tx, checked_start_key, query_page, string_key
from chalicelib.core.errors import PayloadTooLarge, ValidationFailed
from chalicelib.core.ids import fold, sort_key
from chalicelib.core.validation import validate

GOOD = {"config": {"name": "ok"}, "teststeps": [{"name": "s", "request": {"method": "GET", "url": "/"}}]}


def fields(model, data) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        validate(model, data)
    return caught.value.fields


def test_project_bodies_name_each_bad_field_plainly():
    assert fields(ProjectCreate, {"name": " \t "}) == {"name": "must not be empty"}
    assert fields(ProjectCreate, {"name": "a\x00b"}) == {"name": "must not contain control characters"}
    bad = fields(ProjectCreate, {"name": "ok", "environments": {
        "-x": {}, "prod": {"base_url": "javascript:alert(1)", "variables": {"a b": 1}, "extra": 1}}})
    assert bad["environments.prod.base_url"] == "an http:// or https:// URL"
    assert bad["environments.prod.extra"] == "Extra inputs are not permitted"
    assert any("is not a variable name" in text for text in bad.values())
    assert any("1-64 of letters" in text for text in bad.values())
    assert validate(ProjectCreate, {"name": "  Shop  "}).name == "Shop"
    assert fields(ProjectCreate, {"name": "x", "environments": {f"e{i}": {} for i in range(51)}}) == {
        "environments": "at most 50 environments"}
    assert validate(ProjectPatch, {}).model_fields_set == set()
    assert fields(MemberBody, {"username": "a b"}) == {
        "username": "a username (letters, digits, '_' and '-')"}
    assert fields(TestcaseBody, {}) == {"testcase": "Field required"}


def test_sort_keys_order_like_time_and_names_fold():
    early = datetime(2026, 11, 22, 8, 0, 0, 1, tzinfo=UTC)
    later = early + timedelta(microseconds=1)
    assert sort_key(early, "f" * 32) < sort_key(later, "0" * 32)
    assert sort_key(early, "a").startswith("2026-11-22T08:00:00.000001Z#")
    assert fold("Straße") == fold("STRASSE")
    assert name_prefix("ChecK") == "check" and name_prefix("") is None
    with pytest.raises(ValidationFailed):
        name_prefix("x" * 101)


def test_cursors_only_continue_their_own_list():
    key = string_key(user_id="u1", sort_key="2026#p")
    assert checked_start_key(key, names=("user_id", "sort_key"), partition={"user_id": "u1"}) == key
    assert checked_start_key(None, names=("user_id",), partition={}) is None
    for forged in (string_key(user_id="u2", sort_key="x"), string_key(user_id="u1"),
                   {"user_id": {"N": "1"}, "sort_key": {"S": "x"}}, ["user_id"],
                   {**key, "extra": {"S": "x"}}):
        with pytest.raises(ValidationFailed):
            checked_start_key(forged, names=("user_id", "sort_key"), partition={"user_id": "u1"})


def test_transaction_labels_follow_dynamodbs_order_and_reasons_map_back():
    tx = Tx()
    tx.update("count", Module("m"), [Module.testcase_count.add(1)])
    tx.put("claim", NameClaim("k", target_id="t"))
    tx.check("member", Project, "p", Project.status == "active")
    tx.delete("old", StoredTestcase("t"))
    assert tx.labels == ["member", "old", "claim", "count"] and len(tx) == 4
    codes = {"member": "None", "old": "None", "claim": "ConditionalCheckFailed", "count": "None"}
    cancelled = Cancelled(codes, {"claim": {"key": {"S": "k"}, "target_id": {"S": "other"}}})
    assert cancelled.failed("claim") and not cancelled.failed("member")
    assert cancelled.old("claim", NameClaim).target_id == "other"
    assert cancelled.old("member", Project) is None
    assert not cancelled.only_conflicts
    assert Cancelled({"a": "TransactionConflict", "b": "None"}, {}).only_conflicts
    assert CancellationReason(code="X").code == "X"  # the shape PynamoDB hands us


class _Results:
    def __init__(self, page: dict) -> None:
        self.page_iter = iter([page])


def test_a_page_reads_one_more_to_know_whether_there_is_more():
    rows = [{"key": {"S": f"k{i}"}, "target_id": {"S": "t"}} for i in range(4)]
    asked = {}

    def results_for(**kwargs):
        asked.update(kwargs)
        return _Results({"Items": rows[:kwargs["page_size"]]})

    items, next_key = query_page(results_for, NameClaim, limit=3, start_key=None,
                                 key_of=lambda claim: string_key(key=claim.key))
    assert asked["page_size"] == 4
    assert [i.key for i in items] == ["k0", "k1", "k2"] and next_key == string_key(key="k2")
    items, next_key = query_page(results_for, NameClaim, limit=5, start_key=None, key_of=lambda c: {})
    assert len(items) == 4 and next_key is None
    lek = string_key(key="k9")
    items, next_key = query_page(lambda **kw: _Results({"Items": rows[:1], "LastEvaluatedKey": lek}),
                                 NameClaim, limit=5, start_key=None, key_of=lambda c: {}, read_ahead=200)
    assert len(items) == 1 and next_key == lek  # a filtered page may be short, and says where to go on


def test_documents_are_checked_with_paths_under_the_bodys_field():
    document, size, steps = checked_document(GOOD)
    assert document is GOOD and steps == 1 and size == document_size(GOOD)
    broken = {"config": {"name": "x"}, "teststeps": [{"name": "s", "request": {"method": "GET", "url": "/"},
                                                      "validate": [{"nope": [1, 2]}]}]}
    with pytest.raises(ValidationFailed) as caught:
        checked_document(broken, prefix="testcase")
    assert list(caught.value.fields) == ["testcase.teststeps[0].validate[0]"]
    with pytest.raises(ValidationFailed) as caught:
        checked_document("just text", prefix="testcase")
    assert list(caught.value.fields) == ["testcase"]
    with pytest.raises(ValidationFailed) as caught:
        checked_document([])
    assert list(caught.value.fields) == ["body"]
    huge = {**GOOD, "config": {"name": "x", "variables": {"v": "é" * 140_000}}}  # 280 KB in UTF-8
    with pytest.raises(PayloadTooLarge):
        checked_document(huge)


def test_transactions_over_100_items_are_refused_before_sending():
    tx = Tx()
    for i in range(101):
        tx.delete(f"d{i}", NameClaim(f"k{i}"))
    with pytest.raises(ValueError, match="at most 100"):
        tx.commit()
