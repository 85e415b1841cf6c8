"""SELECT against the emulator over loopback: method choice, API filters, local SQL, pagination, DESCRIBE.

Two read-only data sets (45 meetings; a meeting with 25 participants) live in
their own random app; tests that write use a fresh app of their own.
"""

from __future__ import annotations

import contextlib
import json
import typing as t
import uuid
from dataclasses import dataclass

import pytest

from cfql import connect
from cfql.cli.main import main
from cfql.connection import Connection
from cfql.errors import APIError, DataError, NotSupportedError, ProgrammingError, ResolutionError, UnboundParameterError
from cfql.plan import select
from cfql.plan.select import PaginationCapWarning, SelectPlan
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator

MEETINGS = "cloudflare.realtime_kit.meetings"
KIT = "cloudflare.realtime_kit.kit_meetings"
PARTICIPANTS = "cloudflare.realtime_kit.meetings_participants"
N_MEETINGS = 45
N_PARTICIPANTS = 25


def new_app() -> tuple[str, str]:
    return "acct-" + uuid.uuid4().hex[:8], "app-" + uuid.uuid4().hex[:8]


def title_of(i: int) -> str | None:
    if i % 9 == 0:
        return None
    return f"Standup {i:02d}" if i % 10 == 3 else f"Meeting {i:02d}"


def language_of(i: int) -> str | None:
    return {0: "fr", 1: "de"}.get(i % 3)


def keep_alive_of(i: int) -> int:
    return 60 + (i % 5) * 30


def status_of(i: int) -> str:
    return "INACTIVE" if i % 4 == 1 else "ACTIVE"


@dataclass
class Meetings:
    account_id: str
    app_id: str
    ids: list[str]  # in creation order: index i is meeting i
    records: list[dict[str, t.Any]]  # as the emulator stores them

    @property
    def where(self) -> str:
        return f"account_id = '{self.account_id}' AND app_id = '{self.app_id}'"

    def index(self, meeting_id: str) -> int:
        return self.ids.index(meeting_id)


@dataclass
class Participants:
    account_id: str
    app_id: str
    meeting_id: str
    ids: list[str]

    @property
    def where(self) -> str:
        return f"account_id = '{self.account_id}' AND app_id = '{self.app_id}' AND meeting_id = '{self.meeting_id}'"


@pytest.fixture(scope="module")
def conn(emulator: Emulator) -> t.Iterator[Connection]:
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as connection:
        yield connection


@pytest.fixture(scope="module")
def meetings(conn: Connection, emulator: Emulator) -> Meetings:
    account_id, app_id = new_app()
    values = []
    for i in range(N_MEETINGS):
        title = "NULL" if title_of(i) is None else f"'{title_of(i)}'"
        language = language_of(i)
        ai = "'" + json.dumps({"transcription": {"language": language}} if language else {}) + "'"
        values.append(
            f"('{account_id}', '{app_id}', {title}, {keep_alive_of(i)}, {'true' if i % 2 == 0 else 'false'}, {ai})"
        )
    rows = conn.execute(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title, session_keep_alive_time_in_secs, persist_chat, ai_config) "
        f"VALUES {', '.join(values)} RETURNING json_extract(data, '$.id') AS id"
    )
    ids = [row["id"] for row in rows]
    for i, meeting_id in enumerate(ids):
        if status_of(i) == "INACTIVE":
            conn.execute(
                f"UPDATE {MEETINGS} SET status = 'INACTIVE' WHERE account_id = '{account_id}' "
                f"AND app_id = '{app_id}' AND meeting_id = :id",
                {"id": meeting_id},
            )
    records = emulator.meetings(account_id, app_id)
    assert [r["id"] for r in records] == ids
    return Meetings(account_id, app_id, ids, records)


@pytest.fixture(scope="module")
def participants(conn: Connection, meetings: Meetings) -> Participants:
    meeting_id = meetings.ids[1]
    values = ", ".join(
        f"('{meetings.account_id}', '{meetings.app_id}', '{meeting_id}', 'user-{i:02d}', "
        f"'{'group_call_host' if i % 5 == 0 else 'group_call_participant'}', {'NULL' if i % 6 == 0 else repr(f'Person {i:02d}')})"
        for i in range(N_PARTICIPANTS)
    )
    rows = conn.execute(
        f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name, name) "
        f"VALUES {values} RETURNING json_extract(data, '$.id') AS id"
    )
    return Participants(meetings.account_id, meetings.app_id, meeting_id, [r["id"] for r in rows])


@contextlib.contextmanager
def requests_made(emulator: Emulator) -> t.Iterator[list[int]]:
    """``with requests_made(emu) as sent: ...`` then ``sent[0]`` is how many requests the block made."""
    sent = [0]
    before = emulator.request_count
    yield sent
    sent[0] = emulator.request_count - before


def titles(rows: list[dict[str, t.Any]]) -> list[t.Any]:
    return [row["title"] for row in rows]


# --------------------------------------------------------------------------
# Choosing the method
# --------------------------------------------------------------------------


