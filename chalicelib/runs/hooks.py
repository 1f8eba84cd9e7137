"""Webhooks GitHub and GitLab send themselves (API.md "Webhook callers that sign their own
way"): `POST /hooks/projects/{id}/github` and `/gitlab`.

Each sender proves itself its own way with the project's CI webhook secret (the one
`POST /projects` answers, rotated by the owner; the previous one verifies for the grace
period): GitHub signs the raw body (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`), GitLab
sends the secret itself (`X-Gitlab-Token`). Both are compared in constant time against every
live secret; a bad or missing proof is a 401 and writes nothing.

Neither format carries a timestamp, so replays are refused by the delivery id (GitHub's
`X-GitHub-Delivery`, GitLab's `Idempotency-Key`, else `X-Gitlab-Event-UUID`): a claim on it
is written by a conditional put in the same TransactWriteItems as the report, kept for
`HAT_HOOK_DELIVERY_TTL_SECONDS`; a delivery seen before answers 200 and starts nothing.

What a delivery runs is decided by the project's rules (`hook_rules` on the project item,
so the one GetItem that verifies also decides): the first rule that matches the event wins.
DynamoDB calls per delivery: GetItem (project); a run adds one TransactWriteItems (claim +
report); ping and ignored events write nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.catalog.models import Project
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import condition_failed, get_or_none
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import get_settings
from chalicelib.core.signing import SIGNATURE_PREFIX, SignatureInvalid

if TYPE_CHECKING:
    from chalicelib.runs import schemas

PROVIDERS = ("github", "gitlab")
# What hat runs on, whichever sender: a branch push, a tag push, a published release, a
# successful deployment (GitHub's deployment_status "success", GitLab's deployment "success").
EVENTS = ("push", "tag", "release", "deployment")
DEFAULT_BRANCH = ":default"  # in a rule's branches: the repository's default branch (":" is no ref name)
# Without rules of its own, a project runs on a push to the default branch, a successful
# deployment and a published release: the whole project, in the environment named like the
# deployment's (if the project has one), else its default.
DEFAULT_RULES: tuple[dict, ...] = (
    {"events": ["push"], "branches": [DEFAULT_BRANCH]},
    {"events": ["deployment"]},
    {"events": ["release"]},
)
MAX_DELIVERY_ID_CHARS = 128
_ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class HookEvent:
    """One delivery, in terms common to both senders."""

    provider: str
    name: str  # the sender's own event name (X-GitHub-Event, X-Gitlab-Event)
    kind: str | None = None  # one of EVENTS, or None: nothing hat runs on
    skip: str | None = None  # why this delivery starts nothing whatever the rules
    branch: str | None = None
    tag: str | None = None
    environment: str | None = None  # the deployment's
    sha: str | None = None
    repository: str | None = None
    default_branch: str | None = None

    def describe(self) -> str:
        if self.kind == "push":
            return f"push to branch {self.branch!r}"
        if self.kind in ("tag", "release"):
            return f"{self.kind} {self.tag!r}"
        if self.kind == "deployment":
            return f"deployment to {self.environment!r}"
        return f"event {self.name!r}"


# --- proofs -----------------------------------------------------------------------------------------

def _github_proof(secret: str, raw_body: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_github(candidates: list[str], headers: Mapping[str, str], raw_body: bytes) -> None:
    given = headers.get("X-Hub-Signature-256") or ""
    if not given.startswith(SIGNATURE_PREFIX):
        raise SignatureInvalid("X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body> is required")
    # Every candidate is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(given.encode(), _github_proof(secret, raw_body).encode())
               for secret in candidates]
    if not any(matches):
        raise SignatureInvalid("signature does not match")


def verify_gitlab(candidates: list[str], headers: Mapping[str, str], _raw_body: bytes) -> None:
    given = headers.get("X-Gitlab-Token") or ""
    if not given:
        raise SignatureInvalid("X-Gitlab-Token (the project's webhook secret) is required")
    matches = [hmac.compare_digest(given.encode(), secret.encode()) for secret in candidates]
    if not any(matches):
        raise SignatureInvalid("token does not match")


# --- bodies ---------------------------------------------------------------------------------------

def _payload(headers: Mapping[str, str], raw_body: bytes) -> dict:
    """The JSON payload; GitHub may also send it form-encoded (`payload=<json>`)."""
    from chalicelib.core.parsing import load_form_bounded, load_json_bounded

    raw: bytes | str = raw_body
    if (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        raw = load_form_bounded(raw_body, max_fields=5).get("payload", "")
    payload = load_json_bounded(raw, field="payload") if raw else {}
    if not isinstance(payload, dict):
        raise BadRequest("the payload must be a JSON object", code="invalid_json")
    return payload


def _text(value: object) -> str | None:
    return value[:256] if isinstance(value, str) and value else None


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _ref(ref: object) -> tuple[str | None, str | None]:
    """(branch, tag) of a git ref."""
    ref = _text(ref) or ""
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/"):], None
    if ref.startswith("refs/tags/"):
        return None, ref[len("refs/tags/"):]
    return (ref or None), None


def github_event(name: str, payload: dict) -> HookEvent:
    repository = _object(payload.get("repository"))
    common = {"provider": "github", "name": name, "repository": _text(repository.get("full_name")),
              "default_branch": _text(repository.get("default_branch"))}
    if name == "push":
        branch, tag = _ref(payload.get("ref"))
        skip = f"the push deleted {payload.get('ref')!r}" if payload.get("deleted") is True else None
        return HookEvent(kind="tag" if tag else "push", skip=skip, branch=branch, tag=tag,
                         sha=_text(payload.get("after")), **common)
    if name == "release":
        action = payload.get("action")
        release = _object(payload.get("release"))
        skip = None if action == "published" else f"release action {action!r} (only 'published' runs)"
        return HookEvent(kind="release", skip=skip, tag=_text(release.get("tag_name")), **common)
    if name == "deployment_status":
        status = _object(payload.get("deployment_status"))
        deployment = _object(payload.get("deployment"))
        state = status.get("state")
        skip = None if state == "success" else f"deployment state {state!r} (only 'success' runs)"
        return HookEvent(kind="deployment", skip=skip,
                         environment=_text(status.get("environment") or deployment.get("environment")),
                         branch=_text(deployment.get("ref")), sha=_text(deployment.get("sha")), **common)
    return HookEvent(**common)


GITLAB_EVENTS = {"Push Hook": "push", "Tag Push Hook": "tag", "Release Hook": "release",
                 "Deployment Hook": "deployment"}


def gitlab_event(name: str, payload: dict) -> HookEvent:
    project = _object(payload.get("project"))
    common = {"provider": "gitlab", "name": name, "repository": _text(project.get("path_with_namespace")),
              "default_branch": _text(project.get("default_branch"))}
    kind = GITLAB_EVENTS.get(name)
    if kind in ("push", "tag"):
        branch, tag = _ref(payload.get("ref"))
        after = payload.get("after")
        skip = f"the push deleted {payload.get('ref')!r}" if after == _ZERO_SHA else None
        return HookEvent(kind=kind, skip=skip, branch=branch, tag=tag,
                         sha=_text(payload.get("checkout_sha") or after), **common)
    if kind == "release":
        action = payload.get("action")
        skip = None if action == "create" else f"release action {action!r} (only 'create' runs)"
        return HookEvent(kind=kind, skip=skip, tag=_text(payload.get("tag")), **common)
    if kind == "deployment":
        status = payload.get("status")
        skip = None if status == "success" else f"deployment status {status!r} (only 'success' runs)"
        return HookEvent(kind=kind, skip=skip, environment=_text(payload.get("environment")),
                         branch=_text(payload.get("ref")), sha=_text(payload.get("sha")), **common)
    return HookEvent(**common)


# --- rules ----------------------------------------------------------------------------------------

def glob_match(pattern: str, text: str) -> bool:
    """`*` matches any run of characters (slashes too); everything else is literal. Linear
    backtracking over the last star only, so at most len(pattern) * len(text) steps on the
    (bounded) names a rule and a signed payload carry; no regex."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] != "*" and pattern[p] == text[t]:
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    return all(c == "*" for c in pattern[p:])


