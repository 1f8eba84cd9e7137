"""A project's files (API.md "Project files"): what testcases name in `upload` and
`${P(path)}`, uploaded by members, stored in the files bucket under the project, listed,
replaced and deleted; and the reader a run is handed (runner/files.py's FileSource).

Bytes first, metadata second: an upload writes a new object (a fresh key per upload), then
one transaction puts the metadata item (a new path also adds 1 to the project's
`file_count` under the limit; a replaced one must still point to the object it was read
with). A transaction that fails deletes the object it wrote; a replacement deletes the old
object once committed. So an item never points to bytes that are not there, and a crash
leaves at worst an object no item names.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

from chalicelib.catalog.access import load_project, member_of
from chalicelib.catalog.models import Project
from chalicelib.core.auth import User
from chalicelib.core.aws import get_client
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import Cancelled, Tx, get_or_none
from chalicelib.core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from chalicelib.core.settings import get_settings
from chalicelib.files.models import ProjectFile


def _not_found(path: str) -> NotFound:
    return NotFound(f"no file {path!r} in this project", code="file_not_found")


def checked_path(path: object) -> str:
    """The `path` query parameter, or a 400 naming it."""
    from chalicelib.runner.files import path_problem

    problem = path_problem(path)
    if problem:
        raise ValidationFailed({"path": problem})
    return str(path)


def file_view(item: ProjectFile) -> dict:
    return {"path": item.path, "size": int(item.size), "sha256": item.sha256,
            "updated_at": isoformat(item.updated_at)}


def _object_key(project_id: str) -> str:
    return f"projects/{project_id}/files/{uuid.uuid4().hex}"


def list_files(user: User, project_id: str) -> dict:
    """GET /projects/{id}/files: GetItem (project), one Query (at most the count limit of
    small items: one page)."""
    project = load_project(user, project_id)
    items = ProjectFile.query(project.id, consistent_read=True)
    return {"items": [file_view(item) for item in items]}


def put_file(user: User, project_id: str, path: object, data: bytes, *,
             clock: Clock) -> tuple[dict, bool]:
    """PUT /projects/{id}/files?path=: GetItem (project), GetItem (the file), S3 PutObject,
    one TransactWriteItems. (view, created)."""
    settings = get_settings()
    path = checked_path(path)
    project = load_project(user, project_id)
    if len(data) > settings.project_file_max_bytes:
        raise PayloadTooLarge(f"the file is {len(data)} bytes; at most {settings.project_file_max_bytes}",
                              code="file_too_large")
    old = get_or_none(ProjectFile, project.id, path, consistent_read=True)
    limit = settings.project_files_max
    if old is None and (project.file_count or 0) >= limit:
        raise _too_many(limit)
    item = ProjectFile(project.id, path, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                       object_key=_object_key(project.id), updated_at=clock())
    s3, bucket = get_client("s3"), settings.files_bucket
    s3.put_object(Bucket=bucket, Key=item.object_key, Body=data, ContentType="application/octet-stream")
    tx = Tx()
    if old is None:
        tx.put("file", item, ProjectFile.path.does_not_exist())
        tx.update("project", Project(project.id), [Project.file_count.add(1)],
                  member_of(user) & (Project.file_count.does_not_exist() | (Project.file_count < limit)))
    else:
        tx.put("file", item, ProjectFile.object_key == old.object_key)
        tx.check("project", Project, project.id, member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        s3.delete_object(Bucket=bucket, Key=item.object_key)
        if cancelled.failed("file"):
            raise Conflict(f"{path!r} changed meanwhile; send it again", code="file_changed") from None
        if cancelled.failed("project") and old is None:
            raise _too_many(limit) from None  # or the project went away: the next try says so
        raise
    if old is not None:
        s3.delete_object(Bucket=bucket, Key=old.object_key)
    return file_view(item), old is None


def _too_many(limit: int) -> Conflict:
    return Conflict(f"the project has {limit} files, the most it may have; delete one first",
                    code="too_many_files")


def get_file(user: User, project_id: str, path: object) -> tuple[bytes, dict]:
    """GET /projects/{id}/files?path=: GetItem (project), GetItem (the file), S3 GetObject."""
    path = checked_path(path)
    project = load_project(user, project_id)
    item = get_or_none(ProjectFile, project.id, path, consistent_read=True)
    if item is None:
        raise _not_found(path)
    answer = get_client("s3").get_object(Bucket=get_settings().files_bucket, Key=item.object_key)
    return answer["Body"].read(), file_view(item)


def delete_file(user: User, project_id: str, path: object) -> None:
    """DELETE /projects/{id}/files?path=: GetItem (project), GetItem (the file), one
    TransactWriteItems (the item, -1 on the project's count), S3 DeleteObject."""
    path = checked_path(path)
    project = load_project(user, project_id)
    item = get_or_none(ProjectFile, project.id, path, consistent_read=True)
    if item is None:
        raise _not_found(path)
    tx = Tx()
    tx.delete("file", ProjectFile(project.id, path), ProjectFile.object_key == item.object_key)
    tx.update("project", Project(project.id), [Project.file_count.add(-1)], member_of(user))
    try:
        tx.commit(retries=1)
    except Cancelled as cancelled:
        if cancelled.failed("file"):
            raise Conflict(f"{path!r} changed meanwhile; look again", code="file_changed") from None
        raise _not_found(path) from None
    get_client("s3").delete_object(Bucket=get_settings().files_bucket, Key=item.object_key)


def run_file_reader(project_id: str) -> Callable[[str], bytes]:
    """What a run reads files with: the project's file list on first use (one Query), then
    one S3 GetObject per distinct path (the runner reads each once), at most
    `run_files_max_bytes` in all."""
    from chalicelib.runner.files import FileMissing

    settings = get_settings()
    listed: dict[str, ProjectFile] | None = None
    budget = [settings.run_files_max_bytes]

    def read(path: str) -> bytes:
        nonlocal listed
        if listed is None:
            listed = {item.path: item for item in ProjectFile.query(project_id)}
        item = listed.get(path)
        if item is None:
            raise FileMissing(f"no file {path!r} in this project (PUT /projects/{{id}}/files?path={path})")
        if item.size > budget[0]:
            raise FileMissing(f"{path}: a run reads at most {settings.run_files_max_bytes} bytes of files")
        if not item.size:
            return b""
        # the size the item says, not what the object may have become: the budget holds
        answer = get_client("s3").get_object(Bucket=settings.files_bucket, Key=item.object_key,
                                             Range=f"bytes=0-{int(item.size) - 1}")
        data = answer["Body"].read()
        budget[0] -= len(data)
        return data

    return read


def purge_project_files(project_id: str) -> int:
    """The catalog cleanup's part for a deleted project: every file, bytes before item, so
    a job stopped half-way is picked up again by the next delivery. How many it removed."""
    s3, bucket = get_client("s3"), get_settings().files_bucket
    removed = 0
    for item in ProjectFile.query(project_id, consistent_read=True):
        s3.delete_object(Bucket=bucket, Key=item.object_key)
        item.delete()
        removed += 1
    return removed
