"""``cfql deploy`` against the emulator over loopback: the example stack's whole lifecycle, and its failures.

The emulator keeps its data in a SQLite file (``state=``), and is restarted
between commands, so that what one command leaves behind is what the next one
finds, as with a real account. Writes are counted from the requests the
emulator received.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

import cfql
import cfql.deploy
from cfql.cli.main import main
from cfql.errors import StackWarning
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.provider.cloudflare.emulator.faults import Faults

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "meetings-stack"
ACCOUNT, APP = "acct-deploy", "app-deploy"
VARIABLES = ["-e", f"account_id={ACCOUNT}", "-e", f"app_id={APP}", "-e", "title=Standup"]
WRITES = ("POST", "PATCH", "PUT", "DELETE")


class Account:
    """An emulator whose data outlives each command: stopped and started again on the same state file."""

    def __init__(self, state: Path):
        self.state = state
        self.emulator = Emulator(state=state).start()
        self.port = self.emulator.port

    def restart(self) -> None:
        self.emulator.stop()
        self.emulator = Emulator(port=self.port, state=self.state).start()

    @property
    def url(self) -> str:
        return self.emulator.url

    def writes(self) -> list[tuple[str, str]]:
        return [request for request in self.emulator.requests if request[0] in WRITES]

    def meetings(self) -> list[t.Any]:
        return self.emulator.meetings(ACCOUNT, APP)

    def active(self) -> list[t.Any]:
        return [meeting for meeting in self.meetings() if meeting.get("status") == "ACTIVE"]

    def participants(self, meeting_id: str) -> list[t.Any]:
        return self.emulator.participants(ACCOUNT, APP, meeting_id)

    def execute(self, sql: str) -> None:
        """A change made out of band, as another user of the account would."""
        with cfql.connect(base_url=self.url, token=SANDBOX_TOKEN) as conn:
            conn.execute(sql)


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[Account]:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", SANDBOX_TOKEN)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    made = Account(tmp_path / "account.db")
    yield made
    made.emulator.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A copy of the example stack, which a test may change."""
    copy = tmp_path / "meetings-stack"
    shutil.copytree(EXAMPLE, copy)
    return copy


def deploy(account: Account, capsys: pytest.CaptureFixture[str], *argv: str, faults: Faults | None = None) -> tuple[int, str, str]:
    """``cfql deploy ...`` in this process, on a freshly restarted emulator (with ``faults``): (exit status, stdout, stderr)."""
    account.restart()
    if faults is not None:
        account.emulator.faults = faults
    capsys.readouterr()
    status = main(["deploy", *argv, "--base-url", account.url])
    out, err = capsys.readouterr()
    return status, out, "\n".join(line for line in err.splitlines() if "warning:" not in line)


def test_build_creates_then_a_second_build_sends_no_write(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)
    assert (status, err) == (0, "")
    assert "meetings: created (1 write)" in out and "meeting_host: created (1 write)" in out
    [meeting] = account.meetings()
    assert meeting["title"] == "Standup"
    assert meeting["ai_config"]["summarization"]["word_limit"] == 500  # a number, from an unquoted placeholder
    assert meeting["session_keep_alive_time_in_secs"] == 60  # the block's default:
    [host] = account.participants(meeting["id"])
    assert (host["custom_participant_id"], host["preset_name"]) == ("host", "group_call_host")

    status, out, err = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)
    assert (status, err) == (0, "")
    assert account.writes() == []
    assert "meetings: unchanged" in out and "meeting_host: unchanged" in out
    assert len(account.meetings()) == 1 and len(account.participants(meeting["id"])) == 1


def test_test_passes_then_fails_after_an_out_of_band_update_which_plan_shows(
    account: Account, stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)[0] == 0
    status, out, _ = deploy(account, capsys, "test", str(stack), "dev", *VARIABLES)
    assert status == 0 and "meetings: passed" in out and "meeting_host: passed" in out
    assert account.writes() == []

    [meeting] = account.meetings()
    account.execute(
        "UPDATE cloudflare.realtime_kit.meetings SET record_on_start = true "
        f"WHERE account_id = '{ACCOUNT}' AND app_id = '{APP}' AND meeting_id = '{meeting['id']}'"
    )
    status, out, err = deploy(account, capsys, "test", str(stack), "dev", *VARIABLES)
    assert status == 1
    assert "meetings: drifted" in out and "meeting_host: passed" in out  # the host is still checked
    assert "test of stack meetings-stack (dev): 1 drifted, 1 passed" in err
    assert account.writes() == []

    status, out, _ = deploy(account, capsys, "plan", str(stack), "dev", *VARIABLES)
    assert status == 2
    assert "meetings: update" in out and "meeting_host: no change" in out
    assert f"PATCH {account.url}/accounts/{ACCOUNT}/realtime/kit/{APP}/meetings/{meeting['id']}" in out
    assert '"record_on_start": false' in out
    assert account.writes() == []

    status, out, _ = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)
    assert status == 0 and "meetings: updated (1 write)" in out
    assert [method for method, _ in account.writes()] == ["PATCH"]
    assert account.meetings()[0]["record_on_start"] is False
    assert deploy(account, capsys, "plan", str(stack), "dev", *VARIABLES)[0] == 0


