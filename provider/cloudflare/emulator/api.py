"""The RealtimeKit meetings operations, free of any HTTP plumbing.

``Api.handle(method, target, body)`` routes a request target (path plus
query, still percent-encoded) to an operation and returns a ``Reply``.  The
HTTP layer in ``server.py`` owns transport, authentication and faults; this
module owns what the service means: routes, defaults, PATCH-merge versus
PUT-replace, which fields a response shows and which secrets it never does.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from . import validation as rules
from .envelopes import rtk_error, success, v4_error
from .store import DuplicateParticipant, Record, Scope, Store, format_instant

BASE_PATH = "/client/v4"

# Values a meeting takes when a create/replace body leaves a field out (or
# sends null for one the SDK types as Optional).  ``status`` is not here: only
# PATCH can set it, so a replace keeps it.
MEETING_DEFAULTS: dict[str, Any] = {
    "title": None,
    "live_stream_on_start": False,
    "persist_chat": False,
    "record_on_start": False,
    "summarize_on_end": False,
    "transcribe_on_end": False,
    "session_keep_alive_time_in_secs": 60,
    "ai_config": None,
    "recording_config": None,
}
_MEETING_ORDER = ("id", "title", "status", "created_at", "updated_at", *(k for k in MEETING_DEFAULTS if k != "title"))
# The spec types these as non-nullable in responses, so "not set" is shown by
# leaving the key out rather than sending null.
_OMITTED_WHEN_NULL = ("title", "ai_config", "recording_config")
# Presets are not emulated as a resource; a stable id per (app, name) is
# enough for the delete response's ``preset_id``.
_PRESET_NAMESPACE = uuid.UUID("6f1c1d4e-2b0a-4c4e-9a57-3d1f0c2b7e10")


@dataclass(frozen=True)
class Reply:
    """What an operation answers: HTTP status, JSON body and any extra headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Target:
    """The decoded identifiers of a request path; apps are namespaces within accounts."""

    scope: Scope
    meeting_id: str = ""
    participant_id: str = ""


class _Failure(Exception):
    """An expected refusal, answered in RealtimeKit's error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Operation = Callable[["Api", Target, str, bytes], Reply]


def _match(path: str) -> tuple[str, Target] | None:
    """Map a raw path to (route name, target).

    Each segment is percent-decoded on its own, after splitting, so an id
    containing ``%2F`` stays one segment and ``..`` is just an id that does
    not exist, never a step to another path.
    """
    if not path.startswith(BASE_PATH + "/"):
        return None
    raw = path[len(BASE_PATH) + 1 :].split("/")
    if "" in raw or len(raw) < 6:
        return None
    seg = [unquote(s) for s in raw]
    if seg[0] != "accounts" or seg[2:4] != ["realtime", "kit"] or seg[5] != "meetings":
        return None
    scope, tail = (seg[1], seg[4]), seg[6:]
    if not tail:
        return "meetings", Target(scope)
    if len(tail) == 1:
        return "meeting", Target(scope, tail[0])
    if tail[1] != "participants" or len(tail) > 4 or (len(tail) == 4 and tail[3] != "token"):
        return None
    names = {2: "participants", 3: "participant", 4: "token"}
    return names[len(tail)], Target(scope, tail[0], tail[2] if len(tail) > 2 else "")


def meeting_view(record: Record) -> Record:
    """A meeting as responses show it: unset optional objects left out, storage secrets dropped."""
    view = {k: record[k] for k in _MEETING_ORDER if not (record[k] is None and k in _OMITTED_WHEN_NULL)}
    recording = view.get("recording_config")
    if recording and recording.get("storage_config"):
        storage = {k: v for k, v in recording["storage_config"].items() if k not in rules.SECRET_STORAGE_FIELDS}
        view["recording_config"] = {**recording, "storage_config": storage}
    return view


def participant_view(record: Record, *, with_token: bool) -> Record:
    """Only add, edit and refresh return the join token, as in the spec's response schemas."""
    return {k: v for k, v in record.items() if with_token or k != "token"}


