"""API keys for pipelines (API.md "API keys"): made by a project member for that project,
`hat_` + 32 random bytes shown once, SHA-256 at rest, scoped (scopes.py), optionally
expiring, revoked at once, rate-limited per key.

A request with `Authorization: Bearer hat_...` costs one UpdateItem on the key's item, which
is at once the lookup (ALL_NEW: project, scopes, the creator's user snapshot), the use
(`last_used_at`), and the rate count (ADD on `w<window>`, the current fixed window's
counter, with the previous windows' counters removed in the same write): no GetItem on top,
so every route keeps the call count it has with a session. An unknown, revoked or expired
key fails the update's condition: one call, nothing written. Counters of windows long past
(a key idle for more than `_REMOVED_WINDOWS` windows) are left behind; once more than
`_STALE_LIMIT` of them pile up, one more UpdateItem removes them (rare: after that many
idle spells).

The request then acts as the key's creator, bound to the key's project: catalog's
`visible_to` answers 404 for every other project, and 401 once the creator is no longer a
member of the key's own (so a removed member's keys stop working at once).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.catalog.access import load_project
from chalicelib.core.auth import User
from chalicelib.core.aws import get_client
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import condition_failed, get_or_none
from chalicelib.core.errors import Forbidden, NotFound, TooManyRequests, Unauthorized, ValidationFailed
from chalicelib.core.ids import is_id
from chalicelib.core.settings import get_settings
from chalicelib.keys.models import HASH_PREFIX, ID_PREFIX, ApiKey
from chalicelib.keys.scopes import ANY, scope_for

if TYPE_CHECKING:
    from chalicelib.keys.schemas import KeyCreate

KEY_PREFIX = "hat_"
KEY_BYTES = 32
# token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
_KEY_SHAPE = re.compile(r"hat_[A-Za-z0-9_-]{43}")
_REMOVED_WINDOWS = 5  # each use removes the counters of this many windows before the current one
_STALE_LIMIT = 8
MAX_EXPIRY_DAYS = 366 * 2


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _not_found() -> NotFound:
    return NotFound("key not found", code="key_not_found")


def key_view(item: ApiKey, *, owner_is_member: bool | None = None, clock: Clock) -> dict:
    view = {"id": item.id, "project_id": item.project_id, "name": item.name,
            "scopes": sorted(item.scopes or ()), "created_by": item.created_by,
            "created_at": isoformat(item.created_at),
            "expires_at": isoformat(item.expires_at) if item.expires_at else None,
            "last_used_at": isoformat(item.last_used_at) if item.last_used_at else None,
            "expired": bool(item.expires_at and item.expires_at <= clock())}
    if owner_is_member is not None:
        view["owner_is_member"] = owner_is_member
    return view


# --- the routes ------------------------------------------------------------------------------------

def create_key(user: User, project_id: str, body: KeyCreate, *, clock: Clock) -> dict:
    """POST /projects/{id}/keys (members): GetItem (project), one TransactWriteItems (the key's
    hash item and its id pointer). The key is in this answer only."""
    from chalicelib.catalog.models import ACTIVE, Project
    from chalicelib.core.db import Cancelled, Tx

    project = load_project(user, project_id)
    now = clock()
    expires_at = body.expires_at
    if expires_at is not None:
        if expires_at <= now:
            raise ValidationFailed({"expires_at": "must be in the future"})
        if expires_at > now + timedelta(days=MAX_EXPIRY_DAYS):
            raise ValidationFailed({"expires_at": f"at most {MAX_EXPIRY_DAYS} days ahead"})
    key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    key_id = secrets.token_hex(16)
    ttl = {"expires_ttl": expires_at} if expires_at else {}
    item = ApiKey(HASH_PREFIX + hash_key(key), id=key_id, project_id=project.id, name=body.name,
                  scopes=set(body.scopes), created_by=user["id"], user=_snapshot(user), created_at=now,
                  expires_at=expires_at, sort_key=f"{now.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z#{key_id}", **ttl)
    pointer = ApiKey(ID_PREFIX + key_id, id=key_id, project_id=project.id, key_hash=item.key, **ttl)
    try:
        (Tx().check("project", Project, project.id,
                    (Project.status == ACTIVE) & Project.member_ids.contains(user["id"]))
             .put("key", item, ApiKey.key.does_not_exist())
             .put("pointer", pointer, ApiKey.key.does_not_exist())
             .commit())
    except Cancelled as cancelled:
        if cancelled.failed("project"):  # deleted, or the member removed, meanwhile
            raise NotFound("project not found", code="not_found") from None
        raise
    return {**key_view(item, clock=clock), "key": key}


def _snapshot(user: Mapping[str, Any]) -> dict:
    """The public user a key acts as (never what a key added to it)."""
    return {name: value for name, value in user.items() if name != "api_key"}


def list_keys(user: User, project_id: str, limit: int, start: dict | None, *, clock: Clock) -> dict:
    """GET /projects/{id}/keys: GetItem (project), one Query of the by-project index, newest first."""
    from chalicelib.catalog.access import checked_start_key, query_page, string_key
    from chalicelib.core.pagination import page

    project = load_project(user, project_id)
    start = checked_start_key(start, names=("key", "project_id", "sort_key"),
                              partition={"project_id": project.id})
    items, next_key = query_page(
        lambda **kw: ApiKey.by_project.query(project.id, scan_index_forward=False, **kw), ApiKey,
        limit=limit, start_key=start,
        key_of=lambda k: string_key(key=k.key, project_id=k.project_id, sort_key=k.sort_key))
    members = project.member_ids or set()
    return page([key_view(k, owner_is_member=k.created_by in members, clock=clock) for k in items], next_key)


def revoke_key(user: User, project_id: str, key_id: str) -> None:
    """DELETE /projects/{id}/keys/{key_id} (members): GetItem (project), GetItem (the id
    pointer), one TransactWriteItems deleting both items: the next request with it is a 401."""
    from chalicelib.core.db import Cancelled, Tx

    project = load_project(user, project_id)
    if not is_id(key_id):
        raise _not_found()
    pointer = get_or_none(ApiKey, ID_PREFIX + key_id, consistent_read=True)
    if pointer is None or pointer.project_id != project.id:
        raise _not_found()
    try:
        (Tx().delete("key", ApiKey(pointer.key_hash), ApiKey.key.exists())
             .delete("pointer", pointer, ApiKey.key.exists())
             .commit())
    except Cancelled:
        raise _not_found() from None  # revoked meanwhile


def revoke_keys_of(user_id: str) -> int:
    """Revoke every key the user made (an account being disabled); returns how many. One Query
    of the by-user index (eventually consistent: a key made the same second may be missed),
    then one BatchWriteItem per 12 keys (the hash item and the pointer of each)."""
    rows = list(ApiKey.by_user.query(user_id))
    with ApiKey.batch_write() as batch:
        for row in rows:
            batch.delete(ApiKey(row.key))
            batch.delete(ApiKey(ID_PREFIX + row.id))
    return len(rows)


def current_key(user: User) -> dict:
    """GET /keys/current (a key only): which key this is and its project. GetItem (project)."""
    key = user.get("api_key")
    if key is None:
        raise NotFound("this route answers for API keys only", code="not_an_api_key")
    project = load_project(user, key["project_id"])
    return {"id": key["id"], "name": key["name"], "scopes": key["scopes"],
            "project": {"id": project.id, "name": project.name}, "user": _snapshot(user)}


# --- authentication (the middleware's resolver for hat_ tokens) --------------------------------------

def _window(now: datetime) -> tuple[int, int]:
    """(current window number, seconds until it ends)."""
    length = max(1, get_settings().api_key_rate_window_seconds)
    epoch = int(now.timestamp())
    return epoch // length, length - epoch % length


def _use(key_hash: str, now: datetime) -> dict | None:
    """One UpdateItem: count the use in the current window, stamp last_used_at, drop the
    previous windows' counters; the key's raw item after it, or None (unknown, revoked, expired)."""
    from botocore.exceptions import ClientError

    client = get_client("dynamodb")
    window, _left = _window(now)
    names = {"#k": "key", "#cur": f"w{window}"}
    names.update({f"#p{n}": f"w{window - n}" for n in range(1, _REMOVED_WINDOWS + 1)})
    try:
        answer = client.update_item(
            TableName=ApiKey.Meta.table_name, Key={"key": {"S": HASH_PREFIX + key_hash}},
            UpdateExpression="SET last_used_at = :now ADD #cur :one REMOVE "
                             + ", ".join(f"#p{n}" for n in range(1, _REMOVED_WINDOWS + 1)),
            ConditionExpression="attribute_exists(#k) AND "
                                "(attribute_not_exists(expires_ttl) OR expires_ttl > :epoch)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":now": {"S": ApiKey.last_used_at.serialize(now)}, ":one": {"N": "1"},
                                       ":epoch": {"N": str(int(now.timestamp()))}},
            ReturnValues="ALL_NEW")
    except ClientError as error:
        if not condition_failed(error):
            raise
        return None
    item = answer["Attributes"]
    stale = [name for name in item if name.startswith("w") and name[1:].isdigit() and name != f"w{window}"]
    if len(stale) > _STALE_LIMIT:
        client.update_item(TableName=ApiKey.Meta.table_name, Key={"key": {"S": HASH_PREFIX + key_hash}},
                           UpdateExpression="REMOVE " + ", ".join(f"#s{i}" for i in range(len(stale))),
                           ExpressionAttributeNames={f"#s{i}": name for i, name in enumerate(stale)})
    return item


def authenticate(token: str, method: str, route: str, uri_params: Mapping[str, str] | None, *,
                 clock: Clock) -> dict:
    """The user a `hat_` key acts as on this route, with `api_key` {id, name, project_id,
    scopes}; else a 401 (bad, revoked, expired, or a route keys never use), 403 (scope
    missing), 404 (another project's route) or 429 (over the key's rate)."""
    if not _KEY_SHAPE.fullmatch(token):
        raise Unauthorized("not an API key hat issued", code="bad_key")
    needed = scope_for(method, route)
    if needed is None:
        raise Unauthorized("API keys cannot be used on this route; sign in", code="key_not_allowed")
    now = clock()
    raw = _use(hash_key(token), now)
    if raw is None:
        raise Unauthorized("missing, expired or revoked key", code="bad_key")
    item = ApiKey.from_raw_data(raw)
    window, left = _window(now)
    limit = get_settings().api_key_rate_limit
    if int(raw.get(f"w{window}", {}).get("N", "0")) > limit:
        raise TooManyRequests(f"over this key's {limit} requests per "
                              f"{get_settings().api_key_rate_window_seconds} s", retry_after_seconds=left,
                              code="key_rate_limited")
    scopes = sorted(item.scopes or ())
    if needed != ANY and needed not in scopes:
        raise Forbidden(f"this key lacks the {needed!r} scope (it has: {', '.join(scopes)})",
                        code="insufficient_scope")
    bound = (uri_params or {}).get("project_id")
    if bound is not None and bound != item.project_id:
        raise NotFound("project not found", code="project_not_found")  # exactly what a stranger gets
    return {**(item.user or {}), "api_key": {"id": item.id, "name": item.name, "project_id": item.project_id,
                                              "scopes": scopes}}
