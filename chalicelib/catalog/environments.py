"""One project environment merged in from outside (an import's Postman environment file), the
project's other environments untouched. PATCH /projects/{id} replaces them all; this changes
one, under the same rules (catalog/schemas.py Environments, sealed secrets: catalog/secrets.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.catalog.models import Project
from chalicelib.catalog.schemas import ProjectPatch
from chalicelib.catalog.secrets import same_data_key, stored_environments
from chalicelib.catalog.visibility import changed_meanwhile, load_project, member_of
from chalicelib.core.auth import User
from chalicelib.core.clock import Clock
from chalicelib.core.db import update_if
from chalicelib.core.errors import ValidationFailed

MERGE_TRIES = 3  # a PATCH or another import changed the project meanwhile: read it again


def merge_environment(user: User, project_id: str, name: str, variables: Mapping[str, Any],
                      secrets: Mapping[str, str], *, field: str, clock: Clock) -> None:
    """Environment `name` created, or its variables and secrets of these names replaced (a
    secret replacing a variable of its name and the other way round; the others kept).
    GetItem (project), then an UpdateItem conditional on membership and on the environments
    being as read (`environments_version`, which every write of them ADDs to), so two merges
    racing (or a merge and a PATCH) both land, one after the other. Anything the project's
    environments may not hold is a ValidationFailed naming `field`, before any write."""
    for _attempt in range(MERGE_TRIES):
        project = load_project(user, project_id)
        stored = dict(project.environments or {})
        current = stored.get(name) or {"base_url": "", "variables": {}}
        kept_secrets = set(current.get("secrets") or {})
        merged_variables = {k: v for k, v in (current.get("variables") or {}).items() if k not in secrets}
        merged_variables.update(variables)
        secret_changes: dict[str, str | None] = {k: None for k in variables if k in kept_secrets}
        secret_changes.update(secrets)
        sent = {env_name: {"base_url": env.get("base_url") or "", "variables": env.get("variables") or {}}
                for env_name, env in stored.items()}
        sent[name] = {"base_url": current.get("base_url") or "", "variables": merged_variables,
                      "secrets": secret_changes}
        environments = _checked(sent, field)
        documents, secrets_key = stored_environments(project.id, environments, project.environments,
                                                     project.secrets_key)
        actions = [Project.environments.set(documents), Project.environments_version.add(1),
                   Project.updated_at.set(clock())]
        if secrets_key != project.secrets_key:
            actions.append(Project.secrets_key.set(secrets_key))
        as_read = Project.environments_version.does_not_exist() if project.environments_version is None \
            else Project.environments_version == project.environments_version
        if update_if(project, actions, member_of(user) & as_read & same_data_key(project)):
            return
    raise changed_meanwhile("project")


def _checked(environments: dict[str, dict], field: str) -> dict:
    from pydantic import ValidationError

    try:
        patch = ProjectPatch.model_validate({"environments": environments})
    except ValidationError as error:
        from chalicelib.core.validation import fields_from

        problems = "; ".join(f"{path}: {message}" for path, message in fields_from(error).items())
        raise ValidationFailed({field: f"the project environment cannot take it ({problems})"}) from None
    assert patch.environments is not None  # noqa: S101 - validated from a dict that has it
    return patch.environments
