"""The parts of runs/hooks.py with no I/O: glob matching, sender payloads to events, rules."""
from __future__ import annotations

import pytest

from chalicelib.runs.hooks import (
    DEFAULT_RULES,
    HookEvent,
    first_match,
    github_event,
    gitlab_event,
    glob_match,
)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("main", "main", True), ("main", "mainline", False), ("release/*", "release/2.0", True),
    ("release/*", "release", False), ("*", "", True), ("*-hotfix", "a/b-hotfix", True),
    ("a*b*c", "axxbyyc", True), ("a*b*c", "axxbyy", False), ("", "", True), ("", "x", False),
])
def test_glob_match(pattern, text, expected):
    assert glob_match(pattern, text) is expected


def test_glob_match_stays_cheap_on_adversarial_input():
    # Quadratic at worst over bounded lengths (200-char patterns, 256-char refs), never exponential.
    assert glob_match("*a" * 100 + "b", "a" * 256) is False


def test_github_payloads_become_events():
    push = github_event("push", {"ref": "refs/tags/v1.2", "after": "abc", "repository": {
        "full_name": "o/r", "default_branch": "main"}})
    assert (push.kind, push.tag, push.branch, push.repository) == ("tag", "v1.2", None, "o/r")
    assert github_event("release", {"action": "edited", "release": {"tag_name": "v1"}}).skip
    assert github_event("release", {"action": "published", "release": {"tag_name": "v1"}}).tag == "v1"
    garbage = github_event("push", {"ref": 5, "repository": "not an object", "deleted": "yes"})
    assert (garbage.kind, garbage.branch, garbage.skip) == ("push", None, None)


def test_gitlab_payloads_become_events():
    deleted = gitlab_event("Push Hook", {"ref": "refs/heads/x", "after": "0" * 40})
    assert deleted.skip == "the push deleted 'refs/heads/x'"
    release = gitlab_event("Release Hook", {"action": "create", "tag": "v1.1"})
    assert (release.kind, release.tag, release.skip) == ("release", "v1.1", None)
    assert gitlab_event("Note Hook", {}).kind is None


def test_default_rules_run_the_default_branch_deployments_and_releases():
    rules = [dict(rule) for rule in DEFAULT_RULES]
    on_main = HookEvent("github", "push", kind="push", branch="main", default_branch="main")
    on_feature = HookEvent("github", "push", kind="push", branch="feature", default_branch="main")
    assert first_match(rules, on_main)[0] == 0
    assert first_match(rules, on_feature) is None
    assert first_match(rules, HookEvent("gitlab", "x", kind="deployment", environment="prod"))[0] == 1
    assert first_match(rules, HookEvent("gitlab", "x", kind="tag", tag="v1")) is None
    no_default = HookEvent("github", "push", kind="push", branch="main", default_branch=None)
    assert first_match(rules, no_default) is None
