"""Durable state of the emulator: meetings and participants in SQLite.

One code path serves both modes: a file (``state=FILE``) or ``:memory:``.
Every call runs under one lock and every write is committed before the call
returns, so the HTTP layer can only acknowledge a write that is already on
disk: a restart or a ``kill -9`` between requests loses nothing.  WAL with
``synchronous=NORMAL`` survives the death of the process (what the tests
simulate); only an OS crash or power cut could drop the newest commits.

Records are stored whole as JSON; the few columns beside them exist only to
filter, order and enforce uniqueness in SQL.  Scopes are ``(account_id,
app_id)``: apps are implicit namespaces, so a meeting is invisible from any
other app.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

Record = dict[str, Any]
Scope = tuple[str, str]
Change = Callable[[Record], Record]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    title      TEXT,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    record     TEXT NOT NULL,
    UNIQUE (account_id, app_id, id)
);
CREATE TABLE IF NOT EXISTS participants (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id            TEXT NOT NULL,
    app_id                TEXT NOT NULL,
    meeting_id            TEXT NOT NULL,
    id                    TEXT NOT NULL,
    custom_participant_id TEXT NOT NULL,
    record                TEXT NOT NULL,
    UNIQUE (account_id, app_id, meeting_id, id),
    UNIQUE (account_id, app_id, meeting_id, custom_participant_id)
);
"""


class DuplicateParticipant(Exception):
    """The meeting already has a participant with this custom_participant_id."""


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _to_ms(moment: datetime) -> int:
    """Whole epoch milliseconds by integer arithmetic (float seconds * 1000 can round down)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def format_ms(ms: int) -> str:
    """Render epoch milliseconds the way the API does: ``2026-11-27T15:44:25.123Z``."""
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def format_instant(moment: datetime) -> str:
    """Render an aware datetime in the stored format, so filters compare as strings."""
    return format_ms(_to_ms(moment))


def _contains(haystack: str | None, needle: str) -> bool:
    """Case-insensitive substring test with Unicode case folding (SQLite's lower() is ASCII-only)."""
    return haystack is not None and needle.casefold() in haystack.casefold()


class Store:
    """Thread-safe meeting/participant storage with a strictly increasing clock."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            ":memory:" if path is None else os.fspath(path), check_same_thread=False, isolation_level=None
        )
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.create_function("contains", 2, _contains, deterministic=True)
        last = self._db.execute(
            "SELECT max(json_extract(record, '$.updated_at')) FROM "
            "(SELECT record FROM meetings UNION ALL SELECT record FROM participants)"
        ).fetchone()[0]
        self._last_ms = (
            0 if last is None else _to_ms(datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc))
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _stamp(self) -> str:
        """Now, but strictly after every stamp already issued, so updated_at always moves."""
        self._last_ms = max(time.time_ns() // 1_000_000, self._last_ms + 1)
        return format_ms(self._last_ms)

    # --- meetings ---------------------------------------------------------

    def insert_meeting(self, scope: Scope, record: Record) -> Record:
        with self._lock:
            record = {**record, "created_at": (now := self._stamp()), "updated_at": now}
            self._db.execute(
                "INSERT INTO meetings (account_id, app_id, id, title, status, created_at, record)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*scope, record["id"], record["title"], record["status"], now, json.dumps(record)),
            )
            return record

    def meeting(self, scope: Scope, meeting_id: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM meetings WHERE account_id = ? AND app_id = ? AND id = ?",
                (*scope, meeting_id),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def meetings(
        self,
        scope: Scope,
        *,
        search: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        offset: int = 0,
        limit: int = -1,
    ) -> tuple[list[Record], int]:
        """One page of a scope's meetings in creation order, plus the filtered total.

        Creation order (not newest first) keeps earlier pages stable while
        meetings are being created, so a paginating client never sees an item
        twice.
        """
        where = ["account_id = ?", "app_id = ?"]
        args: list[Any] = list(scope)
        if search is not None:
            where.append("(contains(id, ?) OR contains(title, ?))")
            args += [search, search]
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        if until is not None:
            where.append("created_at <= ?")
            args.append(until)
        condition = " AND ".join(where)
        with self._lock:
            total = self._db.execute(f"SELECT count(*) FROM meetings WHERE {condition}", args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT record FROM meetings WHERE {condition} ORDER BY seq LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [json.loads(r[0]) for r in rows], total

    def update_meeting(self, scope: Scope, meeting_id: str, change: Change) -> Record | None:
        """Apply ``change`` atomically (read-modify-write under the lock); None if absent."""
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM meetings WHERE account_id = ? AND app_id = ? AND id = ?",
                (*scope, meeting_id),
            ).fetchone()
            if row is None:
                return None
            record = {**change(json.loads(row[0])), "updated_at": self._stamp()}
            self._db.execute(
                "UPDATE meetings SET title = ?, status = ?, record = ? WHERE account_id = ? AND app_id = ? AND id = ?",
                (record["title"], record["status"], json.dumps(record), *scope, meeting_id),
            )
            return record

    # --- participants -----------------------------------------------------

    def insert_participant(self, scope: Scope, meeting_id: str, record: Record) -> Record:
        """Add a participant; raises DuplicateParticipant on a reused custom_participant_id."""
        with self._lock:
            record = {**record, "created_at": (now := self._stamp()), "updated_at": now}
            try:
                self._db.execute(
                    "INSERT INTO participants"
                    " (account_id, app_id, meeting_id, id, custom_participant_id, record)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (*scope, meeting_id, record["id"], record["custom_participant_id"], json.dumps(record)),
                )
            except sqlite3.IntegrityError:
                raise DuplicateParticipant(record["custom_participant_id"]) from None
            return record

    def participant(self, scope: Scope, meeting_id: str, participant_id: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM participants WHERE account_id = ? AND app_id = ? AND meeting_id = ? AND id = ?",
                (*scope, meeting_id, participant_id),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def participants(
        self, scope: Scope, meeting_id: str, *, offset: int = 0, limit: int = -1
    ) -> tuple[list[Record], int]:
        """One page of a meeting's participants in the order they were added, plus the total."""
        key = (*scope, meeting_id)
        condition = "account_id = ? AND app_id = ? AND meeting_id = ?"
        with self._lock:
            total = self._db.execute(f"SELECT count(*) FROM participants WHERE {condition}", key).fetchone()[0]
            rows = self._db.execute(
                f"SELECT record FROM participants WHERE {condition} ORDER BY seq LIMIT ? OFFSET ?",
                (*key, limit, offset),
            ).fetchall()
        return [json.loads(r[0]) for r in rows], total

    def update_participant(self, scope: Scope, meeting_id: str, participant_id: str, change: Change) -> Record | None:
        with self._lock:
            key = (*scope, meeting_id, participant_id)
            row = self._db.execute(
                "SELECT record FROM participants WHERE account_id = ? AND app_id = ? AND meeting_id = ? AND id = ?",
                key,
            ).fetchone()
            if row is None:
                return None
            record = {**change(json.loads(row[0])), "updated_at": self._stamp()}
            self._db.execute(
                "UPDATE participants SET record = ? WHERE account_id = ? AND app_id = ? AND meeting_id = ? AND id = ?",
                (json.dumps(record), *key),
            )
            return record

    def delete_participant(self, scope: Scope, meeting_id: str, participant_id: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "DELETE FROM participants"
                " WHERE account_id = ? AND app_id = ? AND meeting_id = ? AND id = ? RETURNING record",
                (*scope, meeting_id, participant_id),
            ).fetchone()
        return None if row is None else json.loads(row[0])