def _matches_any(patterns: list[str], value: str | None, default_branch: str | None = None) -> bool:
    if value is None:
        return False
    return any(glob_match(default_branch or "", value) if pattern == DEFAULT_BRANCH
               else glob_match(pattern, value) for pattern in patterns)


def rule_matches(rule: Mapping[str, Any], event: HookEvent) -> bool:
    """A filter concerns the events that carry what it names: `branches` pushes and
    deployments (the deployed ref), `tags` tag pushes and releases, `environments` deployments."""
    if event.kind not in rule.get("events", ()):
        return False
    if rule.get("providers") and event.provider not in rule["providers"]:
        return False
    if rule.get("branches") and event.kind in ("push", "deployment") \
            and not _matches_any(rule["branches"], event.branch, event.default_branch):
        return False
    if rule.get("tags") and event.kind in ("tag", "release") and not _matches_any(rule["tags"], event.tag):
        return False
    return not (rule.get("environments") and event.kind == "deployment"
                and not _matches_any(rule["environments"], event.environment))


def rules_of(project: Project) -> list[dict]:
    return list(project.hook_rules) if project.hook_rules is not None else [dict(r) for r in DEFAULT_RULES]


def first_match(rules: list[dict], event: HookEvent) -> tuple[int, dict] | None:
    return next(((index, rule) for index, rule in enumerate(rules) if rule_matches(rule, event)), None)