def test_plan_of_a_new_stack_shows_the_creates_with_what_is_known_only_later(
    account: Account, stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = deploy(account, capsys, "plan", str(stack), "dev", *VARIABLES)
    assert status == 2
    assert "meetings: create" in out and "meeting_host: create" in out
    assert f"POST {account.url}/accounts/{ACCOUNT}/realtime/kit/{APP}/meetings\n" in out
    assert f"POST {account.url}/accounts/{ACCOUNT}/realtime/kit/{APP}/meetings/<meetings.meeting_id>/participants" in out
    assert "plan of stack meetings-stack (dev): 2 create; changes pending" in out
    assert account.writes() == [] and account.meetings() == []


def test_teardown_twice_is_idempotent(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)[0] == 0
    [meeting] = account.meetings()
    status, out, err = deploy(account, capsys, "teardown", str(stack), "dev", *VARIABLES)
    assert (status, err) == (0, "")
    assert out.index("meeting_host: deleted") < out.index("meetings: deleted")  # reverse order
    assert [method for method, _ in account.writes()] == ["DELETE", "PATCH"]
    assert account.participants(meeting["id"]) == []
    assert account.meetings()[0]["status"] == "INACTIVE"  # a meeting cannot be deleted: it is ended

    status, out, err = deploy(account, capsys, "teardown", str(stack), "dev", *VARIABLES)
    assert (status, err) == (0, "")
    # the host is not even looked for: its exists query needs the meeting, which is gone
    assert "meeting_host: skipped (not looked for: it needs meetings, which does not exist)" in out
    assert "meetings: absent" in out
    assert account.writes() == []


def test_teardown_of_a_half_gone_stack_removes_the_rest(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)[0] == 0
    [meeting] = account.meetings()
    [host] = account.participants(meeting["id"])
    account.execute(
        "DELETE FROM cloudflare.realtime_kit.meetings "
        f"WHERE account_id = '{ACCOUNT}' AND app_id = '{APP}' AND meeting_id = '{meeting['id']}' AND participant_id = '{host['id']}'"
    )
    status, out, _ = deploy(account, capsys, "teardown", str(stack), "dev", *VARIABLES)
    assert status == 0
    assert "meeting_host: absent" in out and "meetings: deleted" in out


def test_a_500_on_exists_stops_the_run_before_any_create(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES, "--retries", "0", faults=Faults(error_rate=1.0))
    assert status == 1
    assert account.emulator.requests and all(method == "GET" for method, _ in account.emulator.requests)
    assert account.meetings() == []
    message = next(line for line in err.splitlines() if line.startswith("cfql: error:"))
    assert "meetings: exists (" in message and "meetings.iql:3): list_by_account: HTTP 500" in message
    assert "meeting_host: not run" in out


def test_rollback_after_a_failing_second_resource_leaves_nothing_it_created(
    account: Account, stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = stack / "stackql_manifest.yml"
    # The host's meeting id is wrong, so reading its participants gets a 404 once the meeting was created.
    manifest.write_text(manifest.read_text().replace('"{{ meetings.meeting_id }}"', '"{{ meetings.meeting_id }}-gone"'))
    status, out, err = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES, "--on-failure", "rollback")
    assert status == 1
    assert "meetings: created" in out and "meeting_host: failed" in out
    assert "rollback: meetings: rolled back" in out
    assert "meeting_host: exists (" in err and "meeting_host.iql:3): list_by_account: HTTP 404" in err
    assert account.active() == []
    assert [meeting["status"] for meeting in account.meetings()] == ["INACTIVE"]


def test_rollback_leaves_what_was_there_before(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)[0] == 0
    [meeting] = account.meetings()
    manifest = stack / "stackql_manifest.yml"
    # The host's exists query now fails (no such meeting): the meeting was found, not created, so it stays.
    manifest.write_text(manifest.read_text().replace('"{{ meetings.meeting_id }}"', '"{{ meetings.meeting_id }}-gone"'))
    status, out, _ = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES, "--on-failure", "rollback")
    assert status == 1
    assert "meetings: unchanged" in out and "meeting_host: failed" in out and "rollback:" not in out
    assert [(m["id"], m["status"]) for m in account.meetings()] == [(meeting["id"], "ACTIVE")]
    assert account.writes() == []


