"""Who may receive a project's alerts: its members, and outside addresses that said yes.

No open relay. A run's, task's or project's `notify` may name
- `users`: members by username, who get the email of their account (removal ends it);
- `emails` / `mobiles`: an address that is a current member's account contact counts as
  that member; any other is an outside address, asked once to confirm (a link) and sent
  nothing else until it does. Every email carries an unsubscribe link (and the
  List-Unsubscribe headers of RFC 8058); an unsubscribed address is never asked again.
An outside address belongs to the member who named it (`owner_id`): when that member
leaves the project it gets nothing, until a current member names it again (adopting it).

The routes that take `notify` make no DynamoDB call for this (several are at their
budget): they queue one `confirm_recipients` job (`request_confirmations`), and the job
sorts members from outsiders and asks each new outsider once (`ask_to_confirm`), within a
daily number per project and per address. Delivery (`resolve`, `take_daily_messages`) is
decided by the runs worker when a report finishes.

Links carry a token, `<project id>.<recipient id>.<HMAC>`, bound to its action (a
confirmation token cannot unsubscribe, nor the reverse): no account is needed to use
them, and they reveal no address.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core.auth import User
from chalicelib.core.clock import Clock, isoformat
from chalicelib.core.db import condition_failed
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.settings import get_settings
from chalicelib.notify.models import CONFIRMED, PENDING, REVOKED, Recipient

logger = logging.getLogger("hat.notify.recipients")

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
CONFIRM_PATH = "/hooks/recipients/confirm"
UNSUBSCRIBE_PATH = "/hooks/recipients/unsubscribe"
ADDRESS_COUNTERS = "#address"  # the partition of every address's daily request count
COUNTER_DAYS = 2  # counters outlive their UTC day by this much (TTL)
_TOKEN = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}\.[0-9a-f]{32}")
TOKEN_CHARS = 98

# Why a named recipient got nothing (the report's `notifications[].outcome`).
QUEUED = "queued"
NOT_A_MEMBER = "not_a_member"
NOT_CONFIRMED = "not_confirmed"
PENDING_CONFIRMATION = "pending_confirmation"
UNSUBSCRIBED = "unsubscribed"
OWNER_LEFT = "owner_left"
DAILY_LIMIT = "daily_limit"


def outcome_reason(outcome: str) -> str:
    """Why a named recipient got nothing, in words (shown on the report)."""
    if outcome == DAILY_LIMIT:
        return (f"the project's daily limit of {get_settings().notify_daily_limit} messages was reached "
                "(it starts again at 00:00 UTC)")
    return {
        NOT_A_MEMBER: "not a member of the project (members are named by username)",
        NOT_CONFIRMED: "an outside address that has not confirmed it wants this project's alerts",
        PENDING_CONFIRMATION: "asked to confirm; nothing is sent until it does",
        UNSUBSCRIBED: "unsubscribed from this project's alerts",
        OWNER_LEFT: "the member who named this address left the project; a current member can name it again",
    }.get(outcome, outcome)


def recipient_id(channel: str, address: str) -> str:
    return hashlib.sha256(f"{channel}:{address}".encode()).hexdigest()[:32]


def _signature(action: str, project_id: str, rid: str) -> str:
    key = get_settings().secret_key.encode()
    message = f"recipient:{action}:{project_id}:{rid}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def make_token(action: str, project_id: str, rid: str) -> str:
    return f"{project_id}.{rid}.{_signature(action, project_id, rid)}"


def read_token(action: str, value: Any) -> tuple[str, str]:
    """(project id, recipient id) of a valid token for `action`; else a 400 naming `token`.
    Length first, then a fixed-shape pattern, then a constant-time compare."""
    if not isinstance(value, str) or len(value) != TOKEN_CHARS or not _TOKEN.fullmatch(value):
        raise ValidationFailed({"token": "not a link this service sent"})
    project_id, rid, signature = value.split(".")
    if not hmac.compare_digest(signature, _signature(action, project_id, rid)):
        raise ValidationFailed({"token": "not a link this service sent"})
    return project_id, rid


def link(action: str, project_id: str, rid: str) -> str | None:
    """The public URL of a confirm/unsubscribe link; None without HAT_PUBLIC_URL."""
    base = get_settings().public_url.rstrip("/")
    if not base:
        return None
    path = CONFIRM_PATH if action == CONFIRM else UNSUBSCRIBE_PATH
    return f"{base}{path}?token={make_token(action, project_id, rid)}"


def unsubscribe_headers(url: str | None) -> dict[str, str]:
    """RFC 2369 / RFC 8058 one-click unsubscribe (mail clients show a button and POST it)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"} \
        if url else {}


