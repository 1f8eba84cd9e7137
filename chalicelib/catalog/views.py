"""The answers' shapes: projects, members, modules and test cases as plain dicts (answers.py
declares them for the OpenAPI document)."""
from __future__ import annotations

from chalicelib.catalog.alert_channels import channels_view
from chalicelib.catalog.models import Membership, Module, Project, StoredTestcase
from chalicelib.catalog.secrets import environments_view
from chalicelib.core.clock import isoformat

OWNER = "owner"
MEMBER = "member"


def project_view(project: Project, user_id: str) -> dict:
    """A project as the caller sees it: their role, the counts, secrets by name only."""
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description or "",
        "owner_id": project.owner_id,
        "role": OWNER if project.owner_id == user_id else MEMBER,
        "member_count": len(project.member_ids or ()),
        "module_count": int(project.module_count or 0),
        "testcase_count": int(project.testcase_count or 0),
        "environments": environments_view(project.environments),
        "notify": project.notify,
        "callback_url": project.callback_url,
        "alerts": channels_view(project.alerts),
        "created_at": isoformat(project.created_at),
        "updated_at": isoformat(project.updated_at),
    }


def member_view(row: Membership) -> dict:
    return {"user_id": row.user_id, "username": row.username, "role": row.role,
            "added_at": isoformat(row.added_at)}


def module_view(module: Module) -> dict:
    return {
        "id": module.id,
        "project_id": module.project_id,
        "name": module.name,
        "description": module.description or "",
        "testcase_count": int(module.testcase_count or 0),
        "created_at": isoformat(module.created_at),
        "updated_at": isoformat(module.updated_at),
    }


def testcase_summary(testcase: StoredTestcase) -> dict:
    return {
        "id": testcase.id,
        "module_id": testcase.module_id,
        "project_id": testcase.project_id,
        "name": testcase.name,
        "step_count": int(testcase.step_count or 0),
        "size_bytes": int(testcase.size_bytes or 0),
        "created_at": isoformat(testcase.created_at),
        "updated_at": isoformat(testcase.updated_at),
    }


def testcase_view(testcase: StoredTestcase) -> dict:
    return {**testcase_summary(testcase), "testcase": testcase.document}
