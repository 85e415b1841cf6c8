"""IN-list fan-out and rows of VALUES against the emulator, over loopback: one request per element.

The library and ``cfql exec`` both: what reaches the emulator (``Emulator.requests``), what it
then holds, and what the user is told when an element fails.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from cfql import APIStatusError, Connection, Settings
from cfql.cli.main import main
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.result import FAILED, NOT_RUN, SUCCEEDED, ElementOutcome

MEETINGS = "cloudflare.realtime_kit.meetings"


@pytest.fixture
def conn(emulator: Emulator) -> t.Iterator[Connection]:
    with Connection(Settings(token=SANDBOX_TOKEN, base_url=emulator.url, concurrency=3)) as connection:
        yield connection


def _meeting_with(conn: Connection, ids: dict[str, str], names: list[str]) -> tuple[str, list[str]]:
    """A new meeting and its participants, added by one INSERT with a row of VALUES each."""
    meeting = conn.run(
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT :account_id, :app_id, 'Fan-out' "
        "RETURNING json_extract(data, '$.id') AS id",
        ids,
    ).rows[0]["id"]
    rows = ", ".join(f"(:account_id, :app_id, :meeting_id, 'c-{name}', 'host', '{name}')" for name in names)
    added = conn.run(
        f"INSERT INTO {MEETINGS} (account_id, app_id, meeting_id, custom_participant_id, preset_name, name) "
        f"VALUES {rows} RETURNING json_extract(data, '$.id') AS id, json_extract(data, '$.name') AS name",
        {**ids, "meeting_id": meeting},
    )
    assert [row["name"] for row in added.rows] == names  # one row per request, in the order of VALUES
    assert added.outcomes == ([ElementOutcome(f"row {n}", SUCCEEDED) for n in range(1, len(names) + 1)] if len(names) > 1 else None)
    return meeting, [row["id"] for row in added.rows]


def _scope_with_ann(emulator: Emulator, ids: dict[str, str]) -> tuple[str, str]:
    """For the CLI tests: a meeting with one participant, Ann; the WHERE naming the meeting, and Ann's id."""
    with Connection(Settings(token=SANDBOX_TOKEN, base_url=emulator.url)) as conn:
        meeting, (ann,) = _meeting_with(conn, ids, ["Ann"])
    return f"account_id = '{ids['account_id']}' AND app_id = '{ids['app_id']}' AND meeting_id = '{meeting}'", ann


def test_delete_in_list_removes_each_listed_participant_with_one_request_each(
    conn: Connection, emulator: Emulator, ids: dict[str, str]
) -> None:
    meeting, (ann, bob, cy) = _meeting_with(conn, ids, ["Ann", "Bob", "Cy"])
    before = len(emulator.requests)
    result = conn.run(
        f"DELETE FROM {MEETINGS} WHERE account_id = :account_id AND app_id = :app_id AND meeting_id = :m "
        "AND participant_id IN (:one, :two) RETURNING success",
        {**ids, "m": meeting, "one": ann, "two": cy},
    )
    sent = emulator.requests[before:]
    assert sorted(path.rsplit("/", 1)[1] for _, path in sent) == sorted([ann, cy]) and {m for m, _ in sent} == {"DELETE"}
    assert result.rows == [{"success": True}, {"success": True}]
    assert [p["id"] for p in emulator.participants(ids["account_id"], ids["app_id"], meeting)] == [bob]


def test_update_in_list_edits_each_participant(conn: Connection, emulator: Emulator, ids: dict[str, str]) -> None:
    meeting, people = _meeting_with(conn, ids, ["Ann", "Bob"])
    listed = ", ".join(f"'{person}'" for person in people)
    conn.run(
        f"UPDATE {MEETINGS} SET name = 'Renamed' WHERE account_id = :account_id AND app_id = :app_id "
        f"AND meeting_id = :m AND participant_id IN ({listed})",
        {**ids, "m": meeting},
    )
    assert [p["name"] for p in emulator.participants(ids["account_id"], ids["app_id"], meeting)] == ["Renamed", "Renamed"]


