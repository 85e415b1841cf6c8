"""Input cfql does not control — files, JSON, YAML, API answers, settings — fails as cfql errors, never as Python's."""

from __future__ import annotations

import io
import json
import math
import typing as t
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfql import DataError, Error, InterfaceError, OperationalError, ProgrammingError, connect
from cfql.connection import Connection
from cfql.errors import TemplateError
from cfql.script.sources import read_text
from cfql.script.variables import load_variables
from cfql.settings import MAX_CONCURRENCY, Settings
from cfql.sql.values import MAX_JSON_DEPTH, check_depth, load_json

from .conftest import MEETINGS, Recorder

WHERE = "WHERE meeting_id = 'm' AND account_id = 'a' AND app_id = 'b'"


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


# -- JSON -----------------------------------------------------------------------------------


def test_json_as_deep_as_the_limit_loads() -> None:
    value = load_json(nested(MAX_JSON_DEPTH))
    for _ in range(MAX_JSON_DEPTH - 1):
        (value,) = value
    assert value == []


@pytest.mark.parametrize("text", [nested(MAX_JSON_DEPTH + 1), nested(100_000), '{"a":' * 600 + "1" + "}" * 600, "[" * 100_000])
def test_json_deeper_than_the_limit_is_a_value_error_naming_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=f"JSON nested deeper than {MAX_JSON_DEPTH} levels") as info:
        load_json(text)
    before = text[: info.value.pos]
    assert before.count("[") + before.count("{") == MAX_JSON_DEPTH  # it points at the level past the limit


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps(["[" * 2000, '\\"[{' * 700, {"k": "]" * 900}])
    assert load_json(text) == json.loads(text)


def test_bytes_load_in_whatever_unicode_encoding_json_allows() -> None:
    for encoding in ("utf-8", "utf-16", "utf-32-le"):
        assert load_json('{"a": "é"}'.encode(encoding)) == {"a": "é"}
    with pytest.raises(ValueError):
        load_json(b'{"a": "\xff"}')


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=f"{constant} is not valid JSON") as info:
        load_json(f'{{"a": {constant}}}')
    assert info.value.pos == 6


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='[]{}"\\:,1a ', max_size=1500))
def test_any_bracket_soup_is_loaded_or_refused_with_a_value_error(text: str) -> None:
    try:
        value = load_json(text)
    except ValueError:
        return
    check_depth(value, "JSON")  # what loads is never deeper than the limit


def test_half_a_surrogate_pair_is_refused_a_whole_pair_kept() -> None:
    assert load_json('["\\ud83d\\ude00", "\\u00e9"]') == ["\U0001f600", "\u00e9"]
    with pytest.raises(json.JSONDecodeError, match=r"\\ud800 is half of a UTF-16 pair") as info:
        load_json('{"title": "x\\ud800"}')
    assert info.value.pos == 12
    with pytest.raises(ValueError):
        load_json(b'["\xed\xa0\x80"]')  # the same, as raw bytes
    with pytest.raises(ValueError, match="half of a UTF-16 pair"):
        check_depth({"a": ["\ud800"]}, "YAML")
    with pytest.raises(ValueError, match="half of a UTF-16 pair"):
        check_depth({"\udfff": 1}, "YAML")


def test_check_depth_stops_at_cycles_and_alias_bombs_without_recursing() -> None:
    cycle: list[t.Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="nested deeper than"):
        check_depth(cycle, "YAML")
    bomb: list[t.Any] = ["x"] * 10
    for _ in range(9):
        bomb = [bomb] * 10
    with pytest.raises(ValueError, match="more than a million values"):
        check_depth(bomb, "YAML")


def test_a_deep_json_literal_is_a_data_error_before_anything_is_sent(conn: Connection, recorder: Recorder) -> None:
    for literal in (nested(100_000, '{"a":', "}"), nested(100_000)):
        with pytest.raises(DataError, match="JSON nested deeper than 512 levels"):
            conn.execute(f"UPDATE {MEETINGS} SET ai_config = '{literal}' {WHERE}")
    assert recorder.requests == []