def test_where_meeting_id_gets_one_meeting(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    sql = f"SELECT id, title, status FROM {KIT} WHERE {meetings.where} AND meeting_id = :id"
    assert conn.plans.get(sql).method.name == "get_by_account"
    with requests_made(emulator) as sent:
        rows = conn.execute(sql, {"id": meetings.ids[4]})
    assert rows == [{"id": meetings.ids[4], "title": "Meeting 04", "status": "ACTIVE"}]
    assert sent[0] == 1


def test_without_meeting_id_lists(conn: Connection, meetings: Meetings) -> None:
    plan = conn.plans.get(f"SELECT id FROM {KIT} WHERE {meetings.where}")
    assert isinstance(plan, SelectPlan) and plan.method.name == "list_by_account"
    assert [r["id"] for r in conn.execute(plan.sql)] == meetings.ids


def test_get_by_id_with_a_column_filter_that_only_the_list_takes_as_parameter(conn: Connection, meetings: Meetings) -> None:
    # status is a query parameter of list_by_account, but get_by_account has meeting_id: status is then filtered locally
    sql = f"SELECT id FROM {KIT} WHERE {meetings.where} AND meeting_id = :id AND status = 'INACTIVE'"
    assert conn.plans.get(sql).method.name == "get_by_account"
    assert conn.execute(sql, {"id": meetings.ids[1]}) == [{"id": meetings.ids[1]}]
    assert conn.execute(sql, {"id": meetings.ids[2]}) == []


def test_unknown_meeting_is_the_apis_404(conn: Connection, meetings: Meetings) -> None:
    with pytest.raises(APIError) as caught:
        conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND meeting_id = 'nope'")
    assert caught.value.status == 404


def test_meetings_keeps_the_reference_error(conn: Connection, emulator: Emulator) -> None:
    with requests_made(emulator) as sent, pytest.raises(NotSupportedError) as caught:
        conn.execute(f"SELECT * FROM {MEETINGS} WHERE account_id = 'a' AND app_id = 'b'")
    assert str(caught.value) == (
        "SELECT not supported for this resource, use SHOW METHODS to view available operations for the resource."
    )
    assert sent[0] == 0


def test_missing_parameters_say_what_each_method_needs(conn: Connection) -> None:
    with pytest.raises(ResolutionError, match="list_by_account is missing account_id"):
        conn.execute(f"SELECT id FROM {KIT} WHERE app_id = 'b'")


def test_conflicting_parameters_are_refused(conn: Connection, meetings: Meetings) -> None:
    with pytest.raises(ResolutionError, match="get_by_account does not accept search; list_by_account does not accept meeting_id"):
        conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND meeting_id = 'm' AND search = 'x'")


# --------------------------------------------------------------------------
# Column lists
# --------------------------------------------------------------------------


def test_star_lists_columns_in_schema_order(conn: Connection, meetings: Meetings) -> None:
    result = conn.run(f"SELECT * FROM {KIT} WHERE {meetings.where} AND meeting_id = :id", {"id": meetings.ids[3]})
    described = [r["name"] for r in conn.run(f"DESCRIBE {KIT}").rows]
    assert result.columns == [c for c in described if c in result.rows[0]]
    assert result.rows[0]["title"] == "Standup 03"
    assert result.rows[0]["ai_config"] == {"transcription": {"language": "fr"}}


def test_star_over_a_list_includes_columns_only_some_rows_have(conn: Connection, meetings: Meetings) -> None:
    result = conn.run(f"SELECT * FROM {KIT} WHERE {meetings.where} LIMIT 2")
    assert "title" not in result.rows[0] and "title" in result.columns  # meeting 0 has no title
    assert result.tuples()[0][result.columns.index("title")] is None


def test_star_with_no_rows_still_has_columns(conn: Connection, meetings: Meetings) -> None:
    result = conn.run(f"SELECT * FROM {KIT} WHERE {meetings.where} AND search = 'no such meeting'")
    assert result.rows == [] and result.columns[0] == "id" and "title" in result.columns


def test_aliases_and_json_extract(conn: Connection, meetings: Meetings) -> None:
    result = conn.run(
        f"SELECT id AS meeting, json_extract(ai_config, '$.transcription.language') AS lang, "
        f"json_extract(ai_config, '$.transcription.language') FROM {KIT} WHERE {meetings.where} LIMIT 3"
    )
    assert result.columns == ["meeting", "lang", "JSON_EXTRACT(ai_config, '$.transcription.language')"]
    assert [r["lang"] for r in result.rows] == ["fr", "de", None]
    assert [r["meeting"] for r in result.rows] == meetings.ids[:3]
    arrows = conn.execute(f"SELECT ai_config->'transcription'->>'language' AS lang FROM {KIT} WHERE {meetings.where} LIMIT 3")
    assert arrows == [{"lang": "fr"}, {"lang": "de"}, {"lang": None}]


def test_distinct(conn: Connection, meetings: Meetings) -> None:
    rows = conn.execute(f"SELECT DISTINCT status FROM {KIT} WHERE {meetings.where} ORDER BY status")
    assert rows == [{"status": "ACTIVE"}, {"status": "INACTIVE"}]


# --------------------------------------------------------------------------
# API parameters versus local filters
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition, query, expected",
    [
        ("search = 'standup'", {"search": "standup"}, [i for i in range(N_MEETINGS) if i % 10 == 3 and i % 9]),
        ("status = 'INACTIVE'", {"status": "INACTIVE"}, [i for i in range(N_MEETINGS) if status_of(i) == "INACTIVE"]),
        ("per_page = 7 AND status = 'ACTIVE'", {"per_page": 7, "status": "ACTIVE"}, [i for i in range(N_MEETINGS) if status_of(i) == "ACTIVE"]),
    ],
)
def test_api_parameters_are_sent_as_query(
    conn: Connection, meetings: Meetings, condition: str, query: dict[str, t.Any], expected: list[int]
) -> None:
    sql = f"SELECT id FROM {KIT} WHERE {meetings.where} AND {condition}"
    plan = conn.plans.get(sql)
    assert plan.where is None  # nothing left to do locally
    (request,) = plan.requests()
    assert request.query == query
    assert [meetings.index(r["id"]) for r in conn.execute(sql)] == expected


