"""``cfql exec`` given what a user can throw at it: bad bytes, deep JSON, closed pipes, impossible flags.

Every case ends in one of cfql's own lines and exit statuses, never
``internal error`` or a traceback; ``-o json`` output stays one document.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from cfql.cli.main import EXIT_OUTPUT_CLOSED, main
from cfql.provider.cloudflare.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]
MEETINGS = "cloudflare.realtime_kit.meetings"
WHERE = "WHERE meeting_id = 'm' AND account_id = 'a' AND app_id = 'b'"


def cfql(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cfql", *args], input=stdin, capture_output=True, cwd=REPO, timeout=120,
        env={**os.environ, **(env or {})},
    )


def one_error_line(stderr: str) -> str:
    assert "internal error" not in stderr and "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def create(ids: dict[str, str], title: str = "x") -> str:
    return f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT '{ids['account_id']}', '{ids['app_id']}', '{title}';\n"


# -- bytes that are not UTF-8 -----------------------------------------------------------------


def test_a_script_that_is_not_utf8_names_the_file_and_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.iql"
    path.write_bytes(b"SELECT \xff;")
    assert main(["exec", "--sandbox", "-i", str(path)]) == 1
    assert one_error_line(capsys.readouterr().err) == f"cfql: error: {path}: not valid UTF-8 at byte 7 (line 1)"


def test_stdin_that_is_not_utf8_is_named_stdin() -> None:
    done = cfql("exec", "--sandbox", "-i", "-", stdin=b"SHOW PROVIDERS;\nSELECT \xc3\x28;")
    assert done.returncode == 1
    assert one_error_line(done.stderr.decode()) == "cfql: error: <stdin>: not valid UTF-8 at byte 23 (line 2)"


def test_a_command_line_that_is_not_utf8_is_refused() -> None:
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"cfql", b"exec", b"--sandbox", b"SELECT '\xff'"],
        capture_output=True, cwd=REPO, timeout=120,
    )
    assert done.returncode == 1
    assert one_error_line(done.stderr.decode()) == "cfql: error: <command line>: not valid UTF-8 at byte 8 (line 1)"


def test_a_bom_is_accepted_in_files_and_on_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.iql"
    path.write_bytes(b"\xef\xbb\xbfSHOW PROVIDERS;")
    assert main(["exec", "--sandbox", "-o", "csv", "-i", str(path)]) == 0
    assert capsys.readouterr().out == "name,version,title\ncloudflare,v00.00.00000,Cloudflare\n"
    done = cfql("exec", "--sandbox", "-o", "csv", "-i", "-", stdin=b"\xef\xbb\xbfSHOW PROVIDERS;")
    assert (done.returncode, done.stdout) == (0, b"name,version,title\ncloudflare,v00.00.00000,Cloudflare\n")


def test_a_data_file_that_is_not_utf8_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "vars.yaml"
    data.write_bytes(b"title: caf\xe9\n")
    assert main(["exec", "--sandbox", "--dry-run", "--iqldata", str(data), "SELECT '{{ title }}'"]) == 1
    assert one_error_line(capsys.readouterr().err) == f"cfql: error: {data}: not valid UTF-8 at byte 10 (line 1)"


# -- JSON nested too deep ---------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000, "[" * 100_000])
def test_a_deep_json_literal_is_one_error_line(literal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.iql"
    path.write_text(f"UPDATE {MEETINGS} SET ai_config = '{literal}' {WHERE};")
    assert main(["exec", "--sandbox", "-i", str(path)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"cfql: error: {path}:1: column ai_config: ") and "JSON nested deeper than 512 levels" in line


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_a_deep_data_file_is_one_error_line(suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / f"vars{suffix}"
    data.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["exec", "--sandbox", "--dry-run", "--iqldata", str(data), "SHOW PROVIDERS"]) == 1
    assert "nested deeper than 512 levels" in one_error_line(capsys.readouterr().err)


def test_a_deep_var_reaches_the_same_limit(capsys: pytest.CaptureFixture[str]) -> None:
    sql = f"UPDATE {MEETINGS} SET ai_config = '{{{{ cfg }}}}' {WHERE}"
    assert main(["exec", "--sandbox", "--dry-run", "--var", "cfg=" + "[" * 100_000 + "]" * 100_000, sql]) == 1
    assert "JSON nested deeper than 512 levels" in one_error_line(capsys.readouterr().err)


def test_deep_sql_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "--sandbox", "--dry-run", "SELECT " + "(" * 5000 + "1" + ")" * 5000]) == 1
    assert "nested too deeply" in one_error_line(capsys.readouterr().err)


# -- a closed pipe ----------------------------------------------------------------------------


def test_output_into_a_closed_pipe_exits_quietly_saying_how_far_it_got(tmp_path: Path) -> None:
    """2,000 results are far more than a pipe holds, so the reader going away is always noticed."""
    path = tmp_path / "big.iql"
    path.write_text("SHOW PROVIDERS;\n" * 2000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfql", "exec", "--sandbox", "-i", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"+--")
    proc.stdout.close()  # as `| head -1` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_OUTPUT_CLOSED == 141
    line = one_error_line(stderr)
    assert line.startswith("cfql: output closed; ") and line.endswith(" of 2000 statements ran")
    assert int(line.split("; ")[1].split()[0]) < 2000


class ClosingPipe(io.StringIO):
    """A stdout whose reader goes away after ``lines`` lines, as ``| head -N`` does."""

    def __init__(self, lines: int):
        super().__init__()
        self.lines = lines

    def write(self, text: str) -> int:
        if self.getvalue().count("\n") >= self.lines:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_a_closed_pipe_stops_the_run_before_the_next_statement(
    fmt: str, api: list[str], ids: dict[str, str], tmp_path: Path, emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "many.iql"
    path.write_text("".join(create(ids, f"m{n}").replace(";", " RETURNING success;") for n in range(10)))
    monkeypatch.setattr(sys, "stdout", ClosingPipe(1))
    assert main(["exec", *api, "-o", fmt, "-H", "-i", str(path)]) == EXIT_OUTPUT_CLOSED
    line = one_error_line(capsys.readouterr().err)
    ran = int(line.removeprefix("cfql: output closed; ").split()[0])
    assert line == f"cfql: output closed; {ran} of 10 statements ran" and ran < 10
    assert len(emulator.meetings(ids["account_id"], ids["app_id"])) == ran  # nothing started after the pipe closed


def test_help_into_a_closed_pipe_is_quiet() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfql", "exec", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    assert proc.stderr.read() == b""
    assert proc.wait(timeout=120) in (0, EXIT_OUTPUT_CLOSED)  # 0 when the text fitted in the pipe first


# -- -o json is one document ------------------------------------------------------------------


def test_several_statements_print_one_array_per_statement(api: list[str], ids: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    script = create(ids) + "SHOW PROVIDERS;\n" + "SHOW PROVIDERS LIKE 'nothing%';\n"
    assert main(["exec", *api, "-o", "json", script]) == 0
    assert json.loads(capsys.readouterr().out) == [[], [{"name": "cloudflare", "version": "v00.00.00000", "title": "Cloudflare"}], []]


def test_one_statement_prints_its_rows_as_before(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", *api, "-o", "json", "SHOW PROVIDERS"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "cloudflare", "version": "v00.00.00000", "title": "Cloudflare"}]
    assert main(["exec", *api, "-o", "json", "SHOW PROVIDERS LIKE 'nothing%'"]) == 0
    assert json.loads(capsys.readouterr().out) == []


MISSING = f"UPDATE {MEETINGS} SET title = 'y' WHERE meeting_id = 'nope' AND account_id = 'a' AND app_id = 'b';\n"


@pytest.mark.parametrize("continuing, expected", [(False, [[{"name": "cloudflare"}], None]), (True, [[{"name": "cloudflare"}], None, [{"name": "cloudflare"}]])])
def test_a_failed_statement_leaves_stdout_one_document(
    continuing: bool, expected: list[t.Any], api: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    providers = "SHOW PROVIDERS LIKE 'cloud%';\n"
    flags = ["--continue-on-error"] if continuing else []
    assert main(["exec", *api, "-o", "json", *flags, providers + MISSING + providers]) == 1
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert [[{"name": row["name"]} for row in entry] if entry is not None else None for entry in document] == expected
    assert "nope" in err and out.count("nope") == 0


def test_a_single_failed_statement_prints_null(api: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", *api, "-o", "json", MISSING]) == 1
    assert json.loads(capsys.readouterr().out) is None


def test_a_dry_run_in_json_is_one_document(ids: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "--sandbox", "--dry-run", "-o", "json", create(ids) + create(ids) + "SHOW PROVIDERS;"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [len(entry) for entry in document] == [1, 1, 1]
    assert document[0][0]["method"] == "POST" and document[2] == [{"name": "cloudflare", "version": "v00.00.00000", "title": "Cloudflare"}]


def test_a_select_without_rows_still_prints_its_csv_header(api: list[str], ids: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    select = f"SELECT id, title FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = '{ids['account_id']}' AND app_id = '{ids['app_id']}'"
    assert main(["exec", *api, "-o", "csv", select]) == 0
    assert capsys.readouterr().out == "id,title\n"
    assert main(["exec", *api, "-o", "csv", "-H", select]) == 0
    assert capsys.readouterr().out == ""
    assert main(["exec", *api, "-o", "json", select]) == 0
    assert json.loads(capsys.readouterr().out) == []


# -- impossible settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--timeout", "0"), ("--timeout", "-1"), ("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "1e300"),
        ("--timeout", "soon"), ("--concurrency", "0"), ("--concurrency", "-2"), ("--concurrency", "101"),
        ("--concurrency", "1.5"), ("--retries", "-1"), ("--retries", "1000"), ("--rate-limit", "fast"),
    ],
)
def test_impossible_flags_are_usage_errors_on_one_line(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["exec", "--sandbox", f"{flag}={value}", "SHOW PROVIDERS"])
    assert info.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"cfql exec: error: argument {flag}: ") and line.endswith("(see cfql exec --help)")


def test_possible_flags_still_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exec", "--sandbox", "--timeout", "0.5", "--concurrency", "100", "--retries", "0", "-o", "csv", "-H", "SHOW PROVIDERS"]) == 0
    assert capsys.readouterr().out == "cloudflare,v00.00.00000,Cloudflare\n"


def test_iqldata_twice_merges_in_order_and_var_wins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.yaml"
    first.write_text(json.dumps({"a": "1st", "b": "1st", "c": "1st"}))
    second.write_text("b: 2nd\nc: 2nd\n")
    argv = ["exec", "--sandbox", "-o", "csv", "-H", "--iqldata", str(first), "--iqldata", str(second), "--var", "c=var"]
    assert main([*argv, "SHOW PROVIDERS LIKE '{{ a }}{{ b }}{{ c }}'"]) == 0
    assert capsys.readouterr().out == ""
    assert main([*argv, "SHOW PROVIDERS LIKE '{{ a }}-{{ b }}-{{ c }}'", "--dry-run", "-o", "text"]) == 0
    assert "SHOW PROVIDERS LIKE '1st-2nd-var';" in capsys.readouterr().out


# -- half a surrogate pair --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, value",
    [('{"t": "\\ud800"}', "'{{ t }}'"), ('{"t": "ok"}', "'{{ \"\\ud800\" }}'"), ('{"t": "ok"}', "'{{ \"\\udfff\" }}'")],
)
def test_half_a_surrogate_pair_is_one_error_line_and_nothing_is_sent(
    data: str, value: str, api: list[str], ids: dict[str, str], tmp_path: Path, emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "vars.json"
    path.write_text(data)
    script = create(ids, "ok") + create(ids).replace("'x'", value)  # the second has the first's shape
    assert main(["exec", *api, "--iqldata", str(path), "-o", "json", script]) == 1
    assert "half of a UTF-16 pair" in one_error_line(capsys.readouterr().err)
    assert emulator.meetings(ids["account_id"], ids["app_id"]) == []  # refused while preparing, before statement 1
