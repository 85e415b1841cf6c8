"""Property-based: whatever arguments or script bytes ``cfql exec`` gets, it answers with its own errors.

Each example runs ``main()`` in-process with ``--dry-run``, so nothing is ever
sent; the only statuses allowed are 0, 1 and 2, and stderr never shows
``internal error`` or a traceback. ``-o json`` output, whenever stdout has
any, is one document.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfql.cli.main import main

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "meetings-reference-examples.sql"
# The page's statements without the file's comment lines (its header names {{ placeholders }}).
EXAMPLES = "\n".join(line for line in REFERENCE.read_text(encoding="utf-8").splitlines() if not line.startswith("--"))
# A value of the right type for every placeholder of the examples, so that unmutated they all plan.
PLACEHOLDERS = {
    "account_id": "a", "app_id": "b", "meeting_id": "m", "participant_id": "p", "custom_participant_id": "c",
    "name": "n", "picture": "https://example.com/p.png", "preset_name": "group_call_host", "title": "t",
    "status": "ACTIVE", "ai_config": {"summarization": {}}, "recording_config": {}, "live_stream_on_start": False,
    "persist_chat": False, "record_on_start": False, "session_keep_alive_time_in_secs": 60, "summarize_on_end": False,
}

OPTIONS = ["--timeout", "--retries", "--rate-limit", "-o", "--output", "--var", "--iqldata", "--concurrency", "-i", "--infile"]
SWITCHES = ["--sandbox", "-H", "--no-headers", "--continue-on-error"]
ODD = ["--version", "-h", "--", "-", "--bogus", "-o", "-i"]  # alone, or out of place
VALUES = [
    "0", "-1", "1", "2.5", "nan", "inf", "-inf", "1e309", "100", "101", "json", "csv", "jsonl", "table", "text",
    "xml", "1200/300", "0/0", "a=b", "=", "a", "", " ", "SHOW PROVIDERS", "SHOW PROVIDERS; SHOW PROVIDERS",
    "SELECT '{{ a }}'", "{{", "'", ";", "\x00", "é", "\ud7ff",
]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def run(argv: list[str], stdin: bytes = b"SHOW PROVIDERS;") -> tuple[int, str, str]:
    """``cfql`` in-process: its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    real_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exit_:  # argparse: usage errors, --help, --version
                status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdin = real_stdin
    return status, out.getvalue(), err.getvalue()


def check(status: int, out: str, err: str, argv: list[str]) -> None:
    assert status in (0, 1, 2), (argv, err)
    assert "internal error" not in err and "Traceback" not in err, (argv, err)
    asked_for_help = any(arg in ("-h", "--help") for arg in argv)  # argparse prints usage, whatever -o says
    if status == 0 and not asked_for_help and re.search(r"(^|\s)(-o|--output)(=|\s)json(\s|$)", " ".join(argv)) and out:
        json.loads(out)


@pytest.fixture
def in_repo_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Files a generated -i or --iqldata may name, good and bad; generated relative paths resolve in the same folder."""
    monkeypatch.chdir(tmp_path)
    files = {
        "good.iql": b"SHOW PROVIDERS;\nSHOW SERVICES IN cloudflare;",
        "bad.iql": b"SELECT \xff;",
        "vars.json": b'{"a": "x"}',
        "deep.json": b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "vars.yaml": b"a: [1, {b: 2}]\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: str(tmp_path / name) for name in files}


@SETTINGS
@given(data=st.data())
def test_any_arguments_end_in_cfqls_own_exit_statuses(data: st.DataObject, in_repo_data: dict[str, str]) -> None:
    value = st.one_of(st.sampled_from(VALUES), st.sampled_from(sorted(in_repo_data.values())), st.text(max_size=12))
    units = st.one_of(
        st.tuples(st.sampled_from(OPTIONS), value).map(list),  # a real option with a value, most often
        st.tuples(st.sampled_from(OPTIONS), value).map(lambda pair: ["=".join(pair)]),
        st.sampled_from(SWITCHES).map(lambda flag: [flag]),
        value.map(lambda text: [text]),  # the SQL, or one argument too many
        st.sampled_from(ODD).map(lambda flag: [flag]),
    )
    extra = [piece for unit in data.draw(st.lists(units, max_size=6)) for piece in unit]
    argv = ["exec", "--dry-run", *extra]  # --dry-run first: nothing after it can undo it, so nothing is sent
    check(*run(argv), argv)


@SETTINGS
@given(st.binary(max_size=200))
def test_any_script_bytes_end_in_cfqls_own_errors(tmp_path: Path, script: bytes) -> None:
    path = tmp_path / "random.iql"
    path.write_bytes(script)
    argv = ["exec", "--dry-run", "--sandbox", "-o", "json", "-i", str(path)]
    check(*run(argv), argv)
    check(*run(["exec", "--dry-run", "--sandbox", "-i", "-"], stdin=script), ["-i", "-"])


def mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for position, length, inserted in edits:
        at = position % (len(text) + 1)
        text = text[:at] + inserted + text[at + length :]
    return text


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(EXAMPLES)),
            st.integers(0, 12),
            st.one_of(st.text(max_size=4), st.sampled_from(["'", "(", ")", ";", "{{", "}}", "--", "/*", "$$", "[[[[", ",", " ", "\n"])),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["table", "json", "csv"]),
)
def test_mutated_reference_examples_end_in_cfqls_own_errors(
    placeholders: str, tmp_path: Path, edits: list[tuple[int, int, str]], fmt: str
) -> None:
    path = tmp_path / "mutated.iql"
    path.write_text(mutate(EXAMPLES, edits), encoding="utf-8")
    argv = ["exec", "--dry-run", "--sandbox", "-o", fmt, "--continue-on-error", "-i", str(path), "--iqldata", placeholders]
    check(*run(argv), argv)


@pytest.fixture
def placeholders(tmp_path: Path) -> str:
    path = tmp_path / "placeholders.json"
    path.write_text(json.dumps(PLACEHOLDERS), encoding="utf-8")
    return str(path)


def test_the_reference_examples_themselves_run_dry(placeholders: str, tmp_path: Path) -> None:
    """The seed of the mutations is itself accepted, so the property above tests the edits."""
    path = tmp_path / "examples.iql"
    path.write_text(EXAMPLES, encoding="utf-8")
    status, out, err = run(["exec", "--dry-run", "--sandbox", "-o", "json", "-i", str(path), "--iqldata", placeholders])
    assert (status, err) == (0, "")
    methods = [line for line in REFERENCE.read_text(encoding="utf-8").splitlines() if line.startswith("-- method:")]
    assert len(json.loads(out)) == len(methods) == 7


def test_the_checks_fail_on_an_internal_error() -> None:
    """The property's checks are not vacuous: they reject what the issue reported."""
    with pytest.raises(AssertionError):
        check(1, "", "cfql: internal error (RecursionError): maximum recursion depth exceeded", [])
    with pytest.raises(AssertionError):
        check(141, "", "", [])
    with pytest.raises(json.JSONDecodeError):
        check(0, "[][]", "", ["-o", "json"])