def test_time_window_is_an_api_filter(conn: Connection, meetings: Meetings) -> None:
    start, end = meetings.records[10]["created_at"], meetings.records[19]["created_at"]
    rows = conn.execute(
        f"SELECT id FROM {KIT} WHERE {meetings.where} AND start_time = :start AND end_time = :end",
        {"start": start, "end": end},
    )
    assert [meetings.index(r["id"]) for r in rows] == list(range(10, 20))


def test_api_parameter_values_are_checked_before_sending(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent, pytest.raises(DataError, match="status"):
        conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND status = 'active'")
    assert sent[0] == 0


def local_cases() -> list[tuple[str, t.Callable[[int], bool]]]:
    return [
        ("title = 'Meeting 04'", lambda i: title_of(i) == "Meeting 04"),
        ("title != 'Meeting 04'", lambda i: title_of(i) is not None and title_of(i) != "Meeting 04"),
        ("title <> 'Meeting 04'", lambda i: title_of(i) is not None and title_of(i) != "Meeting 04"),
        ("session_keep_alive_time_in_secs > 120", lambda i: keep_alive_of(i) > 120),
        ("session_keep_alive_time_in_secs >= 120", lambda i: keep_alive_of(i) >= 120),
        ("session_keep_alive_time_in_secs < 90", lambda i: keep_alive_of(i) < 90),
        ("session_keep_alive_time_in_secs <= 90", lambda i: keep_alive_of(i) <= 90),
        ("session_keep_alive_time_in_secs BETWEEN 90 AND 120", lambda i: 90 <= keep_alive_of(i) <= 120),
        ("title LIKE 'meeting 1%'", lambda i: (title_of(i) or "").startswith("Meeting 1")),
        ("title LIKE '%_2'", lambda i: (title_of(i) or "x").endswith("2")),
        ("title NOT LIKE 'Meeting%'", lambda i: title_of(i) is not None and not title_of(i).startswith("Meeting")),
        ("title IN ('Meeting 01', 'Standup 13', 'nope')", lambda i: title_of(i) in ("Meeting 01", "Standup 13")),
        ("title NOT IN ('Meeting 01', 'Meeting 02')", lambda i: title_of(i) not in (None, "Meeting 01", "Meeting 02")),
        ("title IS NULL", lambda i: title_of(i) is None),
        ("title IS NOT NULL", lambda i: title_of(i) is not None),
        ("persist_chat = true", lambda i: i % 2 == 0),
        ("persist_chat", lambda i: i % 2 == 0),
        ("NOT persist_chat", lambda i: i % 2 == 1),
        ("persist_chat IS FALSE", lambda i: i % 2 == 1),
        ("(status = 'INACTIVE' OR title LIKE 'Standup%')", lambda i: status_of(i) == "INACTIVE" or (title_of(i) or "").startswith("Standup")),
        ("NOT (status = 'ACTIVE' AND persist_chat)", lambda i: not (status_of(i) == "ACTIVE" and i % 2 == 0)),
        ("json_extract(ai_config, '$.transcription.language') = 'de'", lambda i: language_of(i) == "de"),
        ("json_extract(ai_config, '$.transcription.language') IS NULL", lambda i: language_of(i) is None),
        ("ai_config->'transcription'->>'language' = 'fr'", lambda i: language_of(i) == "fr"),
        ("id = '{id7}'", lambda i: i == 7),
        ("'Meeting 05' = title", lambda i: i == 5),
        ("title = 5", lambda i: False),  # typed: a string is never the number 5
        ("title > 'Standup'", lambda i: (title_of(i) or "") > "Standup"),
        ("created_at >= '{created20}' AND created_at < '{created25}'", lambda i: 20 <= i < 25),
    ]


@pytest.mark.parametrize("condition, expected", local_cases(), ids=[c for c, _ in local_cases()])
def test_other_conditions_are_evaluated_locally(
    conn: Connection, meetings: Meetings, condition: str, expected: t.Callable[[int], bool]
) -> None:
    condition = condition.format(id7=meetings.ids[7], created20=meetings.records[20]["created_at"], created25=meetings.records[25]["created_at"])
    sql = f"SELECT id FROM {KIT} WHERE {meetings.where} AND {condition}"
    plan = conn.plans.get(sql)
    assert plan.method.name == "list_by_account" and plan.where is not None
    (request,) = plan.requests()
    assert request.query == {}  # nothing of the condition went to the API
    assert [meetings.index(r["id"]) for r in conn.execute(sql)] == [i for i in range(N_MEETINGS) if expected(i)]


def test_status_in_an_or_is_local_and_in_a_top_level_and_is_a_parameter(conn: Connection, meetings: Meetings) -> None:
    local = conn.plans.get(f"SELECT id FROM {KIT} WHERE {meetings.where} AND (status = 'INACTIVE' OR status = 'INACTIVE')")
    remote = conn.plans.get(f"SELECT id FROM {KIT} WHERE ({meetings.where}) AND (status = 'INACTIVE')")
    assert local.requests()[0].query == {} and local.where is not None
    assert remote.requests()[0].query == {"status": "INACTIVE"} and remote.where is None
    assert conn.execute(local.sql) == conn.execute(remote.sql)


def test_local_filters_take_bound_parameters(conn: Connection, meetings: Meetings) -> None:
    sql = f"SELECT title FROM {KIT} WHERE {meetings.where} AND title LIKE :pattern AND session_keep_alive_time_in_secs > :secs"
    assert titles(conn.execute(sql, {"pattern": "standup%", "secs": 60})) == ["Standup 03", "Standup 13", "Standup 23", "Standup 33", "Standup 43"]
    assert titles(conn.execute(sql, {"pattern": "standup%", "secs": 150})) == []
    assert titles(conn.execute(sql, {"pattern": "%4", "secs": 150})) == ["Meeting 04", "Meeting 14", "Meeting 24", "Meeting 34", "Meeting 44"]
    with pytest.raises(UnboundParameterError, match=":secs"):
        conn.execute(sql, {"pattern": "x"})


def test_like_escape(conn: Connection) -> None:
    account_id, app_id = new_app()
    for title in ("50% off", "500 off"):
        conn.execute(f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT '{account_id}', '{app_id}', '{title}'")
    rows = conn.execute(
        f"SELECT title FROM {KIT} WHERE account_id = '{account_id}' AND app_id = '{app_id}' AND title LIKE '50!%%' ESCAPE '!'"
    )
    assert rows == [{"title": "50% off"}]


# --------------------------------------------------------------------------
# ORDER BY, LIMIT, OFFSET
# --------------------------------------------------------------------------


def test_order_by_several_keys(conn: Connection, meetings: Meetings) -> None:
    rows = conn.execute(
        f"SELECT id, status, session_keep_alive_time_in_secs AS secs FROM {KIT} WHERE {meetings.where} "
        "ORDER BY status DESC, secs, created_at DESC"
    )
    expected = sorted(range(N_MEETINGS), key=lambda i: -i)
    expected = sorted(expected, key=keep_alive_of)
    expected = sorted(expected, key=status_of, reverse=True)
    assert [meetings.index(r["id"]) for r in rows] == expected


def test_order_by_nulls_as_in_postgres_or_as_asked(conn: Connection, meetings: Meetings) -> None:
    base = f"SELECT title FROM {KIT} WHERE {meetings.where} AND session_keep_alive_time_in_secs = 60 ORDER BY "
    named = sorted(t for i in range(N_MEETINGS) if keep_alive_of(i) == 60 and (t := title_of(i)))
    nulls = [None] * sum(1 for i in range(N_MEETINGS) if keep_alive_of(i) == 60 and title_of(i) is None)
    assert nulls and named
    assert titles(conn.execute(base + "title")) == named + nulls
    assert titles(conn.execute(base + "title DESC")) == nulls + named[::-1]
    assert titles(conn.execute(base + "title NULLS FIRST")) == nulls + named
    assert titles(conn.execute(base + "title DESC NULLS LAST")) == named[::-1] + nulls


def test_order_by_position_alias_and_json_extract(conn: Connection, meetings: Meetings) -> None:
    sql = (
        f"SELECT id, json_extract(ai_config, '$.transcription.language') AS lang FROM {KIT} WHERE {meetings.where} "
        "ORDER BY {key}, created_at"
    )
    by_alias = conn.execute(sql.format(key="lang"))
    assert conn.execute(sql.format(key="2")) == by_alias
    assert conn.execute(sql.format(key="json_extract(ai_config, '$.transcription.language')")) == by_alias
    order = {"de": 0, "fr": 1, None: 2}
    assert [meetings.index(r["id"]) for r in by_alias] == sorted(range(N_MEETINGS), key=lambda i: order[language_of(i)])


def test_order_by_a_column_not_selected(conn: Connection, meetings: Meetings) -> None:
    rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} ORDER BY created_at DESC LIMIT 3")
    assert [r["id"] for r in rows] == meetings.ids[::-1][:3]


def test_limit_and_offset(conn: Connection, meetings: Meetings) -> None:
    rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} LIMIT 5 OFFSET 12")
    assert [r["id"] for r in rows] == meetings.ids[12:17]
    rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} OFFSET 40")
    assert [r["id"] for r in rows] == meetings.ids[40:]
    rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} ORDER BY created_at DESC LIMIT :n OFFSET :skip", {"n": 2, "skip": 1})
    assert [r["id"] for r in rows] == meetings.ids[::-1][1:3]
    with pytest.raises(DataError, match="LIMIT must be a whole number"):
        conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} LIMIT :n", {"n": -1})