def test_a_deep_at_at_json_body_is_a_programming_error(conn: Connection, recorder: Recorder) -> None:
    body = '{"title": ' + nested(5_000) + "}"
    with pytest.raises(ProgrammingError, match="JSON nested deeper than 512 levels"):
        conn.execute(f"EXEC {MEETINGS}.create @account_id = 'a', @app_id = 'b' @@json = '{body}'")
    assert recorder.requests == []


@pytest.mark.parametrize("status, error", [(200, OperationalError), (400, DataError), (404, Error)])
def test_an_api_answer_nested_too_deep_is_a_cfql_error(conn: Connection, recorder: Recorder, status: int, error: type[Error]) -> None:
    recorder.responses.append(httpx.Response(status, content=('{"success": true, "data": ' + nested(100_000) + "}").encode()))
    with pytest.raises(error):
        conn.execute("SELECT * FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b'")


def test_deep_sql_is_a_programming_error_not_a_recursion_error(conn: Connection) -> None:
    for sql in ("SELECT " + nested(5_000, "(", ")").replace(")", "1)", 1) + " FROM x.y.z",
                f"UPDATE {MEETINGS} SET title = {'(' * 3000}'t'{')' * 3000} {WHERE}",
                f"SELECT id FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b' AND {'NOT ' * 3000} title = 'x'"):
        with pytest.raises(ProgrammingError, match="nested too deeply"):
            conn.execute(sql)


# -- files ----------------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_named_with_its_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "bad.iql"
    path.write_bytes(b"SELECT 1;\nSELECT \xff;")
    with pytest.raises(ProgrammingError, match=r"^x/bad\.iql: not valid UTF-8 at byte 17 \(line 2\)$"):
        read_text(str(path), "x/bad.iql")


def test_a_bom_is_dropped_silently_and_offsets_count_it(tmp_path: Path) -> None:
    path = tmp_path / "bom.iql"
    path.write_bytes(b"\xef\xbb\xbfSHOW PROVIDERS;")
    assert read_text(str(path), "bom.iql") == "SHOW PROVIDERS;"
    path.write_bytes(b"\xef\xbb\xbfSELECT \xc3;")
    with pytest.raises(ProgrammingError, match="at byte 10"):
        read_text(str(path), "bom.iql")


def test_streams_are_read_as_bytes_when_they_have_them() -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"SELECT \xff;"), encoding="utf-8")
    with pytest.raises(ProgrammingError, match="<stdin>: not valid UTF-8 at byte 7"):
        read_text(stdin, "<stdin>")
    assert read_text(io.StringIO("\ufeffSHOW PROVIDERS;"), "<stdin>") == "SHOW PROVIDERS;"


def test_unreadable_files_are_one_cfql_error(tmp_path: Path) -> None:
    with pytest.raises(ProgrammingError, match="cannot read nope.iql: No such file"):
        read_text(str(tmp_path / "nope.iql"), "nope.iql")
    with pytest.raises(TemplateError, match="cannot read"):
        read_text(str(tmp_path), "dir", TemplateError)


# -- --iqldata ------------------------------------------------------------------------------