def _paging(offset: int, count: int, total: int) -> dict[str, int]:
    """0-based inclusive offsets of the page's first and last item (end = start - 1 when empty)."""
    return {"total_count": total, "start_offset": offset, "end_offset": offset + count - 1}


def _configured(fields: Record) -> Record:
    return {k: default if fields.get(k) is None else fields[k] for k, default in MEETING_DEFAULTS.items()}


class Api:
    """Operations of the meetings API over a ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def handle(self, method: str, target: str, body: bytes) -> Reply:
        path, _, query = target.partition("?")
        matched = _match(path)
        if matched is None:
            return Reply(404, v4_error(7000, "No route for that URI"))
        route, ids = matched
        operation = _ROUTES[route].get(method)
        if operation is None:
            allowed = ", ".join(sorted(_ROUTES[route]))
            return Reply(405, v4_error(7001, "Method not allowed"), (("Allow", allowed),))
        try:
            return operation(self, ids, query, body)
        except rules.Invalid as exc:
            return Reply(400, rtk_error(400, str(exc)))
        except _Failure as exc:
            return Reply(exc.status, rtk_error(exc.status, str(exc)))

    # --- lookups ----------------------------------------------------------

    def _meeting(self, ids: Target) -> Record:
        record = self.store.meeting(ids.scope, ids.meeting_id)
        if record is None:
            raise _Failure(404, f"Meeting {ids.meeting_id!r} not found")
        return record

    def _participant(self, ids: Target) -> Record:
        self._meeting(ids)
        record = self.store.participant(ids.scope, ids.meeting_id, ids.participant_id)
        if record is None:
            raise _Failure(404, f"Participant {ids.participant_id!r} not found in this meeting")
        return record

    # --- meetings ---------------------------------------------------------

    def list_meetings(self, ids: Target, query: str, body: bytes) -> Reply:
        params = rules.parse_query(query, rules.MEETING_LIST_PARAMS)
        offset, limit = rules.paging(params)
        since, until = rules.timestamp(params, "start_time"), rules.timestamp(params, "end_time")
        records, total = self.store.meetings(
            ids.scope,
            search=params.get("search") or None,
            status=rules.status_filter(params),
            since=None if since is None else format_instant(since),
            until=None if until is None else format_instant(until),
            offset=offset,
            limit=limit,
        )
        return Reply(200, success([meeting_view(r) for r in records], _paging(offset, len(records), total)))

    def create_meeting(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        fields = rules.parse_body(body, rules.CREATE_MEETING)
        record = {"id": str(uuid.uuid4()), "status": "ACTIVE", **_configured(fields)}
        return Reply(201, success(meeting_view(self.store.insert_meeting(ids.scope, record))))

    def get_meeting(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ("name",))  # listed by the spec, has no effect
        return Reply(200, success(meeting_view(self._meeting(ids))))

    def update_meeting(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        fields = rules.parse_body(body, rules.UPDATE_MEETING)
        return self._change_meeting(ids, lambda old: {**old, **fields})

    def replace_meeting(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        fields = rules.parse_body(body, rules.REPLACE_MEETING)
        kept = ("id", "status", "created_at")
        return self._change_meeting(ids, lambda old: {**{k: old[k] for k in kept}, **_configured(fields)})

    def _change_meeting(self, ids: Target, change: Callable[[Record], Record]) -> Reply:
        record = self.store.update_meeting(ids.scope, ids.meeting_id, change)
        if record is None:
            raise _Failure(404, f"Meeting {ids.meeting_id!r} not found")
        return Reply(200, success(meeting_view(record)))

    # --- participants -----------------------------------------------------

    def list_participants(self, ids: Target, query: str, body: bytes) -> Reply:
        offset, limit = rules.paging(rules.parse_query(query, rules.PAGING_PARAMS))
        self._meeting(ids)
        records, total = self.store.participants(ids.scope, ids.meeting_id, offset=offset, limit=limit)
        views = [participant_view(r, with_token=False) for r in records]
        return Reply(200, success(views, _paging(offset, len(records), total)))

    def add_participant(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        fields = rules.parse_body(body, rules.ADD_PARTICIPANT)
        self._meeting(ids)
        record = {
            "id": str(uuid.uuid4()),
            "custom_participant_id": fields["custom_participant_id"],
            "preset_name": fields["preset_name"],
            "name": fields.get("name"),
            "picture": fields.get("picture"),
            "token": secrets.token_urlsafe(32),
        }
        try:
            record = self.store.insert_participant(ids.scope, ids.meeting_id, record)
        except DuplicateParticipant:
            raise _Failure(
                409, f"custom_participant_id {fields['custom_participant_id']!r} already exists in this meeting"
            ) from None
        return Reply(201, success(participant_view(record, with_token=True)))

    def get_participant(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        return Reply(200, success(participant_view(self._participant(ids), with_token=False)))

    def edit_participant(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        fields = rules.parse_body(body, rules.EDIT_PARTICIPANT)
        # A null preset_name means "keep": a participant always has a preset.
        if fields.get("preset_name", "") is None:
            del fields["preset_name"]
        record = self._change_participant(ids, lambda old: {**old, **fields})
        return Reply(200, success(participant_view(record, with_token=True)))

    def delete_participant(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        self._meeting(ids)
        record = self.store.delete_participant(ids.scope, ids.meeting_id, ids.participant_id)
        if record is None:
            raise _Failure(404, f"Participant {ids.participant_id!r} not found in this meeting")
        preset = uuid.uuid5(_PRESET_NAMESPACE, "\n".join((*ids.scope, record["preset_name"])))
        data = {
            "created_at": record["created_at"],
            "custom_participant_id": record["custom_participant_id"],
            "preset_id": str(preset),
            "updated_at": record["updated_at"],
        }
        return Reply(200, success(data))

    def refresh_token(self, ids: Target, query: str, body: bytes) -> Reply:
        rules.parse_query(query, ())
        rules.parse_body(body, rules.NO_BODY)
        token = secrets.token_urlsafe(32)
        self._change_participant(ids, lambda old: {**old, "token": token})
        return Reply(200, success({"token": token}))

    def _change_participant(self, ids: Target, change: Callable[[Record], Record]) -> Record:
        self._meeting(ids)
        record = self.store.update_participant(ids.scope, ids.meeting_id, ids.participant_id, change)
        if record is None:
            raise _Failure(404, f"Participant {ids.participant_id!r} not found in this meeting")
        return record


SERVED_SUMMARY = "RealtimeKit meetings and their participants (realtime_kit.meetings, kit_meetings, meetings_participants)"

_ROUTES: dict[str, dict[str, Operation]] = {
    "meetings": {"GET": Api.list_meetings, "POST": Api.create_meeting},
    "meeting": {"GET": Api.get_meeting, "PATCH": Api.update_meeting, "PUT": Api.replace_meeting},
    "participants": {"GET": Api.list_participants, "POST": Api.add_participant},
    "participant": {"GET": Api.get_participant, "PATCH": Api.edit_participant, "DELETE": Api.delete_participant},
    "token": {"POST": Api.refresh_token},
}

#: Each route's path under BASE_PATH, every id written ``{}`` (what ``_match`` takes apart).
_TEMPLATES = {
    "meetings": "/accounts/{}/realtime/kit/{}/meetings",
    "meeting": "/accounts/{}/realtime/kit/{}/meetings/{}",
    "participants": "/accounts/{}/realtime/kit/{}/meetings/{}/participants",
    "participant": "/accounts/{}/realtime/kit/{}/meetings/{}/participants/{}",
    "token": "/accounts/{}/realtime/kit/{}/meetings/{}/participants/{}/token",
}

#: What the emulator implements, as (HTTP method, path template), read off the routes themselves:
#: ``--sandbox`` refuses any other method up front, naming what it serves, instead of answering 404.
SERVED_ROUTES = frozenset((verb, _TEMPLATES[route]) for route, operations in _ROUTES.items() for verb in operations)