def test_a_missing_element_fails_alone_and_the_rest_is_reported_not_run(
    conn: Connection, emulator: Emulator, ids: dict[str, str]
) -> None:
    meeting, (ann, bob) = _meeting_with(conn, ids, ["Ann", "Bob"])
    with Connection(Settings(token=SANDBOX_TOKEN, base_url=emulator.url)) as one_at_a_time:
        with pytest.raises(APIStatusError) as info:
            one_at_a_time.run(
                f"DELETE FROM {MEETINGS} WHERE account_id = :account_id AND app_id = :app_id AND meeting_id = :m "
                "AND participant_id IN (:a, 'no-such-one', :b)",
                {**ids, "m": meeting, "a": ann, "b": bob},
            )
    assert info.value.status == 404 and info.value.outcome_unknown  # Ann was removed: not safe to re-run whole
    assert [o.status for o in info.value.result.outcomes] == [SUCCEEDED, FAILED, NOT_RUN]
    assert [p["id"] for p in emulator.participants(ids["account_id"], ids["app_id"], meeting)] == [bob]


def test_the_cli_reports_each_element_on_one_line_and_exits_non_zero(
    api: list[str], emulator: Emulator, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    scope, ann = _scope_with_ann(emulator, ids)
    before = len(emulator.requests)
    code = main(["exec", *api, f"DELETE FROM {MEETINGS} WHERE {scope} AND participant_id IN ('{ann}', 'gone', 'later')"])
    err = capsys.readouterr().err
    assert code == 1 and len(emulator.requests) - before == 2
    error, summary = err.splitlines()  # the error, then the summary: Ann's removal was applied
    outcomes = f"of 3 elements, 1 succeeded (participant_id = '{ann}'), 1 failed (participant_id = 'gone'), 1 not run (participant_id = 'later')"
    assert error.startswith("cfql: error: <command line>:1: delete_meeting_participant: HTTP 404: ") and outcomes in error
    assert summary.startswith("cfql: 0 of 1 statements succeeded, 0 failed, 1 with outcome unknown") and summary.endswith(f"line 1: {outcomes}")


def test_the_cli_sends_rows_of_values_concurrently_and_keeps_their_order(
    api: list[str], emulator: Emulator, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    titles = [f"T{n}" for n in range(6)]
    rows = ", ".join(f"('{ids['account_id']}', '{ids['app_id']}', '{title}')" for title in titles)
    sql = f"INSERT INTO {MEETINGS} (account_id, app_id, title) VALUES {rows} RETURNING json_extract(data, '$.title') AS title"
    assert main(["exec", *api, "--concurrency", "4", "-o", "csv", "-H", sql]) == 0
    assert capsys.readouterr().out.split() == titles
    assert sorted(m["title"] for m in emulator.meetings(ids["account_id"], ids["app_id"])) == titles


def test_the_cli_shows_what_the_elements_that_succeeded_returned(
    api: list[str], emulator: Emulator, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    scope, ann = _scope_with_ann(emulator, ids)
    sql = f"DELETE FROM {MEETINGS} WHERE {scope} AND participant_id IN ('{ann}', 'gone', 'later') RETURNING success"
    assert main(["exec", *api, "-o", "json", sql]) == 1
    out = capsys.readouterr().out
    assert json.loads(out) == [{"success": True}, {"success": None}, {"success": None}]  # row i is element i


def test_a_fan_out_of_which_nothing_succeeded_shows_no_rows(
    api: list[str], emulator: Emulator, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    scope, _ = _scope_with_ann(emulator, ids)
    sql = f"DELETE FROM {MEETINGS} WHERE {scope} AND participant_id IN ('gone', 'later') RETURNING success"
    assert main(["exec", *api, "-o", "json", sql]) == 1
    captured = capsys.readouterr()
    assert captured.out == "null\n"  # the statement failed and nothing was applied: no table of NULLs
    assert "1 failed (participant_id = 'gone'), 1 not run (participant_id = 'later')" in captured.err
