"""How the shell shows a table: NULL as <null>, control characters escaped, line breaks as a cell's next lines,
and psql's expanded display (\\x)."""

from __future__ import annotations

import uuid

from cfql.result import Result
from cfql.shell.config import ShellConfig
from cfql.shell.display import format_result
from tests.shell.conftest import CTRL_D, Runner

MEETINGS = "cloudflare.realtime_kit.meetings"
TRICKY = (
    f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', '{{app}}', E'tab\\there\\nnext line' "
    "RETURNING json_extract(data, '$.title') AS title, json_extract(data, '$.no_such_key') AS missing, success;\r"
)


def tricky(app: str | None = None) -> str:
    return TRICKY.replace("{app}", app or uuid.uuid4().hex)


def test_null_empty_tab_and_newline_in_the_table(run_shell: Runner) -> None:
    app = uuid.uuid4().hex
    empty = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'acct', '{app}', '' RETURNING json_extract(data, '$.title') AS title, success;\r"
    session = run_shell(tricky(app) + empty + CTRL_D)
    assert session.err == ""
    assert "| tab\\there | <null>  | true    |\n| next line |         |         |" in session.out  # a line break: a cell's next line
    assert "|       | true    |" in session.out  # an empty string stays empty: not <null>
    assert "\t" not in session.out


def test_the_null_string_comes_from_the_config(run_shell: Runner) -> None:
    session = run_shell(tricky() + CTRL_D, config=ShellConfig(null_string="∅"))
    assert "| ∅       |" in session.out and "<null>" not in session.out


def test_machine_formats_keep_values_as_they_are(run_shell: Runner) -> None:
    session = run_shell("\\o jsonl\r" + tricky() + CTRL_D)
    assert '{"title": "tab\\there\\nnext line", "missing": null, "success": true}' in session.out


def test_expanded_display_toggles(run_shell: Runner) -> None:
    session = run_shell("\\x\r" + tricky() + "\\x off\rSHOW PROVIDERS;\r\\x auto\r\\x sideways\r" + CTRL_D)
    assert "Expanded display is on.\n-[ RECORD 1 ]------\n" in session.out
    assert "title   | tab\\there\n        | next line\nmissing | <null>\nsuccess | true\n" in session.out
    assert "Expanded display is off.\n+------------+" in session.out  # back to the grid
    assert "Expanded display is used when a result is wider than the terminal." in session.out
    assert session.err == "error: usage: \\x [on|off|auto]\n"
    assert session.shell.expanded == "auto"


def test_expanded_from_the_config_and_in_the_bottom_bar(run_shell: Runner) -> None:
    session = run_shell("SHOW PROVIDERS;\r" + CTRL_D, config=ShellConfig(expanded="on"))
    assert "-[ RECORD 1 ]---------\nname    | cloudflare\nversion | v00.00.00000\ntitle   | Cloudflare\n" in session.out
    assert session.shell.flags() == "table · \\x on · emacs · timing off"


def test_format_result_rules() -> None:
    rows = Result(["a", "b"], [{"a": None, "b": "\x1b[31mred"}, {"a": "", "b": {"k": "v\n"}}, {"b": 1}])
    assert format_result(rows, "table") == (
        "+--------+-------------+\n"
        "| a      | b           |\n"
        "|--------+-------------|\n"
        "| <null> | \\x1b[31mred |\n"
        "|        | {\"k\":\"v\\n\"} |\n"
        "| <null> | 1           |\n"
        "+--------+-------------+\n"
    )
    wide = Result(["a"], [{"a": "x" * 30}])
    assert format_result(wide, "table", expanded="auto", width=80).startswith("+---")
    assert format_result(wide, "table", expanded="auto", width=20) == "-[ RECORD 1 ]---------------------\na | " + "x" * 30 + "\n"
    assert format_result(wide, "table", expanded="auto", width=None).startswith("+---")  # not a terminal
    assert format_result(Result(["a"], []), "table", expanded="on") == "(0 rows)\n"
    assert format_result(Result([], [], message="done"), "table", expanded="on") == "done\n"
    assert format_result(rows, "csv").splitlines()[1] == ",\x1b[31mred"