def test_an_undefined_variable_fails_before_any_request(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = deploy(account, capsys, "build", str(stack), "dev", "-e", f"account_id={ACCOUNT}", "-e", f"app_id={APP}")
    assert status == 1 and out == ""
    assert err.startswith("cfql: error: ") and len(err.splitlines()) == 1
    assert "undefined template variable: title" in err
    assert "stackql_manifest.yml:" in err and "meetings.iql:7" in err  # the prop's line, and the query that needs it
    assert account.emulator.requests == []


def test_dry_run_sends_nothing_at_all(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("build", "test", "teardown", "plan"):
        status, out, err = deploy(account, capsys, command, str(stack), "dev", *VARIABLES, "--dry-run")
        assert (status, err) == (0, ""), command
        assert "meetings: dry run" in out and "-- exists (" in out
        assert account.emulator.requests == [], command
    assert "INSERT INTO cloudflare.realtime_kit.meetings" in deploy(account, capsys, "build", str(stack), "dev", *VARIABLES, "--dry-run")[1]


def test_show_queries_prints_each_query_before_it_runs(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES, "--show-queries")
    assert status == 0
    assert out.index("-- meetings: exists (") < out.index("-- meetings: create (") < out.index("meetings: created")
    assert "AND title = 'Standup'" in out


def test_numbers_under_names_that_sound_secret_are_not_masked_everywhere(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``session_keep_alive_time_in_secs`` has the word SESSION in it; its 120 is no credential to scrub from a title."""
    given = ["-e", f"account_id={ACCOUNT}", "-e", f"app_id={APP}", "-e", "title=Room 1201", "-e", "session_keep_alive_time_in_secs=120"]
    status, out, _ = deploy(account, capsys, "build", str(stack), "dev", *given, "--show-queries")
    assert status == 0
    assert "AND title = 'Room 1201'" in out and "AND session_keep_alive_time_in_secs = 120" in out
    assert [meeting["title"] for meeting in account.meetings()] == ["Room 1201"]


def test_output_file_holds_the_stack_exports_with_protected_values_masked(
    account: Account, stack: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    manifest = stack / "stackql_manifest.yml"
    manifest.write_text(manifest.read_text().replace("  exports:\n    - participant_id\n", "  exports:\n    - participant_id\n  protected:\n    - participant_id\n"))
    target = tmp_path / "out" / "exports.json"
    status, out, err = deploy(account, capsys, "build", str(stack), "dev", *VARIABLES, "--output-file", str(target), "--show-queries")
    assert status == 0
    [meeting] = account.meetings()
    [host] = account.participants(meeting["id"])
    written = json.loads(target.read_text())
    assert written == {"stack_name": "meetings-stack", "stack_env": "dev", "meeting_id": meeting["id"], "participant_id": "***"}
    assert host["id"] not in out + err
    status, out, err = deploy(account, capsys, "teardown", str(stack), "dev", *VARIABLES, "--show-queries")
    assert status == 0 and "meeting_host: deleted" in out
    assert host["id"] not in out + err  # the DELETE names it: shown masked


def test_the_python_api_returns_an_outcome_per_resource(account: Account, stack: Path) -> None:
    variables = {"account_id": ACCOUNT, "app_id": APP, "title": "Standup", "word_limit": "800"}
    with cfql.connect(base_url=account.url, token=SANDBOX_TOKEN) as conn, pytest.warns(StackWarning, match="unquoted"):
        built = cfql.deploy.build(stack, "dev", variables=variables, connection=conn)
        again = cfql.deploy.build(stack, "dev", variables=variables, connection=conn)
        planned = cfql.deploy.plan(stack, "dev", variables={**variables, "word_limit": "900"}, connection=conn)
    assert [(o.name, o.action, o.writes) for o in built.resources] == [("meetings", "created", 1), ("meeting_host", "created", 1)]
    assert built.ok and built.exit_code == 0
    assert built.exports["meeting_id"] == account.meetings()[0]["id"]
    assert account.meetings()[0]["ai_config"]["summarization"]["word_limit"] == 800
    assert [o.action for o in again.resources] == ["unchanged", "unchanged"]
    assert [o.action for o in planned.resources] == ["update", "no change"] and planned.exit_code == 2
    [step] = planned.outcome("meetings").steps
    assert step.anchor == "update" and step.requests[0]["method"] == "PATCH"
    assert step.requests[0]["body"]["ai_config"]["summarization"]["word_limit"] == 900


def test_the_command_runs_as_a_program(account: Account, stack: Path) -> None:
    """The whole CLI in its own process: the emulator's state is what the other process left."""
    command = [sys.executable, "-m", "cfql", "deploy", "build", str(stack), "dev", *VARIABLES, "--base-url", account.url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "build of stack meetings-stack (dev): 2 created" in done.stdout
    warned = [line for line in done.stderr.splitlines() if line.startswith("cfql: warning: ")]
    assert len(warned) == 16 and all("stackql_manifest.yml:" in line for line in warned)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "2 unchanged" in done.stdout


def test_a_failed_read_in_teardown_deletes_nothing(account: Account, stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Teardown reads first what exists; if it cannot, it must not start deleting on a guess."""
    assert deploy(account, capsys, "build", str(stack), "dev", *VARIABLES)[0] == 0
    status, out, _ = deploy(account, capsys, "teardown", str(stack), "dev", *VARIABLES, "--retries", "0", faults=Faults(error_rate=1.0))
    assert status == 1
    assert "meetings: failed - exists (" in out and "meeting_host: not run" in out
    assert account.writes() == []
    assert [meeting["status"] for meeting in account.meetings()] == ["ACTIVE"]