# --------------------------------------------------------------------------
# Aggregates
# --------------------------------------------------------------------------


def test_aggregates_without_group_by(conn: Connection, meetings: Meetings) -> None:
    result = conn.run(
        "SELECT COUNT(*) AS n, COUNT(title), COUNT(DISTINCT session_keep_alive_time_in_secs) AS kinds, "
        "MIN(title) AS first, MAX(created_at) AS newest, SUM(session_keep_alive_time_in_secs) AS total, "
        f"AVG(session_keep_alive_time_in_secs) AS mean FROM {KIT} WHERE {meetings.where}"
    )
    secs = [keep_alive_of(i) for i in range(N_MEETINGS)]
    named = [t for i in range(N_MEETINGS) if (t := title_of(i))]
    assert result.columns == ["n", "COUNT(title)", "kinds", "first", "newest", "total", "mean"]
    assert result.rows == [
        {
            "n": N_MEETINGS, "COUNT(title)": len(named), "kinds": 5, "first": min(named),
            "newest": meetings.records[-1]["created_at"], "total": sum(secs), "mean": sum(secs) / len(secs),
        }
    ]


def test_aggregates_over_no_rows(conn: Connection, meetings: Meetings) -> None:
    sql = f"SELECT COUNT(*) AS n, SUM(session_keep_alive_time_in_secs) AS s, MAX(title) AS m FROM {KIT} WHERE {meetings.where} AND title = 'nope'"
    assert conn.execute(sql) == [{"n": 0, "s": None, "m": None}]
    grouped = sql + " GROUP BY status"
    assert conn.execute(grouped) == []