def test_data_files_merge_in_order_and_var_wins_over_all(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"x": "from a", "y": "from a", "z": "from a"}))
    second = tmp_path / "b.yaml"
    second.write_text("y: from b\nz: from b\n")
    assert load_variables(["z=from var"], [str(first), str(second)]) == {"x": "from a", "y": "from b", "z": "from var"}
    assert load_variables([], [str(second), str(first)])["y"] == "from a"
    assert load_variables([], str(first))["x"] == "from a"  # one file, as before


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("bad.json", b'{"a": "\xff"}', "bad.json: not valid UTF-8 at byte 7"),
        ("bad.yaml", b"a: \xfe\n", "bad.yaml: not valid UTF-8 at byte 3"),
        ("deep.json", ('{"a": ' + nested(100_000) + "}").encode(), "JSON nested deeper than 512 levels"),
        ("deep.yaml", ("a: " + nested(100_000) + "\n").encode(), "YAML nested deeper than 512 levels"),
        ("deep-flow.yaml", ("a: " + nested(1_000, "{b: ", "}") + "\n").encode(), "nested deeper than 512 levels"),
        ("deep-block.yaml", "".join(f"{' ' * i}k{i}:\n" for i in range(1_000)).encode(), "nested deeper than 512 levels"),
        ("cycle.yaml", b"a: &x [*x]\n", "nested deeper than 512 levels"),
        ("bomb.yaml", ("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))).encode(), "more than a million values"),
        ("nan.json", b'{"a": NaN}', "NaN is not valid JSON"),
        ("list.json", b"[1, 2]", "must hold a mapping"),
        ("tab.yaml", b"a:\n\t- 1\n", "not valid YAML"),
    ],
)
def test_bad_data_files_are_template_errors(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(TemplateError, match=message):
        load_variables([], [str(path)])


def test_a_data_file_with_a_bom_loads(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert load_variables([], [str(path)]) == {"a": 1}


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("timeout", 0), ("timeout", -1), ("timeout", math.nan), ("timeout", math.inf), ("timeout", 1e300),
        ("timeout", "60"), ("timeout", True), ("retries", -1), ("retries", 1.5), ("retries", 10**6),
        ("concurrency", 0), ("concurrency", -3), ("concurrency", MAX_CONCURRENCY + 1), ("concurrency", None),
        ("rate_limit", "fast"), ("rate_limit", "-1/5"), ("rate_limit", 5),
    ],
)
def test_impossible_settings_are_refused_when_made(field: str, value: t.Any) -> None:
    with pytest.raises(InterfaceError, match=field.replace("_", " ")):
        Settings(**{field: value})
    with pytest.raises(InterfaceError):
        connect(**{field: value})


def test_possible_settings_are_kept() -> None:
    made = Settings(timeout=0.5, retries=0, concurrency=MAX_CONCURRENCY, rate_limit="0")
    assert (made.timeout, made.retries, made.concurrency, made.rate_limit) == (0.5, 0, MAX_CONCURRENCY, "0")
    assert isinstance(Settings(timeout=5).timeout, float)


def test_a_parameter_utf8_cannot_carry_is_refused_before_sending(conn: Connection, recorder: Recorder) -> None:
    insert = f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', :title"
    with pytest.raises(DataError, match="UTF-8 cannot carry"):
        conn.execute(insert, {"title": "half \ud800 a pair"})
    assert recorder.requests == []


@pytest.mark.parametrize("concurrency", [0, -3, 1.5, True])
def test_executescript_refuses_an_impossible_concurrency(conn: Connection, recorder: Recorder, concurrency: t.Any) -> None:
    with pytest.raises(InterfaceError, match="concurrency"):
        conn.executescript(f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b'", concurrency=concurrency)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT LENGTH('hunter2') FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b'",
        "SELECT json_extract('hunter2', '$.a') FROM cloudflare.realtime_kit.kit_meetings WHERE account_id = 'a' AND app_id = 'b'",
        f"INSERT INTO {MEETINGS} (account_id, app_id, title) SELECT 'a', 'b', UPPER('hunter2')",
    ],
)
def test_errors_about_a_statements_shape_never_quote_its_strings(conn: Connection, recorder: Recorder, sql: str) -> None:
    with pytest.raises(ProgrammingError) as info:
        conn.execute(sql)
    assert "hunter2" not in str(info.value) and "'…'" in str(info.value)
    assert recorder.requests == []


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet='[]{}"\\a1, ', max_size=40))
def test_the_fast_depth_filter_changes_no_answer(text: str) -> None:
    """load_json answers as the exact depth check followed by the parser would, whatever the text."""
    from cfql.sql import values

    def exact(text: str) -> str:
        try:
            values._check_depth(text)
            return repr(json.loads(text))
        except ValueError as error:
            return str(error)

    def fast(text: str) -> str:
        try:
            return repr(values.load_json(text))
        except ValueError as error:
            return str(error)

    original = values.MAX_JSON_DEPTH
    values.MAX_JSON_DEPTH = 3  # small, so that random text reaches it
    try:
        assert fast(text) == exact(text)
    finally:
        values.MAX_JSON_DEPTH = original