def _day(now: datetime) -> str:
    return now.strftime("%Y-%m-%d")


def _counter_expiry(now: datetime) -> datetime:
    return now + timedelta(days=COUNTER_DAYS)


def _wanted(notify: Mapping | None) -> list[tuple[str, str]]:
    notify = notify or {}
    return ([("email", a) for a in notify.get("emails") or []]
            + [("sms", m) for m in notify.get("mobiles") or []])


def _account_key(channel: str, address: str) -> str:
    return f"{'email' if channel == 'email' else 'mobile'}#{address}"


# --- the routes' side: no DynamoDB call -----------------------------------------------------------

def request_confirmations(project_id: str, notify: Mapping | None, requested_by: str | None,
                          alerts: list[Mapping] | None = None) -> None:
    """After a route stored or used `notify` (or email/SMS alert channels): one job asks their
    new outside addresses to confirm (members' own contacts need no consent). `requested_by`:
    the member (None for a signed webhook: the project's owner stands for it)."""
    wanted = _wanted(notify) + [("email" if c["type"] == "email" else "sms", c["target"])
                                for c in alerts or [] if c["type"] in ("email", "sms")]
    if not wanted:
        return
    from chalicelib.core.jobs import enqueue

    enqueue("email", {"kind": "confirm_recipients", "project_id": project_id,
                      "emails": [a for c, a in wanted if c == "email"],
                      "mobiles": [a for c, a in wanted if c == "sms"],
                      "requested_by": requested_by, "job_id": f"confirm-{uuid.uuid4().hex}"})


# --- lookups -------------------------------------------------------------------------------------

def _recipient_key(project_id: str, rid: str) -> tuple[str, dict]:
    return Recipient.Meta.table_name, {"project_id": {"S": project_id}, "recipient": {"S": rid}}


def _lookup(project_id: str, account_keys: list[str], rids: list[str], extra: Iterable[tuple] = ()):
    """One BatchGetItem: the project, account keys, the project's recipient records (and
    `extra` (model, hash key) items). Returns (project, {account key: user id},
    {rid: Recipient}, [extra items])."""
    from chalicelib.accounts.models import AccountKey
    from chalicelib.catalog.models import Project
    from chalicelib.core.db import batch_get_items

    extra = list(extra)
    keys = [(Project.Meta.table_name, {"id": {"S": project_id}})]
    keys += [(AccountKey.Meta.table_name, {"key": {"S": key}}) for key in account_keys]
    keys += [_recipient_key(project_id, rid) for rid in rids]
    keys += [(model.Meta.table_name, {model._hash_keyname: {"S": key}}) for model, key in extra]
    raw = batch_get_items(keys)
    project = Project.from_raw_data(raw[0]) if raw[0] else None
    at = 1
    owners = {key: item["user_id"]["S"] for key, item in zip(account_keys, raw[at:at + len(account_keys)],
                                                              strict=True) if item}
    at += len(account_keys)
    records = {rid: Recipient.from_raw_data(item)
               for rid, item in zip(rids, raw[at:at + len(rids)], strict=True) if item}
    at += len(rids)
    extras = [model.from_raw_data(item) if item else None
              for (model, _key), item in zip(extra, raw[at:], strict=True)]
    return project, owners, records, extras


