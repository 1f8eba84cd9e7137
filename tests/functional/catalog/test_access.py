"""catalog/access.py, what other features read of catalog: a run's test cases, their documents,
`testcase: <ref>` targets, and a user's projects; never anything of another project."""
from __future__ import annotations

import pytest

from chalicelib.catalog import access
from tests.functional.catalog.conftest import sample_doc


@pytest.fixture
def two_projects(alice, bob):
    shop = alice.project("shop")
    orders, payments = alice.module(shop["id"], "orders"), alice.module(shop["id"], "payments")
    cases = {name: alice.testcase(module["id"], name) for module, name in
             ((orders, "Login"), (orders, "list"), (payments, "pay"))}
    other = bob.project("other")
    foreign = bob.testcase(bob.module(other["id"])["id"], "foreign")
    return shop, (orders, payments), cases, other, foreign


def test_a_run_covers_the_live_modules_asked_and_reads_only_its_projects_documents(alice, two_projects):
    shop, (orders, payments), cases, _other, foreign = two_projects
    everything = access.testcase_ids(shop["id"])
    assert sorted(everything) == sorted(case["id"] for case in cases.values())
    assert sorted(access.testcase_ids(shop["id"], module_ids=[payments["id"]])) == [cases["pay"]["id"]]
    assert access.testcase_ids(shop["id"], testcase_ids=[foreign["id"]]) == [foreign["id"]]  # as given
    assert alice.delete(f"/modules/{payments['id']}").status == 204
    assert sorted(access.testcase_ids(shop["id"])) == sorted([cases["Login"]["id"], cases["list"]["id"]])

    wanted = [cases["list"]["id"], foreign["id"], cases["Login"]["id"]]
    read = access.stored_testcases(wanted, shop["id"])
    assert [t.id for t in read] == [cases["list"]["id"], cases["Login"]["id"]]  # asked order, no stranger
    assert read[0].document == sample_doc("list")


def test_a_reference_resolves_by_id_or_name_in_its_project_only(two_projects):
    from chalicelib.runner.errors import TestcaseNotFound

    shop, _modules, cases, _other, foreign = two_projects
    resolve = access.testcase_resolver(shop["id"])
    assert resolve("login") == sample_doc("Login")  # names case-insensitively
    assert resolve(cases["pay"]["id"]) == sample_doc("pay")
    for stranger in (foreign["id"], "foreign", "nothing like it"):
        with pytest.raises(TestcaseNotFound):
            resolve(stranger)


def test_a_users_projects(alice, bob, two_projects):
    shop, _modules, _cases, other, _foreign = two_projects
    assert access.project_ids_of(alice.user["id"]) == [shop["id"]]
    assert access.project_ids_of(bob.user["id"]) == [other["id"]]