def test_group_by_with_having_and_order(conn: Connection, meetings: Meetings) -> None:
    rows = conn.execute(
        "SELECT status, json_extract(ai_config, '$.transcription.language') AS lang, COUNT(*) AS n, "
        f"MAX(session_keep_alive_time_in_secs) AS top FROM {KIT} WHERE {meetings.where} "
        "GROUP BY status, lang HAVING COUNT(*) > 4 ORDER BY n DESC, status, lang"
    )
    counts: dict[tuple[str, str | None], list[int]] = {}
    for i in range(N_MEETINGS):
        counts.setdefault((status_of(i), language_of(i)), []).append(keep_alive_of(i))
    expected = [
        {"status": s, "lang": lang, "n": len(v), "top": max(v)}
        for (s, lang), v in counts.items() if len(v) > 4
    ]
    rank = {"de": 0, "fr": 1, None: 2}
    expected.sort(key=lambda r: (-r["n"], r["status"], rank[r["lang"]]))
    assert rows == expected


def test_group_by_position_and_order_by_an_aggregate_not_selected(conn: Connection, meetings: Meetings) -> None:
    rows = conn.execute(
        f"SELECT persist_chat FROM {KIT} WHERE {meetings.where} GROUP BY 1 ORDER BY MIN(session_keep_alive_time_in_secs), COUNT(*) DESC"
    )
    # both groups have 60 s meetings; there are more even (persist_chat) meetings
    assert rows == [{"persist_chat": True}, {"persist_chat": False}]


def test_sum_of_text_is_a_data_error(conn: Connection, meetings: Meetings) -> None:
    with pytest.raises(DataError, match=r"SUM\(title\)"):
        conn.execute(f"SELECT SUM(title) FROM {KIT} WHERE {meetings.where}")


# --------------------------------------------------------------------------
# Pagination
# --------------------------------------------------------------------------