def _live(project: Any) -> bool:
    from chalicelib.catalog.models import ACTIVE

    return project is not None and project.status == ACTIVE


def _pending_live(record: Recipient, now: datetime) -> bool:
    return record.state == PENDING and record.expires_at is not None and record.expires_at > now


# --- the job: ask new outside addresses, once ---------------------------------------------------

def _take(partition: str, counter: str, limit: int, now: datetime) -> bool:
    """One more under a daily limit (an atomic conditional ADD); False when it is reached."""
    from pynamodb.exceptions import UpdateError

    try:
        Recipient(partition, counter).update(
            actions=[Recipient.count.add(1), Recipient.expires_at.set(_counter_expiry(now))],
            condition=Recipient.count.does_not_exist() | (Recipient.count < limit))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def ask_to_confirm(payload: Mapping, *, clock: Clock) -> int:
    """The `confirm_recipients` job: each outside address that has no live request, no
    consent and no refusal gets one confirmation request. Returns how many were sent."""
    from pynamodb.exceptions import PutError

    settings = get_settings()
    project_id = str(payload["project_id"])
    wanted = _wanted(payload)
    project, owners, records, _ = _lookup(project_id, [_account_key(c, a) for c, a in wanted],
                                          [recipient_id(c, a) for c, a in wanted])
    if not _live(project):
        return 0
    members = project.member_ids or set()
    requester = payload.get("requested_by") or project.owner_id
    if requester not in members:
        return 0  # left the project meanwhile: their request counts for nothing
    if not settings.public_url:
        logger.warning("project %s: cannot ask recipients to confirm without HAT_PUBLIC_URL", project_id)
        return 0
    now, asked = clock(), 0
    for channel, address in wanted:
        rid = recipient_id(channel, address)
        record = records.get(rid)
        if owners.get(_account_key(channel, address)) in members:
            continue  # a member's own contact
        if record is not None and (record.state == REVOKED or _pending_live(record, now)):
            continue
        if record is not None and record.state == CONFIRMED:
            if record.owner_id not in members:
                _adopt(record, requester)
            continue
        day = _day(now)
        if not _take(project_id, f"#confirmations#{day}", settings.confirmations_per_project_daily, now):
            logger.warning("project %s: daily limit of confirmation requests reached", project_id)
            break
        if not _take(ADDRESS_COUNTERS, f"{rid}#{day}", settings.confirmations_per_address_daily, now):
            continue
        fresh = Recipient(project_id, rid, channel=channel, address=address, state=PENDING,
                          owner_id=requester, requested_at=now,
                          expires_at=now + timedelta(seconds=settings.confirmation_expires_after_seconds))
        try:
            fresh.save(condition=Recipient.recipient.does_not_exist()
                       | ((Recipient.state == PENDING) & (Recipient.expires_at < now)))
        except PutError as error:
            if not condition_failed(error):
                raise
            continue  # asked by a job racing this one
        _send_request(project_id, rid, channel, address, now)
        asked += 1
    return asked


def _adopt(record: Recipient, member_id: str) -> None:
    """A current member names a confirmed address whose owner left: it is theirs now."""
    from pynamodb.exceptions import UpdateError

    try:
        record.update(actions=[Recipient.owner_id.set(member_id)], condition=Recipient.state == CONFIRMED)
    except UpdateError as error:
        if not condition_failed(error):
            raise


CONFIRM_SUBJECT = "[hat] Do you want test alerts at this address?"