def run_environment(project: Project, rule: Mapping[str, Any], event: HookEvent) -> str | None:
    """The rule's environment; else, for a deployment, the project's environment of the same
    name when there is one; else None (the project's default)."""
    if rule.get("environment"):
        return rule["environment"]
    if event.kind == "deployment" and event.environment in (project.environments or {}):
        return event.environment
    return None


# --- a delivery -----------------------------------------------------------------------------------

VERIFIERS = {"github": verify_github, "gitlab": verify_gitlab}


def _delivery_id(provider: str, headers: Mapping[str, str]) -> str | None:
    if provider == "github":
        delivery = headers.get("X-GitHub-Delivery")
        if not delivery:
            raise BadRequest("X-GitHub-Delivery is required", code="missing_delivery")
    else:  # GitLab sends Idempotency-Key since 17.4 (the same on its retries); before, only the UUID
        delivery = headers.get("Idempotency-Key") or headers.get("X-Gitlab-Event-UUID")
        if not delivery:
            return None
    if len(delivery) > MAX_DELIVERY_ID_CHARS or not delivery.isprintable():
        raise BadRequest(f"the delivery id is over {MAX_DELIVERY_ID_CHARS} characters or not printable",
                         code="bad_delivery")
    return delivery


def _ignored(why: str, **extra: Any) -> tuple[dict, int]:
    return {"ignored": why, **extra}, 200