def test_every_page_is_read(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 10")
    assert [r["id"] for r in rows] == meetings.ids
    assert sent[0] == 5  # 10 + 10 + 10 + 10 + 5: the paging block says when to stop


def test_default_page_size(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where}")
    assert len(rows) == N_MEETINGS and sent[0] == 3  # the API's default per_page is 20


def test_exact_multiple_of_the_page_size_stops_without_an_empty_page(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 15")
    assert len(rows) == N_MEETINGS and sent[0] == 3


@pytest.mark.parametrize("limit, offset, pages", [(5, 0, 1), (10, 0, 1), (11, 0, 2), (15, 0, 2), (5, 12, 2), (0, 0, 0), (100, 0, 5)])
def test_limit_stops_reading_pages(conn: Connection, meetings: Meetings, emulator: Emulator, limit: int, offset: int, pages: int) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 10 LIMIT {limit} OFFSET {offset}")
    assert [r["id"] for r in rows] == meetings.ids[offset : offset + limit]
    assert sent[0] == pages


def test_limit_with_a_local_filter_reads_until_enough_rows_match(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 10 AND title LIKE 'Standup%' LIMIT 2")
    assert [meetings.index(r["id"]) for r in rows] == [3, 13]
    assert sent[0] == 2


def test_order_by_and_aggregates_read_every_page_even_with_limit(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 10 ORDER BY created_at DESC LIMIT 1")
    assert rows == [{"id": meetings.ids[-1]}] and sent[0] == 5
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT COUNT(*) AS n FROM {KIT} WHERE {meetings.where} AND per_page = 10 LIMIT 1")
    assert rows == [{"n": N_MEETINGS}] and sent[0] == 5


def test_page_no_fetches_that_page_only(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 10 AND page_no = :page", {"page": 3})
    assert [r["id"] for r in rows] == meetings.ids[20:30]
    assert sent[0] == 1
    assert conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 10 AND page_no = 6") == []


def test_pages_follow_api_filters(conn: Connection, meetings: Meetings, emulator: Emulator) -> None:
    with requests_made(emulator) as sent:
        rows = conn.execute(f"SELECT id FROM {KIT} WHERE {meetings.where} AND status = 'ACTIVE' AND per_page = 4")
    active = [i for i in range(N_MEETINGS) if status_of(i) == "ACTIVE"]
    assert [meetings.index(r["id"]) for r in rows] == active
    assert sent[0] == -(-len(active) // 4)


def test_the_page_cap_returns_what_was_read_and_says_so(
    conn: Connection, meetings: Meetings, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(select, "MAX_PAGES", 3)
    sql = f"SELECT id FROM {KIT} WHERE {meetings.where} AND per_page = 10"
    with requests_made(emulator) as sent, pytest.warns(PaginationCapWarning, match="stopped after 3 pages"):
        result = conn.run(sql)
    assert [r["id"] for r in result.rows] == meetings.ids[:30]
    assert result.message == "stopped after 3 pages (30 rows); add filters or LIMIT"
    assert sent[0] == 3
    # a LIMIT reached within the cap is no truncation
    result = conn.run(sql + " LIMIT 30")
    assert len(result.rows) == 30 and result.message is None


def test_the_default_cap() -> None:
    assert select.MAX_PAGES == 100
    assert select.cap_message(100, 10000) == "stopped after 100 pages (10000 rows); add filters or LIMIT"


# --------------------------------------------------------------------------
# Participants
# --------------------------------------------------------------------------


def test_participants_list_over_pages(conn: Connection, participants: Participants, emulator: Emulator) -> None:
    sql = f"SELECT id, custom_participant_id, preset_name, name FROM {PARTICIPANTS} WHERE {participants.where} AND per_page = 10"
    assert conn.plans.get(sql).method.name == "list_by_account"
    with requests_made(emulator) as sent:
        rows = conn.execute(sql)
    assert [r["id"] for r in rows] == participants.ids
    assert rows[1] == {"id": participants.ids[1], "custom_participant_id": "user-01", "preset_name": "group_call_participant", "name": "Person 01"}
    assert sent[0] == 3


def test_participant_by_id(conn: Connection, participants: Participants, emulator: Emulator) -> None:
    sql = f"SELECT * FROM {PARTICIPANTS} WHERE {participants.where} AND participant_id = :p"
    assert conn.plans.get(sql).method.name == "get_by_account"
    with requests_made(emulator) as sent:
        result = conn.run(sql, {"p": participants.ids[6]})
    assert sent[0] == 1
    (row,) = result.rows
    assert row["id"] == participants.ids[6] and row["custom_participant_id"] == "user-06" and row["name"] is None
    assert "token" not in row and result.columns[0] == "id"


def test_participants_filtered_grouped_and_ordered_locally(conn: Connection, participants: Participants) -> None:
    rows = conn.execute(
        f"SELECT preset_name, COUNT(*) AS n, COUNT(name) AS named FROM {PARTICIPANTS} WHERE {participants.where} "
        "GROUP BY preset_name ORDER BY preset_name"
    )
    hosts = [i for i in range(N_PARTICIPANTS) if i % 5 == 0]
    assert rows == [
        {"preset_name": "group_call_host", "n": len(hosts), "named": sum(1 for i in hosts if i % 6)},
        {"preset_name": "group_call_participant", "n": N_PARTICIPANTS - len(hosts),
         "named": sum(1 for i in range(N_PARTICIPANTS) if i % 5 and i % 6)},
    ]
    rows = conn.execute(
        f"SELECT custom_participant_id AS who FROM {PARTICIPANTS} WHERE {participants.where} "
        "AND name IS NULL ORDER BY who DESC LIMIT 2"
    )
    assert rows == [{"who": "user-24"}, {"who": "user-18"}]


def test_participants_of_an_unknown_meeting(conn: Connection, participants: Participants) -> None:
    with pytest.raises(APIError) as caught:
        conn.execute(f"SELECT id FROM {PARTICIPANTS} WHERE account_id = '{participants.account_id}' AND app_id = '{participants.app_id}' AND meeting_id = 'nope'")
    assert caught.value.status == 404


# --------------------------------------------------------------------------
# Refused at plan time, before any request
# --------------------------------------------------------------------------

W = "account_id = 'a' AND app_id = 'b'"


@pytest.mark.parametrize(
    "sql, error, message",
    [
        (f"SELECT titel FROM {KIT} WHERE {W}", ProgrammingError, "SELECT: unknown column 'titel' (did you mean 'title'?)"),
        (f"SELECT id FROM {KIT} WHERE {W} AND titel = 'x'", ProgrammingError, "WHERE: unknown column 'titel' (did you mean 'title'?)"),
        (f"SELECT id FROM {KIT} WHERE {W} AND meting_id = 'x'", ProgrammingError, "(did you mean 'meeting_id'?)"),
        (f"SELECT id FROM {KIT} WHERE {W} ORDER BY creatd_at", ProgrammingError, "ORDER BY: unknown column 'creatd_at' (did you mean 'created_at'?)"),
        (f"SELECT MAX(updatd_at) FROM {KIT} WHERE {W}", ProgrammingError, "unknown column 'updatd_at' (did you mean 'updated_at'?)"),
        (f"SELECT id FROM {KIT} WHERE {W} GROUP BY stats", ProgrammingError, "GROUP BY: unknown column 'stats' (did you mean 'status'?)"),
        (f"SELECT id FROM {KIT} WHERE account_id IN ('a') AND app_id = 'b'", ProgrammingError, "account_id is an API parameter, not a column"),
        (f"SELECT id FROM {KIT} WHERE app_id = 'b' AND (account_id = 'a' OR title = 'x')", ProgrammingError, "account_id is an API parameter"),
        (f"SELECT id FROM {KIT} WHERE {W} AND meeting_id = 'x' AND meeting_id = 'y'", ProgrammingError, "WHERE gives meeting_id twice"),
        (f"SELECT id FROM {KIT} WHERE {W} AND lower(title) = 'x'", NotSupportedError, "WHERE: function LOWER(title) is not supported"),
        (f"SELECT id FROM {KIT} WHERE {W} AND session_keep_alive_time_in_secs + 1 > 2", NotSupportedError, "WHERE: expression session_keep_alive_time_in_secs + 1 is not supported"),
        (f"SELECT id FROM {KIT} WHERE {W} AND title IN (SELECT 1)", NotSupportedError, "subqueries are not supported"),
        (f"SELECT id FROM {KIT} JOIN {PARTICIPANTS} ON 1 = 1 WHERE {W}", NotSupportedError, "SELECT: JOIN is not supported"),
        (f"SELECT id FROM {KIT}, {PARTICIPANTS} WHERE {W}", NotSupportedError, "SELECT: JOIN is not supported"),
        (f"WITH q AS (SELECT 1) SELECT id FROM {KIT} WHERE {W}", NotSupportedError, "SELECT: WITH is not supported"),
        (f"SELECT id FROM {KIT} WHERE {W} UNION SELECT id FROM {KIT} WHERE {W}", NotSupportedError, "UNION is not supported"),
        (f"SELECT id, row_number() OVER () FROM {KIT} WHERE {W}", NotSupportedError, "window functions are not supported"),
        (f"SELECT DISTINCT ON (status) id FROM {KIT} WHERE {W}", NotSupportedError, "DISTINCT ON is not supported"),
        (f"SELECT string_agg(title, ',') FROM {KIT} WHERE {W}", NotSupportedError, "is not supported (COUNT, SUM, AVG, MIN and MAX are)"),
        (f"SELECT upper(title) FROM {KIT} WHERE {W}", ProgrammingError, "SELECT: unsupported column expression UPPER(title)"),
        (f"SELECT title, COUNT(*) FROM {KIT} WHERE {W}", ProgrammingError, "SELECT: title must appear in GROUP BY or be used in an aggregate function"),
        (f"SELECT *, COUNT(*) FROM {KIT} WHERE {W}", ProgrammingError, "SELECT * cannot be combined with GROUP BY"),
        (f"SELECT id FROM {KIT} WHERE {W} AND COUNT(*) > 1", ProgrammingError, "WHERE: aggregate functions are not allowed here"),
        (f"SELECT SUM(*) FROM {KIT} WHERE {W}", ProgrammingError, "only COUNT takes *"),
        (f"SELECT id FROM {KIT} WHERE {W} ORDER BY 2", ProgrammingError, "ORDER BY 2: SELECT has 1 column(s)"),
        (f"SELECT * FROM {KIT} WHERE {W} ORDER BY 1", NotSupportedError, "ORDER BY position needs named columns"),
        (f"SELECT x.id FROM {KIT} AS m WHERE {W}", ProgrammingError, "unknown table 'x' in x.id"),
        (f"SELECT id FROM {KIT} WHERE {W} LIMIT 'ten'", ProgrammingError, "LIMIT takes a whole number >= 0 or a :parameter, got 'ten'"),
        (f"SELECT id FROM {KIT} WHERE {W} FETCH FIRST 3 ROWS ONLY", NotSupportedError, "FETCH FIRST is not supported"),
        (f"SELECT id FROM {KIT} WHERE {W} AND title LIKE 'x' ESCAPE 'ab'", ProgrammingError, "ESCAPE takes one character"),
        (f"SELECT id FROM cloudflare.realtime_kit.kit_meeting WHERE {W}", ProgrammingError, "(did you mean 'kit_meetings'?)"),
    ],
)
def test_refused_at_plan_time(conn: Connection, emulator: Emulator, sql: str, error: type[Exception], message: str) -> None:
    with requests_made(emulator) as sent, pytest.raises(error) as caught:
        conn.execute(sql)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert sent[0] == 0


def test_qualified_columns_with_the_table_alias_or_name(conn: Connection, meetings: Meetings) -> None:
    rows = conn.execute(
        f"SELECT m.id, kit_meetings.title FROM {KIT} AS m WHERE m.account_id = '{meetings.account_id}' "
        f"AND app_id = '{meetings.app_id}' AND m.title = 'Meeting 02'"
    )
    assert rows == [{"id": meetings.ids[2], "title": "Meeting 02"}]


# --------------------------------------------------------------------------
# DESCRIBE, dry runs, plans, CLI, scripts
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource, columns",
    [
        (KIT, {"id": "string", "title": "string", "status": "string", "created_at": "string", "ai_config": "object",
               "session_keep_alive_time_in_secs": "number", "persist_chat": "boolean", "recording_config": "object"}),
        (PARTICIPANTS, {"id": "string", "custom_participant_id": "string", "preset_name": "string", "name": "string",
                        "picture": "string", "created_at": "string", "updated_at": "string"}),
    ],
)
def test_describe_lists_the_response_columns(conn: Connection, emulator: Emulator, resource: str, columns: dict[str, str]) -> None:
    with requests_made(emulator) as sent:
        plain = conn.run(f"DESCRIBE {resource}")
        extended = conn.run(f"DESCRIBE EXTENDED {resource}")
    assert sent[0] == 0
    assert plain.columns == ["name", "type"] and extended.columns == ["name", "type", "description"]
    types = {r["name"]: r["type"] for r in plain.rows}
    assert {k: types.get(k) for k in columns} == columns
    assert [r["name"] for r in extended.rows] == [r["name"] for r in plain.rows]
    assert all(r["description"] for r in extended.rows if r["name"] == "id")


def test_describe_of_meetings_keeps_the_reference_error(conn: Connection) -> None:
    with pytest.raises(NotSupportedError, match="SELECT not supported for this resource"):
        conn.run(f"DESCRIBE {MEETINGS}")


def test_dry_run_shows_the_first_request_and_sends_nothing(emulator: Emulator, meetings: Meetings) -> None:
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url, dry_run=True) as dry, requests_made(emulator) as sent:
        result = dry.run(f"SELECT id FROM {KIT} WHERE {meetings.where} AND status = 'ACTIVE' AND per_page = 10 AND title LIKE :p ORDER BY id")
    assert sent[0] == 0
    assert result.columns == ["method", "url", "headers", "body"]
    (request,) = result.rows
    assert request["method"] == "GET"
    assert request["url"] == (
        f"{emulator.url}/accounts/{meetings.account_id}/realtime/kit/{meetings.app_id}/meetings?status=ACTIVE&per_page=10"
    )
    assert request["headers"]["Authorization"] == "Bearer ***"


def test_a_plan_is_built_once_and_reused_with_other_parameters(conn: Connection, meetings: Meetings) -> None:
    sql = f"SELECT title FROM {KIT} WHERE {meetings.where} AND meeting_id = :id"
    plan = conn.plans.get(sql)
    assert plan.bind_names == frozenset({"id"})
    for i in (2, 5, 8):
        assert conn.execute(sql, {"id": meetings.ids[i]}) == [{"title": title_of(i)}]
    assert conn.plans.get(sql) is plan


def test_cursor_description_and_fetch(conn: Connection, meetings: Meetings) -> None:
    cur = conn.cursor()
    cur.execute(f"SELECT id, title FROM {KIT} WHERE {meetings.where} AND title LIKE 'Standup%' ORDER BY title")
    assert [d[0] for d in cur.description] == ["id", "title"]
    assert cur.fetchone() == (meetings.ids[3], "Standup 03")
    assert len(cur.fetchall()) == 4


def test_cli_select(emulator: Emulator, meetings: Meetings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", SANDBOX_TOKEN)
    sql = f"SELECT title, status FROM {KIT} WHERE {meetings.where} AND title LIKE 'Standup%' ORDER BY title DESC LIMIT 2"
    assert main(["exec", "--base-url", emulator.url, "-o", "csv", sql]) == 0
    assert capsys.readouterr().out == "title,status\nStandup 43,ACTIVE\nStandup 33,INACTIVE\n"


def test_select_after_insert_in_a_script(conn: Connection) -> None:
    account_id, app_id = new_app()
    script = f"""
        INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT '{account_id}', '{app_id}', 'Standup'
        RETURNING json_extract(data, '$.id') AS meeting_id;
        SELECT id, title, status FROM {KIT}
        WHERE account_id = '{account_id}' AND app_id = '{app_id}' AND meeting_id = :meeting_id;
    """
    created, shown = conn.executescript(script)
    assert shown.rows == [{"id": created.rows[0]["meeting_id"], "title": "Standup", "status": "ACTIVE"}]