def confirmation_message(channel: str, confirm_url: str, unsubscribe_url: str) -> dict:
    """The request itself goes to an address nobody vouched for, so it carries no text a
    user chose (no project, task or user name): only our fixed words and the links."""
    if channel == "sms":
        return {"body": f"hat: someone asked to text you test alerts. Yes: {confirm_url} "
                        "(ignore this to decline)"}
    body = ("Someone using hat, a service that tests HTTP APIs, asked to send the alerts of one of "
            "their projects to this address.\n\n"
            f"To receive them, confirm here:\n{confirm_url}\n\n"
            "If you did not expect this, ignore it: nothing more is sent to you about this project. "
            f"To refuse for good:\n{unsubscribe_url}\n")
    return {"subject": CONFIRM_SUBJECT, "body": body, "headers": unsubscribe_headers(unsubscribe_url)}


def _send_request(project_id: str, rid: str, channel: str, address: str, now: datetime) -> None:
    from chalicelib.core.jobs import enqueue

    message = confirmation_message(channel, link(CONFIRM, project_id, rid),
                                   link(UNSUBSCRIBE, project_id, rid))
    enqueue(channel, {"kind": "message", "to": address, **message,
                      "job_id": f"confirm-{project_id}-{rid}-{int(now.timestamp())}"})


# --- delivery: who gets a finished report --------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One message to send: where, as the report shows it (masked, or a member's username),
    and the recipient's own unsubscribe link."""

    channel: str
    address: str
    shown: str
    rid: str
    unsubscribe_url: str | None


def _outcome(channel: str, to: str, outcome: str) -> dict:
    return {"channel": channel, "to": to, "outcome": outcome}


def resolve(project_id: str, notify: Mapping | None, *,
            clock: Clock) -> tuple[list[Target], list[dict]]:
    """The messages a report may send under `notify`, and an outcome per recipient that gets
    nothing (masked address or username, and why). Up to three BatchGetItems (the worker's,
    not a route's): project + account keys + records; the members' users; their records."""
    from chalicelib.accounts.models import User as Account
    from chalicelib.notify.service import mask

    notify = notify or {}
    wanted = _wanted(notify)
    usernames = list(notify.get("users") or [])
    account_keys = [_account_key(c, a) for c, a in wanted] + [f"username#{u.lower()}" for u in usernames]
    project, owners, records, _ = _lookup(project_id, account_keys, [recipient_id(c, a) for c, a in wanted])
    if not _live(project):
        return [], []
    members, now = project.member_ids or set(), clock()
    targets: dict[str, Target] = {}
    skipped: list[dict] = []

    def consider(channel: str, address: str, member: bool, shown: str) -> None:
        rid = recipient_id(channel, address)
        record = records.get(rid)
        if rid in targets:
            return
        if record is not None and record.state == REVOKED:
            skipped.append(_outcome(channel, shown, UNSUBSCRIBED))
        elif member or (record is not None and record.state == CONFIRMED and record.owner_id in members):
            targets[rid] = Target(channel, address, shown, rid, link(UNSUBSCRIBE, project_id, rid))
        elif record is not None and record.state == CONFIRMED:
            skipped.append(_outcome(channel, shown, OWNER_LEFT))
        elif record is not None and _pending_live(record, now):
            skipped.append(_outcome(channel, shown, PENDING_CONFIRMATION))
        else:
            skipped.append(_outcome(channel, shown, NOT_CONFIRMED))

    for channel, address in wanted:
        consider(channel, address, owners.get(_account_key(channel, address)) in members, mask(address))
    named = [(u, owners.get(f"username#{u.lower()}")) for u in usernames]
    for username, user_id in named:
        if user_id not in members:
            skipped.append(_outcome("email", username, NOT_A_MEMBER))
    member_ids = [user_id for _u, user_id in named if user_id in members]
    if member_ids:
        from chalicelib.core.db import get_many

        users = [u for u in get_many([(Account, i) for i in member_ids]) if u is not None and not u.disabled]
        fresh = [rid for rid in (recipient_id("email", u.email) for u in users) if rid not in records]
        if fresh:
            _p, _o, more, _ = _lookup(project_id, [], fresh)
            records.update(more)
        for user in users:
            consider("email", user.email, True, user.username)
    return list(targets.values()), skipped