def receive(provider: str, project_id: str, headers: Mapping[str, str], raw_body: bytes, *,
            clock: Clock) -> tuple[dict, int]:
    """One delivery from GitHub or GitLab: (answer, status). 202 `{"report_id", ...}` when a
    rule runs, 200 `{"ignored": why}` when nothing runs (ping, no rule, a delivery seen before)."""
    from chalicelib.core.ids import is_id
    from chalicelib.runs import webhooks

    project = get_or_none(Project, project_id, consistent_read=True) \
        if is_id(project_id) else None
    candidates = webhooks.current_webhook_secrets(project, clock=clock)
    # No project or no secret: verify against a throwaway secret, so the answer (401) and its
    # timing say nothing about whether the project exists.
    VERIFIERS[provider](candidates or [secrets.token_hex(16)], headers, raw_body)
    name = (headers.get("X-GitHub-Event") if provider == "github" else headers.get("X-Gitlab-Event")) or ""
    if provider == "github" and name == "ping":
        return {"ok": True, "event": "ping"}, 200
    delivery = _delivery_id(provider, headers)
    payload = _payload(headers, raw_body)
    event = (github_event if provider == "github" else gitlab_event)(name[:100], payload)
    if event.kind is None:
        return _ignored(f"hat does not run on {provider} event {event.name!r}")
    if event.skip:
        return _ignored(event.skip)
    matched = first_match(rules_of(project), event)
    if matched is None:
        return _ignored(f"no rule of this project runs on a {event.describe()}")
    index, rule = matched
    origin = {"provider": provider, "event": event.kind, "delivery": delivery, "repository": event.repository,
              "branch": event.branch, "tag": event.tag, "environment": event.environment, "sha": event.sha,
              "rule": index}
    claim_key = f"hook:{provider}:{project.id}:{delivery}" if delivery else None
    ttl = timedelta(seconds=get_settings().hook_delivery_ttl_seconds)
    answer = webhooks.start_claimed_run(
        project, claim_key=claim_key, claim_ttl=ttl, environment=run_environment(project, rule, event),
        module_ids=rule.get("modules") or None, name=f"{project.name} ({event.describe()})",
        origin={k: v for k, v in origin.items() if v is not None}, clock=clock)
    if answer is None:
        return _ignored(f"delivery {delivery!r} was already handled", duplicate=True)
    return {**answer, "rule": index, "event": event.describe()}, 202


def project_rules(project: Project) -> dict:
    """The rules a project's deliveries are matched against (its own, or the defaults)."""
    return {"project_id": project.id, "rules": rules_of(project), "default": project.hook_rules is None,
            "github_token": project.github_token_at is not None}


def get_rules(user: User, project_id: str) -> dict:
    """GET /projects/{id}/hook-rules: GetItem (project)."""
    from chalicelib.catalog.access import load_project

    return project_rules(load_project(user, project_id))


def set_rules(user: User, project_id: str, body: schemas.HookRules) -> dict:
    """PUT /projects/{id}/hook-rules (members): GetItem (project), BatchGetItem (the modules
    named, if any), UpdateItem conditional on the caller still being a member."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.catalog.access import load_project
    from chalicelib.catalog.models import ACTIVE, Module
    from chalicelib.core.db import get_many
    from chalicelib.core.errors import NotFound, ValidationFailed

    project = load_project(user, project_id)
    rules = None if body.rules is None else [rule.model_dump(exclude_none=True) for rule in body.rules]
    problems: dict[str, str] = {}
    wanted = [(i, j, module_id) for i, rule in enumerate(rules or []) for j, module_id in
              enumerate(rule.get("modules", ()))]
    modules = get_many([(Module, module_id) for _i, _j, module_id in wanted]) if wanted else []
    for (i, j, module_id), module in zip(wanted, modules, strict=True):
        if module is None or module.status != ACTIVE or module.project_id != project.id:
            problems[f"rules[{i}].modules[{j}]"] = f"no module {module_id} in this project"
    for i, rule in enumerate(rules or []):
        if rule.get("environment") and rule["environment"] not in (project.environments or {}):
            problems[f"rules[{i}].environment"] = f"no environment {rule['environment']!r} in this project"
    if problems:
        raise ValidationFailed(problems)
    action = Project.hook_rules.set(rules) if rules is not None else Project.hook_rules.remove()
    try:
        project.update(actions=[action], condition=(Project.status == ACTIVE)
                       & Project.member_ids.contains(user["id"]))
    except UpdateError as error:
        if condition_failed(error):
            raise NotFound("project not found", code="project_not_found") from None
        raise
    return project_rules(project)
