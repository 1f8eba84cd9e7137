"""Environments' secrets (issue 20, item 5): write-only, sealed at rest, opened only to run.

Envelope encryption: a project's first secret makes it a data key with KMS (core/sealing.py);
the project keeps the key's KMS ciphertext (`secrets_key`) and each secret as an AES-GCM box
bound to "<project>/<environment>/<name>", so a box copied elsewhere does not open. Answers show
the names only. The runs worker (and the debug route, which runs inline) opens them, hands
them to the runner as variables and masks their values in everything the run produced
(core/masking.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.catalog.models import Project
from chalicelib.core import sealing

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition


def _context(project_id: str) -> dict[str, str]:
    return {"project_id": project_id}


def _bound(project_id: str, environment: str, name: str) -> bytes:
    return f"{project_id}/{environment}/{name}".encode()


def same_data_key(project: Project) -> Condition:
    """The condition a write of secrets sealed under the data key read holds under: it is still
    the project's (two first secrets at once would each make a key, and one's boxes would not open)."""
    if project.secrets_key is None:
        return Project.secrets_key.does_not_exist()
    return Project.secrets_key == project.secrets_key


def stored_environments(project_id: str, sent: Mapping[str, Any], before: Mapping[str, dict] | None,
                        secrets_key: str | None) -> tuple[dict[str, dict], str | None]:
    """(the environments as stored, the project's data key ciphertext). A secret sent sets it,
    `null` removes it, one not named is kept if its environment still exists."""
    before = before or {}
    key = None
    out: dict[str, dict] = {}
    for name, environment in sent.items():
        document = {"base_url": environment.base_url, "variables": environment.variables}
        boxes = {k: v for k, v in (before.get(name) or {}).get("secrets", {}).items()
                 if k not in environment.variables}
        for secret_name, value in environment.secrets.items():
            if value is None:
                boxes.pop(secret_name, None)
                continue
            if key is None:
                if secrets_key:
                    key = sealing.open_data_key(secrets_key, _context(project_id))
                else:
                    key, secrets_key = sealing.new_data_key(_context(project_id))
            boxes[secret_name] = sealing.seal(key, value, _bound(project_id, name, secret_name))
        if boxes:
            document["secrets"] = boxes
        out[name] = document
    return out, secrets_key


def environments_view(environments: Mapping[str, dict] | None) -> dict[str, dict]:
    """As answered: the secrets' names (the key left out when there are none: the older shape)."""
    out = {}
    for name, env in (environments or {}).items():
        out[name] = {"base_url": env.get("base_url", ""), "variables": env.get("variables", {})}
        if env.get("secrets"):
            out[name]["secrets"] = sorted(env["secrets"])
    return out


def opened(project_id: str, secrets_key: str | None, environment_name: str | None,
           environment: Mapping[str, Any]) -> dict[str, str]:
    """The environment's secrets in the clear: {name: value} (one KMS Decrypt; none without)."""
    boxes = environment.get("secrets") or {}
    if not boxes or not secrets_key or environment_name is None:
        return {}
    key = sealing.open_data_key(secrets_key, _context(project_id))
    return {name: sealing.unseal(key, box, _bound(project_id, environment_name, name))
            for name, box in boxes.items()}