def take_daily_messages(project_id: str, wanted: int, *, clock: Clock) -> int:
    """How many of `wanted` messages the project may still send today (UTC): one atomic ADD
    on its day's counter; what is over the limit is not sent."""
    if wanted <= 0:
        return 0
    now = clock()
    counter = Recipient(project_id, f"#messages#{_day(now)}")
    counter.update(actions=[Recipient.count.add(wanted), Recipient.expires_at.set(_counter_expiry(now))])
    before = int(counter.count or 0) - wanted
    return max(0, min(wanted, get_settings().notify_daily_limit - before))


# --- the links' routes (no account: the token is the authority) ----------------------------------

def link_target(action: str, token: Any) -> dict:
    """What a link is about, for its page: the project's name and the masked address.
    One BatchGetItem (record and project)."""
    from chalicelib.notify.service import mask

    project_id, rid = read_token(action, token)
    project, _owners, records, _ = _lookup(project_id, [], [rid])
    if not _live(project):
        raise NotFound("this project no longer exists", code="project_not_found")
    record = records.get(rid)
    return {"project": project.name, "address": mask(record.address) if record and record.address else None,
            "state": record.state if record else None}


def confirm(token: Any, *, clock: Clock) -> None:
    """The recipient says yes: a live request (or an earlier unsubscribe) becomes consent.
    One UpdateItem."""
    from pynamodb.exceptions import UpdateError

    project_id, rid = read_token(CONFIRM, token)
    now = clock()
    try:
        Recipient(project_id, rid).update(
            actions=[Recipient.state.set(CONFIRMED), Recipient.confirmed_at.set(now),
                     Recipient.expires_at.remove()],
            condition=(Recipient.state == REVOKED) | (Recipient.state == CONFIRMED)
            | ((Recipient.state == PENDING) & (Recipient.expires_at > now)))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        raise NotFound("this confirmation link has expired; ask the project to name the address again",
                       code="link_expired") from None


def unsubscribe(token: Any, *, clock: Clock) -> None:
    """The recipient says no, for good (a member's own address too): one UpdateItem."""
    project_id, rid = read_token(UNSUBSCRIBE, token)
    Recipient(project_id, rid).update(actions=[
        Recipient.state.set(REVOKED), Recipient.revoked_at.set(clock()), Recipient.expires_at.remove()])


# --- a project's recipients, for its members ------------------------------------------------------

def recipient_view(record: Recipient, members: set[str], now: datetime) -> dict:
    state = record.state
    if state == PENDING and not _pending_live(record, now):
        state = "expired"
    return {"channel": record.channel, "address": record.address, "state": state,
            "owner_id": record.owner_id, "owner_is_member": record.owner_id in members,
            "requested_at": isoformat(record.requested_at) if record.requested_at else None,
            "confirmed_at": isoformat(record.confirmed_at) if record.confirmed_at else None,
            "revoked_at": isoformat(record.revoked_at) if record.revoked_at else None}


def list_recipients(user: User, project_id: str, limit: int, start: dict | None, *,
                    clock: Clock) -> dict:
    """GET /projects/{id}/recipients: GetItem (project), one Query of its records (counters,
    whose keys start with "#", sort before the first hex digit and are left out)."""
    from chalicelib.catalog.access import checked_start_key, load_project, query_page, string_key
    from chalicelib.core.pagination import page

    project = load_project(user, project_id)
    start = checked_start_key(start, names=("project_id", "recipient"), partition={"project_id": project.id})
    records, next_key = query_page(
        lambda **kw: Recipient.query(project.id, Recipient.recipient >= "0", **kw),
        Recipient, limit=limit, start_key=start,
        key_of=lambda r: string_key(project_id=r.project_id, recipient=r.recipient))
    now, members = clock(), project.member_ids or set()
    return page([recipient_view(r, members, now) for r in records], next_key)
